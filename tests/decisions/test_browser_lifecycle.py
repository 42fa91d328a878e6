"""A decision's whole life as people live it in a browser, on the served sample network (oblast, raion, Ovruch
and Olevsk hromadas, each a real ``geoportal serve`` with its own users and web login), in headless Chromium
at a phone's width:

an Ovruch official logs in, drafts a decision on a polygon and opens the consultation; the page shows the
justification the node computed (checked against the source files read independently); a citizen logs in,
comments and sees the comment, and a moderator hides a spam comment; after the consultation the official
sends it for agreement to the raion and the oblast; the oblast's node is restarted meanwhile — the raion's
official agrees in the raion's inbox while the oblast is down, the request reaches the oblast when it is
back, and the oblast's official agrees there; the head adopts with the adopted text uploaded from a file;
a milestone with a past due day is added and the oblast's overdue page shows it.

Before that, the forms are checked for what people get wrong and what an attacker tries, with a real
login through HTTP: anonymous callers are sent to the login, a form without the session's CSRF token is a
403, bad input a 4xx naming the field, an illegal move the lifecycle's own 409 — never a 500.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser import axe_violations, chromium, colours_in, needs_chromium
from tests.conftest import ROOT
from tests.decisions.network import PASSWORD, Net, configure, start_all

pytestmark = [pytest.mark.slow]

HROMADA, RAION_NODE, OBLAST_NODE = "ovrutska-hromada", "korostenskyi-raion", "zhytomyr-oblast"
OVRUCH, RAION, OBLAST = "UA18060170000069581", "UA18060000000021754", "UA18000000000041385"
# inside the Ovruch hromada, around the protected sites Юлино and Овруцький
AREA = ("POLYGON ((28.79 51.26, 28.81 51.26, 28.837 51.318, 28.835 51.323, 28.83 51.323, 28.79 51.275, "
        "28.79 51.26))")
USERS = {HROMADA: [("koval", "official", OVRUCH), ("holova", "official", OVRUCH), ("maria", "citizen", None),
                   ("spammer", "citizen", None), ("moderator", "citizen", None)],
         RAION_NODE: [("sydorenko", "official", RAION)],
         OBLAST_NODE: [("oleh", "official", OBLAST)]}
PHONE = (390, 844)


@pytest.fixture(scope="module")
def web_net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    root = tmp_path_factory.mktemp("decweb")
    net = Net(root, configure(root, {"heads": ["holova"], "moderators": ["moderator"]}), front="login")
    for nid, users in USERS.items():
        for name, role, org in users:
            net.add_user(nid, name, role, org)
    start_all(net)
    try:
        yield net
    finally:
        net.stop_all()


# -- HTTP: what the forms refuse -------------------------------------------------------------------------
def logged_in(base: str, name: str) -> requests.Session:
    s = requests.Session()
    token = csrf_of(s.get(f"{base}/login", timeout=60).text)
    r = s.post(f"{base}/login", data={"name": name, "password": PASSWORD, "csrf_token": token, "next": "/whoami"},
               timeout=60)
    assert r.ok and name in r.text, r.text[:500]
    return s


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html[:2000]
    return m.group(1)


def message_of(r: requests.Response) -> str:
    import html

    m = re.search(r'id="message">([^<]*)<', r.text)
    assert m, r.text[:1000]
    return html.unescape(m.group(1))


def test_the_forms_refuse_with_a_clear_4xx(web_net: Net) -> None:
    base = web_net.url(HROMADA)
    anon = requests.Session()
    r = anon.get(f"{base}/decisions/new", allow_redirects=False, timeout=60)
    assert r.status_code == 303 and r.headers["Location"] == "/login?next=/decisions/new"
    r = anon.get(f"{base}/decisions/inbox", allow_redirects=False, timeout=60)
    assert r.status_code == 303 and r.headers["Location"] == "/login?next=/decisions/inbox"
    assert anon.get(f"{base}/decisions/inbox", params={"f": "json"}, timeout=60).status_code == 401

    official = logged_in(base, "koval")
    form = {"title_uk": "Перевірка форм", "kind": "land-use-change", "geometry": AREA, "parties": RAION}
    token = csrf_of(official.get(f"{base}/decisions/new", timeout=60).text)
    r = official.post(f"{base}/decisions/new", data=form, allow_redirects=False, timeout=60)
    assert r.status_code == 403 and "CSRF" in message_of(r)
    r = official.post(f"{base}/decisions/new", data={**form, "csrf_token": "0" * 64}, allow_redirects=False,
                      timeout=60)
    assert r.status_code == 403 and "CSRF" in message_of(r)
    # a token of another session is refused too: it is bound to the session that was given it
    other = csrf_of(logged_in(base, "holova").get(f"{base}/decisions/new", timeout=60).text)
    r = official.post(f"{base}/decisions/new", data={**form, "csrf_token": other}, allow_redirects=False, timeout=60)
    assert r.status_code == 403
    r = official.post(f"{base}/decisions/new", data={**form, "csrf_token": token, "geometry": "POLYGON ((28.7"},
                      allow_redirects=False, timeout=60)
    assert r.status_code == 422 and "geometry" in message_of(r)
    r = official.post(f"{base}/decisions/new", data={**form, "csrf_token": token, "features": "3, x",
                                                      "layer": "hromada-boundary", "geometry": ""},
                      allow_redirects=False, timeout=60)
    assert r.status_code == 400 and "features" in message_of(r)
    r = official.post(f"{base}/decisions/new", data={**form, "csrf_token": token}, allow_redirects=False, timeout=60)
    assert r.status_code == 303, r.text[:500]
    did = r.headers["Location"].removesuffix(".html")
    act = f"{base}/decisions/{did}/actions"

    def post(who: requests.Session, action: str, fields: dict[str, str], **kw: Any) -> requests.Response:
        return who.post(f"{act}/{action}", data=fields, allow_redirects=False, timeout=60, **kw)

    r = post(official, "adopted", {"csrf_token": token, "reason": "сесія"}, files={"text": ("r.pdf", b"%PDF-1.4")})
    assert r.status_code == 409 and "is in 'draft'" in message_of(r) and "consultation" in message_of(r)
    r = post(official, "consultation", {"csrf_token": token, "reason": "x", "until": "2026-13-01"})
    assert r.status_code == 400 and "'until'" in message_of(r)
    r = post(official, "consultation", {"csrf_token": token, "until": "2099-01-01"})
    assert r.status_code == 400 and "'reason'" in message_of(r)
    r = post(official, "consultation", {"reason": "x", "until": "2099-01-01"})
    assert r.status_code == 403 and "CSRF" in message_of(r)
    r = post(official, "milestone", {"csrf_token": token, "title": "Етап", "due": "15.01.2026",
                                     "responsible": OVRUCH})
    assert r.status_code == 400 and "'due'" in message_of(r)
    r = post(official, "report", {"csrf_token": token, "milestone": "один", "progress": "5", "text": "x"})
    assert r.status_code == 400 and "'milestone'" in message_of(r)
    r = post(official, "teleport", {"csrf_token": token})
    assert r.status_code == 404
    assert official.get(f"{act}/consultation", allow_redirects=False, timeout=60).status_code == 405
    r = official.post(f"{base}/decisions/D-1999-999/actions/consultation", allow_redirects=False, timeout=60,
                      data={"csrf_token": token, "reason": "x", "until": "2099-01-01"})
    assert r.status_code == 404 and "D-1999-999" in message_of(r)
    r = anon.post(f"{act}/consultation", data={"reason": "x", "until": "2099-01-01"}, allow_redirects=False,
                  timeout=60)
    assert r.status_code == 303 and r.headers["Location"] == f"/login?next=/decisions/{did}.html"

    citizen = logged_in(base, "maria")
    mine = csrf_of(citizen.get(f"{base}/logout", timeout=60).text)
    page = citizen.get(f"{base}/decisions/{did}.html", timeout=60).text
    assert 'id="actions"' not in page  # a citizen has no actions on a draft
    r = post(citizen, "consultation", {"csrf_token": mine, "reason": "x", "until": "2099-01-01"})
    assert r.status_code == 403 and "roles allowed: head, official" in message_of(r)
    assert citizen.get(f"{base}/decisions/new", timeout=60).status_code == 403

    page = official.get(f"{base}/decisions/{did}.html", timeout=60).text
    assert re.findall(r'data-action="([a-z-]+)"', page) == ["consultation", "milestone"]  # no cancel: heads do
    head = logged_in(base, "holova")
    page = head.get(f"{base}/decisions/{did}.html", timeout=60).text
    assert re.findall(r'data-action="([a-z-]+)"', page) == ["consultation", "cancelled", "milestone"]
    r = post(official, "consultation", {"csrf_token": token, "reason": "оприлюднено", "until": "2099-01-01"})
    assert r.status_code == 303 and r.headers["Location"] == f"../../{did}.html#status"
    r = post(official, "agreement", {"csrf_token": token, "reason": "x", "deadline": "2099-02-01"})
    assert r.status_code == 409 and "open until 2099-01-01" in message_of(r)
    # the inbox's answer form is a form like any other
    raion = web_net.url(RAION_NODE)
    r = logged_in(raion, "sydorenko").post(f"{raion}/decisions/inbox/urn:uuid:00000000-0000-4000-8000-0000000000aa",
                                           data={"answer": "agree"}, allow_redirects=False, timeout=60)
    assert r.status_code == 403 and "CSRF" in message_of(r)
    # nothing above was a 500, and the register holds the one draft made through the refusals, in consultation
    shown = json.loads(web_net.cli(HROMADA, "show", did, "--json"))
    assert shown["status"] == "consultation" and not shown["comments"]


# -- the browser ---------------------------------------------------------------------------------------------
def keep(driver: Any, folder: Path, name: str) -> Path:
    """A screenshot kept in the test's folder (and in ``$GEOPORTAL_SCREENSHOTS`` when set) to look at."""
    path = folder / name
    driver.save_screenshot(str(path))
    if os.environ.get("GEOPORTAL_SCREENSHOTS"):
        out = Path(os.environ["GEOPORTAL_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / name)
    return path


class Person:
    """One person at one browser (a phone), on the network's nodes."""

    def __init__(self, driver: Any, shots: Path):
        self.d, self.shots = driver, shots

    def find(self, css: str, within: Any = None) -> Any:
        from selenium.webdriver.common.by import By

        return (within or self.d).find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.d.find_elements(By.CSS_SELECTOR, css)

    def submit(self, button: Any) -> None:
        """Press a form's button and wait for the page it leads to."""
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        from selenium.common.exceptions import WebDriverException

        old = self.find("html")
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()

        def left(driver: Any) -> bool:
            try:
                return ec.staleness_of(old)(driver)
            except WebDriverException as e:  # asked in the middle of the navigation, chromedriver says so thus
                if "does not belong to the document" in str(e):
                    return True
                raise

        WebDriverWait(self.d, 120).until(left)

    def log_in(self, name: str) -> None:
        """On the login form (where the node sent the browser): name, password, the button."""
        assert "/login" in self.d.current_url, self.d.current_url
        self.find("input[name=name]").send_keys(name)
        password = self.find("input[name=password]")
        password.send_keys(PASSWORD)
        self.submit(self.find("button[type=submit]", password.find_element("xpath", "./ancestor::form")))
        assert "/login" not in self.d.current_url, self.find("main").text

    def log_in_to(self, node: str, path: str, name: str) -> None:
        """Open the node's login with ``path`` to come back to, as a bookmarked link does, and log in."""
        self.d.get(f"{node}/login?next={path}")
        self.log_in(name)

    def type_date(self, field: Any, day: date) -> None:
        """Type a day as a person does: the digits in the order the browser's locale shows the field."""
        order = self.d.execute_script(
            "return new Intl.DateTimeFormat(navigator.language).formatToParts(new Date(2026, 11, 31))"
            ".filter(function (p) { return p.type !== 'literal'; }).map(function (p) { return p.type; });")
        digits = {"year": f"{day.year:04d}", "month": f"{day.month:02d}", "day": f"{day.day:02d}"}
        field.send_keys("".join(digits[p] for p in order))
        assert field.get_attribute("value") == day.isoformat(), (order, field.get_attribute("value"))

    def type_time(self, field: Any, t: datetime) -> None:
        """Type a time of day as the locale shows the field (with AM/PM where it has them)."""
        twelve = self.d.execute_script(
            "return new Intl.DateTimeFormat(navigator.language, {hour: 'numeric'}).resolvedOptions().hour12;")
        keys = t.strftime("%I%M%S%p") if twelve else t.strftime("%H%M%S")
        field.send_keys(keys)
        assert field.get_attribute("value") == t.strftime("%H:%M:%S"), field.get_attribute("value")

    def action(self, name: str) -> Any:
        """The form of an action in the page's actions panel, its <details> opened."""
        form = self.find(f"#actions form[data-action='{name}']")
        details = form.find_element("xpath", "./ancestor::details")
        if not details.get_attribute("open"):
            self.find("summary", details).click()
        return form

    def fits_the_phone(self) -> None:
        wide = self.d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth];")
        assert wide[0] <= wide[1], f"{self.d.current_url} is wider than the phone: {wide}"

    def status(self) -> str:
        return self.find("ol.steps li.now").text


@contextmanager
def person(shots: Path) -> Iterator[Person]:
    with chromium(*PHONE) as d:
        yield Person(d, shots)


def justification_of(p: Person) -> set[tuple[str, str]]:
    """(dataset, feature label) of each row of the page's justification table."""
    rows = p.all("#justification tr")
    out = set()
    for r in rows[1:]:
        cells = [c.text for c in r.find_elements("css selector", "td")]
        out.add((cells[0].split(" v")[0], cells[1]))
    return out


def independent_justification() -> set[tuple[str, str]]:
    """What the polygon touches, read straight from the source files the Ovruch node ingests (not from the
    node): its hromada boundary, and the protected sites of the former Ovruch raion (the node's ``where``)."""
    import pyogrio.raw
    import shapely

    area = shapely.from_wkt(AREA)
    _, _, wkb, fields = pyogrio.raw.read(ROOT / "data/boundaries/hromadas_30km_russia_belarus.shp",
                                         columns=["ADMIN_3", "COD_3"])
    hit = shapely.intersects(shapely.from_wkb(wkb), area)
    assert list(fields[1][hit]) == [OVRUCH]
    # the source mixes Latin look-alikes into Cyrillic names (Овpуцькa); the node's ingest repairs them
    hromada = str(fields[0][hit][0]).translate(str.maketrans("paoceixyPAOCEIXHKMTB", "раосеіхуРАОСЕІХНКМТВ"))
    sites = json.loads((ROOT / "data/geonames-ua/pzo-zytomyrska.geojson").read_text(encoding="utf-8"))["features"]
    inside = {f["properties"]["Унормована назва"] for f in sites if f["properties"]["Район"] == "р-н Овруцький"
              and shapely.geometry.shape(f["geometry"]).intersects(area)}
    assert inside == {"Юлино", "Овруцький"}
    return {("hromada-boundary", hromada)} | {("nature-sites", n) for n in inside}


@needs_chromium
def test_the_lifecycle_in_chromium_across_the_network(web_net: Net, tmp_path: Path) -> None:
    from selenium.webdriver.support.ui import Select

    hromada, raion, oblast = web_net.url(HROMADA), web_net.url(RAION_NODE), web_net.url(OBLAST_NODE)
    today = datetime.now(timezone.utc).date()

    # 1. an Ovruch official drafts the decision from the register's page, logging in on the way
    with person(tmp_path) as koval:
        koval.d.get(f"{hromada}/decisions/")
        koval.submit(koval.find("#register-links a[href='new']"))
        koval.log_in("koval")
        assert koval.d.current_url == f"{hromada}/decisions/new"
        koval.fits_the_phone()
        koval.find("#title_uk").send_keys("Сонячна станція біля Юлина")
        koval.find("#title_en").send_keys("A solar plant near Yulyno")
        Select(koval.find("#kind")).select_by_value("land-use-change")
        koval.find("#geometry").send_keys(AREA)
        koval.find("#parties").send_keys(f"{RAION}\n{OBLAST}")
        koval.submit(koval.find("#new-draft button[type=submit]"))
        m = re.search(r"/decisions/(D-\d{4}-\d{3})\.html$", koval.d.current_url)
        assert m, koval.d.current_url
        did, page = m.group(1), koval.d.current_url
        assert koval.status() == "draft" and "Сонячна станція біля Юлина" in koval.find("h1").text

        # 2. … and opens the consultation for half a minute (a day, or a time of it in UTC): long enough for
        #    the two citizens below to comment (~7 s here), on a machine twice as slow too; what needs no open
        #    consultation is done after they have commented, while its time runs out
        until = (datetime.now(timezone.utc) + timedelta(seconds=30)).replace(microsecond=0)
        form = koval.action("consultation")
        koval.type_date(koval.find("#until", form), until.date())
        koval.type_time(koval.find("#until_time", form), until)
        koval.find("#consultation-reason", form).send_keys("оприлюднено для обговорення")
        koval.submit(koval.find("button", form))
        assert koval.status() == "consultation"

        # 3. citizens comment; one is spam, which the moderator hides (never deletes)
        for name, text in (("maria", "А де буде під'їзна дорога?"), ("spammer", "Купуйте дешеві панелі тут!!!")):
            with person(tmp_path) as citizen:
                citizen.d.get(page)
                citizen.submit(citizen.find("#comment-login a"))  # the page's own "log in" link
                citizen.log_in(name)
                citizen.d.get(page)
                citizen.find("#comment-text").send_keys(text)
                citizen.submit(citizen.find("form.comment button"))
                assert citizen.d.current_url == f"{page}#comments"
                assert text in citizen.find("#comments").text and name in citizen.find("#comments").text
                if name == "maria":
                    citizen.fits_the_phone()
                    keep(citizen.d, tmp_path, "decision-commented-phone.png")
        koval.d.refresh()
        assert koval.status() == "consultation"
        assert justification_of(koval) >= independent_justification(), justification_of(koval)
        koval.fits_the_phone()
        shot = keep(koval.d, tmp_path, "decision-consultation-phone.png")
        assert colours_in(shot.read_bytes()) > 50
        assert not axe_violations(koval.d)

    with person(tmp_path) as moderator:
        moderator.log_in_to(hromada, f"/decisions/{did}.html", "moderator")
        spam = moderator.find("form.hide[data-comment='2']")
        moderator.find("input[name=reason]", spam).send_keys("реклама")
        moderator.submit(moderator.find("button", spam))
        comments = moderator.find("#comments").text
        assert "дешеві панелі" not in comments and "під'їзна дорога" in comments
        assert "Приховано модератором" in comments

    # 4. after the consultation: for agreement with the raion and the oblast
    time.sleep(max(0.0, (until - datetime.now(timezone.utc)).total_seconds()) + 1)
    with person(tmp_path) as koval:
        koval.log_in_to(hromada, f"/decisions/{did}.html", "koval")
        form = koval.action("agreement")
        koval.type_date(koval.find("#deadline", form), today + timedelta(days=14))
        koval.find("#agreement-reason", form).send_keys("обговорення завершено")
        koval.submit(koval.find("button", form))
        assert koval.status() == "agreement"

    # 5. the oblast's node is restarted while the requests go out: the raion gets its request, the oblast's
    #    waits in the outbox; the raion's official agrees while the oblast is starting again
    web_net.stop(OBLAST_NODE)
    report = json.loads(web_net.cli(HROMADA, "sync", "--json"))
    assert len(report["delivered"]) == 1 and len(report["pending"]) == 1, report
    web_net.start(OBLAST_NODE)
    with person(tmp_path) as sydorenko:
        sydorenko.d.get(f"{raion}/decisions/inbox")
        sydorenko.log_in("sydorenko")
        assert sydorenko.d.current_url == f"{raion}/decisions/inbox"
        request = sydorenko.find(f"article[data-decision='{did}']")
        assert "Сонячна станція біля Юлина" in request.text
        sydorenko.find("input[value=agree]", request).click()
        sydorenko.fits_the_phone()
        keep(sydorenko.d, tmp_path, "raion-inbox-phone.png")
        sydorenko.submit(sydorenko.find("button[type=submit]", request))
        assert sydorenko.find(f"article[data-decision='{did}']").get_attribute("data-state") == "answered"
        sydorenko.fits_the_phone()
        assert not axe_violations(sydorenko.d)
    web_net.wait(OBLAST_NODE)
    report = json.loads(web_net.cli(HROMADA, "sync", "--force", "--json"))
    assert len(report["delivered"]) == 1 and not report["pending"], report
    with person(tmp_path) as oleh:
        oleh.d.get(f"{oblast}/decisions/inbox")
        oleh.log_in("oleh")
        request = oleh.find(f"article[data-decision='{did}']")
        oleh.find("input[value=agree]", request).click()
        oleh.submit(oleh.find("button[type=submit]", request))
        assert oleh.find(f"article[data-decision='{did}']").get_attribute("data-state") == "answered"
    web_net.cli(RAION_NODE, "sync")
    web_net.cli(OBLAST_NODE, "sync")

    # 6. the head adopts, uploading the adopted text
    text = tmp_path / "rishennia-sesii.pdf"
    text.write_bytes(b"%PDF-1.4\n% the adopted text of the council's decision\n")
    with person(tmp_path) as holova:
        holova.log_in_to(hromada, f"/decisions/{did}.html", "holova")
        parts = [r.text for r in holova.all("#agreement tr")][1:]
        assert len(parts) == 2 and all("погоджено" in r for r in parts), parts
        form = holova.action("adopted")
        holova.find("#adopted-text", form).send_keys(str(text))
        holova.find("#adopted-reason", form).send_keys("рішення сесії ради")
        holova.submit(holova.find("button", form))
        assert holova.status() == "adopted"
        holova.fits_the_phone()
        link = holova.find("a[href*='/documents/']")
        assert link.text == "rishennia-sesii.pdf"
        assert requests.get(link.get_attribute("href"), timeout=60).content == text.read_bytes()

    # 7. implementation with a milestone whose day has passed
    due = today - timedelta(days=20)
    with person(tmp_path) as koval:
        koval.log_in_to(hromada, f"/decisions/{did}.html", "koval")
        form = koval.action("implementation")
        koval.find("#implementation-reason", form).send_keys("розпочато виконання")
        koval.submit(koval.find("button", form))
        assert koval.status() == "implementation"
        form = koval.action("milestone")
        koval.find("#ms-title", form).send_keys("Відведення земельної ділянки")
        koval.type_date(koval.find("#ms-due", form), due)
        koval.submit(koval.find("button", form))
        assert "прострочено" in koval.find("#implementation").text
        koval.fits_the_phone()
        keep(koval.d, tmp_path, "decision-implementation-phone.png")

    # 8. … and the oblast sees it on its overdue page
    with person(tmp_path) as oleh:
        oleh.d.get(f"{oblast}/decisions/")
        oleh.submit(oleh.find("#register-links a[href='overdue']"))
        row = oleh.find(f"#overdue tr[data-id='{did}']")
        assert row.get_attribute("data-issuer") == OVRUCH and due.isoformat() in row.text
        assert "Сонячна станція біля Юлина" in row.text
        oleh.fits_the_phone()
        shot = keep(oleh.d, tmp_path, "oblast-overdue-phone.png")
        assert colours_in(shot.read_bytes()) > 50
        assert not axe_violations(oleh.d)

    # 9. the milestone is reported done: off the oblast's list, and the decision may be completed
    with person(tmp_path) as koval:
        koval.log_in_to(hromada, f"/decisions/{did}.html", "koval")
        form = koval.action("report")
        koval.find("#rp-progress", form).send_keys("100")
        koval.find("#rp-text", form).send_keys("ділянку відведено")
        koval.submit(koval.find("button", form))
        assert "виконано / done" in koval.find("#implementation").text
        assert [f.get_attribute("data-action") for f in koval.all("#actions form")] == ["completed", "milestone"]
    overdue = requests.get(f"{oblast}/decisions/overdue", params={"f": "json"}, timeout=60).json()
    assert did not in [r["id"] for r in overdue["overdue"]] and not overdue["errors"]
