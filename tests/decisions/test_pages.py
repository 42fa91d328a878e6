"""The register's portal pages (issue #13, the decisions part): the index with filters, a map and a timeline
of statuses, checked in headless Chromium on a served node with decisions in several states; the comment
form of a decision open for comments, shown only to a caller the access front resolved, with its CSRF token;
and the development projects' list and pages (stage, decisions, budget by source, tender, area, last change).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import requests

from access.config import Role
from access.principal import Principal
from decisions.model import Actor, Budget, Text
from decisions.overview import status_changes, timeline
from decisions.service import Register
from decisions.comments_web import DecisionPages
from geoportal.config import load_config
from geoportal.model import Workspace
from tests.browser import axe_violations, chromium, colours_in, needs_chromium
from tests.conftest import ServedNode, serve_node, stop_node
from tests.decisions.conftest import OLEVSK, OVRUCH, hromadas_only_config

OFFICIAL = Actor("Олена Коваль", "official", OVRUCH)
HEAD = Actor("Голова", "head", OVRUCH)
OLEVSK_OFFICIAL = Actor("Іван Петренко", "official", OLEVSK)
AREA = "POLYGON ((28.80 51.30, 28.90 51.30, 28.90 51.36, 28.80 51.36, 28.80 51.30))"
AREA_B = "POLYGON ((28.95 51.30, 29.05 51.30, 29.05 51.36, 28.95 51.36, 28.95 51.30))"
AREA2 = "POLYGON ((27.60 51.20, 27.70 51.20, 27.70 51.25, 27.60 51.25, 27.60 51.20))"


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    """A node with the hromada boundaries and three decisions: adopted (Ovruch), in consultation until far
    in the future (Ovruch), a draft (Olevsk)."""
    base = tmp_path_factory.mktemp("decpages")
    config = hromadas_only_config(base)
    workdir = base / "node"
    reg = Register.for_node(load_config(config), Workspace(workdir).ensure())
    text = base / "rishennia.pdf"
    text.write_bytes(b"%PDF-1.4 adopted text")
    a = reg.create(OFFICIAL, title=Text("Зміна цільового призначення ділянки", "Land-use change"),
                   summary=Text("Під школу", "For a school"), kind="land-use-change", issuer=OVRUCH, geometry=AREA,
                   now=t("2026-01-10T09:00:00"))
    reg.transition(OFFICIAL, a.id, "consultation", reason="оприлюднено", consultation_until="2026-01-20",
                   now=t("2026-01-11T09:00:00"))
    reg.transition(OFFICIAL, a.id, "agreement", reason="обговорено", agreement_deadline="2026-01-25",
                   now=t("2026-01-21T09:00:00"))
    reg.transition(HEAD, a.id, "adopted", reason="сесія", adopted_text=text, now=t("2026-02-01T10:00:00"))
    b = reg.create(OFFICIAL, title=Text("Детальний план кварталу", "Detailed plan"), summary=Text("Квартал", ""),
                   kind="detailed-plan", issuer=OVRUCH, geometry=AREA_B, now=t("2026-02-05T09:00:00"))
    reg.transition(OFFICIAL, b.id, "consultation", reason="оприлюднено", consultation_until="2099-03-01",
                   now=t("2026-02-06T09:00:00"))
    reg.comment(Actor("Марія", "citizen"), b.id, "Потрібен тротуар", now=t("2026-02-07T09:00:00"))
    reg.create(OLEVSK_OFFICIAL, title=Text("Програма розвитку туризму", "Tourism programme"), summary=Text("", ""),
               kind="development-programme", issuer=OLEVSK, geometry=AREA2, now=t("2026-02-10T09:00:00"))
    p = reg.create_project(OFFICIAL, title=Text("Будівництво школи", "A new school"), issuer=OVRUCH,
                           decisions=[a.id, b.id], now=t("2026-02-11T09:00:00"),
                           budget=[Budget("місцевий бюджет", 1_200_000.0, 350_000.5), Budget("грант ЄС", 800_000.0)])
    for stage in ("preparation", "funding"):
        reg.transition_project(OFFICIAL, p.id, stage, reason="рішення сесії", now=t("2026-02-12T09:00:00"))
    reg.transition_project(OFFICIAL, p.id, "procurement", reason="оголошено закупівлю",
                           tender_id="UA-2026-02-15-000123-a", now=t("2026-02-15T09:00:00"))
    reg.create_project(OLEVSK_OFFICIAL, title=Text("Велодоріжка", ""), issuer=OLEVSK, decisions=[],
                       now=t("2026-02-16T09:00:00"))  # an idea: no decision, no budget, no area yet
    served = serve_node(config, workdir)
    yield served
    stop_node(served.process)


def test_status_changes_follow_the_history(node: ServedNode) -> None:
    reg = Register.for_node(load_config(node.config), Workspace(node.workdir))
    d = reg.get("D-2026-001")
    assert status_changes(d, reg.history(d.id)) == [
        ("2026-01-10", "draft"), ("2026-01-11", "consultation"), ("2026-01-21", "agreement"), ("2026-02-01", "adopted")]
    tl = timeline(reg.list(), reg.history, today=date(2026, 3, 1))
    assert (tl.start, tl.end) == ("2026-01-10", "2026-03-01")
    row = next(r for r in tl.rows if r.decision.id == "D-2026-001")
    assert [s.status for s in row.spans] == ["draft", "consultation", "agreement", "adopted"]
    assert row.spans[0].left == 0 and abs(row.spans[-1].left + row.spans[-1].width - 100) < 0.01  # up to today


def test_the_comment_form_is_only_for_a_logged_in_caller(node: ServedNode) -> None:
    pages = DecisionPages(node.workdir)

    def get(environ: dict) -> tuple[str, str]:
        status: list[str] = []
        body = b"".join(pages({"PATH_INFO": "/D-2026-002.html", "REQUEST_METHOD": "GET", "SCRIPT_NAME": "/decisions",
                               **environ}, lambda s, h: status.append(s)))
        return status[0], body.decode("utf-8")

    status, anonymous = get({})
    assert status == "200 OK" and "<form class=\"comment" not in anonymous and 'href="../login"' in anonymous

    class Guard:
        token = "csrf-of-this-session"

        def valid(self, submitted: str | None) -> bool:
            return submitted == self.token

    status, citizen = get({"geoportal.principal": Principal("Марія", frozenset({Role.citizen})), "geoportal.csrf": Guard()})
    assert status == "200 OK"
    assert '<form class="comment noprint" method="post" action="D-2026-002/comments">' in citizen
    assert '<input type="hidden" name="csrf_token" value="csrf-of-this-session">' in citizen
    assert '<label for="comment-text">' in citizen and "id=\"comment-login\"" not in citizen
    # a decision no longer open for comments has no form, logged in or not
    _, adopted = get({"PATH_INFO": "/D-2026-001.html", "geoportal.principal": Principal("Марія", frozenset({Role.citizen}))})
    assert "<form class=\"comment" not in adopted


class Guard:
    """The access front's CSRF guard as the pages use it (access.sessions.RequestCsrf: .token, .valid())."""

    token = "csrf-of-this-session"

    def valid(self, submitted: str | None) -> bool:
        return submitted == self.token


def post(node: ServedNode, decision: str, fields: dict[str, str], **environ: object) -> tuple[str, dict, str]:
    from urllib.parse import urlencode

    body = urlencode(fields).encode("utf-8")
    status: list[str] = []
    headers: list[dict] = []
    out = b"".join(DecisionPages(node.workdir)({
        "PATH_INFO": f"/{decision}/comments", "REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded", "wsgi.input": __import__("io").BytesIO(body),
        **environ}, lambda s, h: (status.append(s), headers.append(dict(h)))))
    return status[0], headers[0], out.decode("utf-8")


def test_a_citizen_comments_through_the_form(node: ServedNode) -> None:
    citizen = {"geoportal.principal": Principal("Петро Шевчук", frozenset({Role.citizen}))}
    fields = {"text": "Прошу зберегти сквер", "csrf_token": Guard.token}
    assert post(node, "D-2026-002", fields)[0].startswith("401")  # anonymous
    status, _, text = post(node, "D-2026-002", fields, **citizen)  # no access front: no CSRF guard, refused
    assert status.startswith("403") and "CSRF" in text
    status, _, _ = post(node, "D-2026-002", {**fields, "csrf_token": "forged"}, **citizen, **{"geoportal.csrf": Guard()})
    assert status.startswith("403")
    status, _, text = post(node, "D-2026-001", fields, **citizen, **{"geoportal.csrf": Guard()})
    assert status.startswith("409") and "consultation" in text  # adopted: comments are closed
    status, _, text = post(node, "D-2026-002", {**fields, "text": "  "}, **citizen, **{"geoportal.csrf": Guard()})
    assert status.startswith("400") and "text" in text

    status, headers, _ = post(node, "D-2026-002", fields, **citizen, **{"geoportal.csrf": Guard()})
    assert status.startswith("303") and headers["Location"] == "../D-2026-002.html#comments"
    page = requests.get(node.base_url + "/decisions/D-2026-002.html", timeout=30).text  # served at once
    assert "Прошу зберегти сквер" in page and "Петро Шевчук" in page
    reg = Register.for_node(load_config(node.config), Workspace(node.workdir))
    assert any(h.action == "comment" and h.actor["name"] == "Петро Шевчук" for h in reg.history("D-2026-002"))
    r = requests.get(node.base_url + "/decisions/D-2026-002/comments", timeout=30)
    assert r.status_code == 405


@pytest.mark.slow
def test_decision_pages_show_comments_and_the_node_look(node: ServedNode) -> None:
    page = requests.get(node.base_url + "/decisions/D-2026-002.html", timeout=30).text
    assert "Потрібен тротуар" in page and "Марія" in page  # the comment is public
    assert 'class="gp-search"' in page and "assets/portal.css" in page
    index = requests.get(node.base_url + "/decisions/", timeout=30).text
    assert index.count('<a href="D-2026-00') >= 3 + 3  # list and map link each decision (the timeline too)


@pytest.mark.slow
@needs_chromium
def test_list_map_and_timeline_render_and_filter(node: ServedNode) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with chromium(1200, 1400) as browser:
        browser.get(node.base_url + "/decisions/")
        items = browser.find_elements(By.CSS_SELECTOR, "#decisions li")
        shapes = browser.find_elements(By.CSS_SELECTOR, "svg.map a.dec")
        bars = browser.find_elements(By.CSS_SELECTOR, ".tl .row")
        assert len(items) == 3 and len(shapes) == 3 and len(bars) == 3
        outlines = browser.find_elements(By.CSS_SELECTOR, "svg.map > path")
        assert len(outlines) == 6  # the node's six hromadas under the decisions
        spans = bars[-1].find_elements(By.CSS_SELECTOR, ".bar span")
        assert spans and all(s.size["width"] > 0 for s in spans)
        shot = browser.get_screenshot_as_png()
        Path(node.workdir.parent / "decisions-index.png").write_bytes(shot)
        assert colours_in(shot) > 50, "the register page looks blank"
        assert not axe_violations(browser)

        Select(browser.find_element(By.ID, "f-status")).select_by_value("consultation")
        visible = [li.get_attribute("data-id") for li in items if li.is_displayed()]
        assert visible == ["D-2026-002"]
        assert [a.get_attribute("data-id") for a in shapes if a.value_of_css_property("display") != "none"] == ["D-2026-002"]
        assert browser.find_element(By.CSS_SELECTOR, "#count strong").text == "1"
        assert "status=consultation" in browser.current_url  # the filtered view can be shared

        browser.get(node.base_url + f"/decisions/?body={OLEVSK}")
        visible = [li.get_attribute("data-id") for li in browser.find_elements(By.CSS_SELECTOR, "#decisions li")
                   if li.is_displayed()]
        assert visible == ["D-2026-003"]


def test_project_pages_show_the_budget_and_link_the_decisions(node: ServedNode) -> None:
    index = requests.get(node.base_url + "/decisions/", timeout=30).text
    assert '<a href="projects.html">' in index  # the register links its projects
    listing = requests.get(node.base_url + "/decisions/projects.html", timeout=30)
    assert listing.status_code == 200 and listing.headers["Content-Type"].startswith("text/html")
    assert '<a href="P-2026-001.html">Будівництво школи</a>' in listing.text
    assert '<a href="P-2026-002.html">Велодоріжка</a>' in listing.text
    assert "план / planned 2\u00a0000\u00a0000,00 UAH" in listing.text  # the two sources added up

    page = requests.get(node.base_url + "/decisions/P-2026-001.html", timeout=30).text
    assert '<html lang="uk">' in page and 'lang="en">A new school' in page
    assert "закупівля" in page and 'aria-current="step"' in page and "UA-2026-02-15-000123-a" in page
    assert '<a href="D-2026-001.html">Зміна цільового призначення ділянки</a>' in page
    assert '<a href="D-2026-002.html">Детальний план кварталу</a>' in page
    for row in (("місцевий бюджет", "1\u00a0200\u00a0000,00", "350\u00a0000,50"),
                ("грант ЄС", "800\u00a0000,00", "0,00"),
                ("Разом", "2\u00a0000\u00a0000,00", "350\u00a0000,50")):
        assert all(cell in page for cell in row), row
    assert 'aria-label="територія проєкту / area of the project"' in page  # the two decisions' area
    assert "2026-02-15" in page and "оголошено закупівлю" in page and "tender_id" in page  # the last change
    assert 'class="gp-search"' in page and "assets/portal.css" in page  # the node's look

    idea = requests.get(node.base_url + "/decisions/P-2026-002.html", timeout=30).text
    assert "no budget yet" in idea and "no decision linked" in idea and "<svg" not in idea.split("</header>")[1]

    # the published collection links each project's page
    fc = requests.get(node.base_url + "/ogcapi/collections/projects/items", params={"f": "json"}, timeout=30).json()
    pages = {f["id"]: f["properties"]["page"] for f in fc["features"]}
    assert pages["P-2026-001"] == node.base_url + "/decisions/P-2026-001.html"


def test_every_link_of_the_project_pages_resolves(node: ServedNode) -> None:
    """Every link of the projects' pages and of the pages they lead to inside ``/decisions/`` answers 2xx with
    no error dressed as a page (tests/geoportal/test_crawl.py's rules), on the served node."""
    from urllib.parse import urldefrag, urljoin, urlsplit

    from tests.geoportal.test_crawl import ERROR_BODY, links_of, pending_routes

    not_routed = pending_routes(node.base_url)
    todo = [f"{node.base_url}/decisions/projects.html"]
    seen: set[str] = set()
    failures, pages = [], set()
    while todo:
        url = urldefrag(todo.pop())[0]
        if url in seen or not url.startswith(node.base_url) or urlsplit(url).path in not_routed:
            continue
        seen.add(url)
        r = requests.get(url, timeout=60)
        if not 200 <= r.status_code < 300 or ERROR_BODY.search(r.text if "text" in r.headers.get("Content-Type", "") else ""):
            failures.append(f"{url}: HTTP {r.status_code}")
            continue
        path = urlsplit(url).path
        if path.startswith("/decisions/") and path.endswith(".html") and (
                path.rsplit("/", 1)[1].startswith("P-") or path.endswith("/projects.html")):
            pages.add(path)  # also as ?lang=uk / ?lang=en, the header's language switch
            todo += [urljoin(url, x) for x in links_of(r.text) if not x.startswith(("mailto:", "#"))]
    assert not failures, failures
    assert pages == {"/decisions/projects.html", "/decisions/P-2026-001.html", "/decisions/P-2026-002.html"}
    assert {f"{node.base_url}/decisions/{x}" for x in ("D-2026-001.html", "D-2026-002.html", "index.html",
                                                       "P-2026-002.html")} <= seen
    assert f"{node.base_url}/ogcapi/collections/projects/items/P-2026-001?f=html" in seen


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("width", [1200, 360])
def test_project_pages_in_chromium(node: ServedNode, width: int) -> None:
    """Desktop and a phone's width: no serious or critical axe-core violation, nothing wider than the screen."""
    with chromium(width, 1000) as browser:
        for path in ("/decisions/projects.html", "/decisions/P-2026-001.html", "/decisions/P-2026-002.html"):
            browser.get(node.base_url + path)
            assert not axe_violations(browser), path
            assert browser.execute_script(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1"), f"{path} scrolls sideways"
        shot = browser.get_screenshot_as_png()
        assert colours_in(shot) > 50, "the project page looks blank"
