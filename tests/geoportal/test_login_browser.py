"""Logging in with a real browser: headless Chromium (the system's, driven by selenium) fills the form.

What a person does: opens /login on a phone-sized screen, finds the fields by their labels, types, presses
the button, lands on /whoami that names them, logs out with the button there. Screenshots are kept in the
test's folder (and in ``$GEOPORTAL_SCREENSHOTS`` when set) to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from tests.geoportal.access_client import PASSWORD, Node

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs the system chromium and chromedriver (scripts/install-system.sh)")


@pytest.fixture
def browser() -> Iterator["object"]:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=390,844", "--lang=uk"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"intl.accept_languages": "uk-UA,uk"})  # a browser in Ukraine
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def keep(driver: "object", tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    if os.environ.get("GEOPORTAL_SCREENSHOTS"):
        out = Path(os.environ["GEOPORTAL_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / name)
    return path


def field_labelled(driver: "object", text: str) -> "object":
    """The input a <label> with ``text`` points at (what a screen reader announces)."""
    from selenium.webdriver.common.by import By

    label = next(lab for lab in driver.find_elements(By.TAG_NAME, "label")  # type: ignore[attr-defined]
                 if lab.text.strip() == text)
    return driver.find_element(By.ID, label.get_attribute("for"))  # type: ignore[attr-defined]


def test_form_login_in_chromium(access_node: Node, browser: "object", tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d = browser
    base = access_node.served.base_url
    d.get(f"{base}/login?next=/whoami")  # type: ignore[attr-defined]
    assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "uk"  # type: ignore[attr-defined]
    field_labelled(d, "Ім’я користувача").send_keys("alice")  # type: ignore[attr-defined]
    field_labelled(d, "Пароль").send_keys(PASSWORD)  # type: ignore[attr-defined]
    form = keep(d, tmp_path, "login-form.png")
    assert form.stat().st_size > 5000
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()  # type: ignore[attr-defined]
    # the answer is a new page: wait for it (read at once, the URL may still be the form's)
    WebDriverWait(d, 30).until(lambda drv: drv.current_url != f"{base}/login?next=/whoami")  # type: ignore[arg-type]
    assert d.current_url == f"{base}/whoami"  # type: ignore[attr-defined]
    assert d.find_element(By.ID, "user").text == "alice"  # type: ignore[attr-defined]
    keep(d, tmp_path, "whoami.png")
    # the session cookie is HttpOnly: page scripts cannot read it
    assert "gp_session_" not in d.execute_script("return document.cookie")  # type: ignore[attr-defined]
    cookie = next(c for c in d.get_cookies() if c["name"].startswith("gp_session_"))  # type: ignore[attr-defined]
    assert cookie["httpOnly"] and cookie.get("sameSite") == "Lax"
    d.find_element(By.CSS_SELECTOR, "form[action^='/logout'] button").click()  # type: ignore[attr-defined]
    WebDriverWait(d, 30).until(lambda drv: drv.current_url == f"{base}/")  # back on the landing page
    d.get(f"{base}/whoami")  # type: ignore[attr-defined]
    assert "Ви не ввійшли" in d.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]


def test_wrong_password_in_chromium_shows_the_message_not_a_dialog(access_node: Node, browser: "object",
                                                                    tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d = browser
    d.get(f"{access_node.served.base_url}/login?lang=en")  # type: ignore[attr-defined]
    field_labelled(d, "User name").send_keys("alice")  # type: ignore[attr-defined]
    field_labelled(d, "Password").send_keys("not the password")  # type: ignore[attr-defined]
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()  # type: ignore[attr-defined]
    # the answer is a new page: wait for it (looked for at once, the old page may still be the one shown)
    alert = WebDriverWait(d, 30).until(  # type: ignore[arg-type]
        lambda drv: next(iter(drv.find_elements(By.CSS_SELECTOR, "[role=alert]")), None))
    assert "Wrong name or password" in alert.text
    keep(d, tmp_path, "login-failed.png")
