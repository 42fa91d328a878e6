"""One look across the node's pages (issue #13): the shared header on every page kind — node name, search
box, navigation, login link, language switch, skip link — checked in the HTML, then in headless Chromium on
the served sample node: axe-core finds no serious or critical WCAG 2.1 A/AA violation on any page kind, each
page's first load (without map tiles) is under 500 KB by the browser's own count, nothing is fetched from
outside the node, and the page is styled at a phone's width.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from access.config import Role
from access.principal import Principal
from geoportal import portal
from tests.browser import axe_violations, chromium, colours_in, first_load_bytes, needs_chromium, outside_requests

#: one page of every kind the node serves to people (paths under the node's root)
PAGE_KINDS = {
    "landing": "/",
    "dataset": "/datasets/hromadas/",
    "search": "/search?q=%D0%BE%D0%B2%D1%80%D1%83%D1%87",
    "passports (map of an indicator)": "/passport/map-population_total.html",
    "passport of a hromada": "/passport/UA18060170000069581.html",
    "passport comparison": "/passport/compare.html?h=UA18060170000069581&h=UA18060190000071101",
    "decisions": "/decisions/",
    "investment sites": "/invest/",
    "investment site": "/invest/INV-003/",
    "OGC API (pygeoapi)": "/ogcapi/collections/investment-sites?f=html",
}
LIMIT = 500 * 1024


def test_header_has_the_search_the_navigation_and_the_login_link() -> None:
    html = portal.header(portal.Site("Житомирська область", "Zhytomyr oblast"), "../", "passport")
    assert 'href="#main"' in html and "Перейти до змісту" in html  # the skip link, first on the page
    assert re.search(r'<form class="gp-search" role="search" method="get" action="../search">', html)
    assert '<label class="sr" for="gp-q">' in html and 'name="q"' in html
    nav = re.findall(r'<li><a href="([^"]+)"( aria-current="page")?>', html)
    assert [h for h, _ in nav] == ["../#datasets", "../map", "../passport/", "../decisions/", "../invest/", "../search"]
    assert [h for h, cur in nav if cur] == ["../passport/"]
    assert 'href="../login"' in html and "logout" not in html  # anonymous: a link to log in
    assert 'hreflang="en"' in html and 'hreflang="uk"' in html


def test_a_node_without_passports_has_no_passport_link() -> None:
    html = portal.header(portal.Site("Громада", "Hromada", passport=False), "/", "")
    assert "/passport/" not in html and "/invest/" in html


def test_a_logged_in_caller_gets_a_logout_form_with_the_csrf_token() -> None:
    class Guard:  # what the access front puts in the environ (access.sessions.RequestCsrf has .token)
        token = "tok-123"

    environ = {"geoportal.principal": Principal("Марія", frozenset({Role.citizen})), "geoportal.csrf": Guard()}
    login = portal.login_state(environ)
    html = portal.header(portal.Site("Н", "N"), "/", "", login)
    assert 'method="post" action="/logout"' in html
    assert '<input type="hidden" name="csrf_token" value="tok-123">' in html and "Марія" in html
    assert portal.login_state({}).name is None  # nobody resolved: anonymous, fail closed


def test_site_name_is_read_back_from_the_build(tmp_path: Path) -> None:
    site = portal.Site("Овруцька громада", "Ovruch hromada", passport=False)
    (tmp_path / "node.json").write_text(__import__("json").dumps(site.to_dict()), encoding="utf-8")
    assert portal.Site.of_workspace(tmp_path) == site
    assert portal.Site.of_workspace(tmp_path / "nowhere").name_uk == "Геопортал"


@pytest.mark.slow
def test_every_page_kind_has_the_shared_header(demo_node) -> None:  # type: ignore[no-untyped-def]
    for kind, path in PAGE_KINDS.items():
        r = requests.get(demo_node.base_url + path, timeout=60)
        assert r.status_code == 200, f"{kind} {path}: HTTP {r.status_code}"
        page = r.text
        assert re.search(r'<html lang="?uk', page), f"{kind}: no lang attribute"
        assert "assets/portal.css" in page, f"{kind}: not in the node's look"
        assert 'class="gp-search"' in page and 'class="skip"' in page, f"{kind}: no shared header"
        assert "Житомирська область" in page, f"{kind}: the node's name is missing"
    # the pages with a look of their own (the full-screen map, the login pages) still have the data search box
    for path in ("/map/", "/login", "/whoami"):
        page = requests.get(demo_node.base_url + path, timeout=60).text
        assert re.search(r'<form[^>]*role="search"[^>]*action="[^"]*/search"', page), f"{path}: no search box"
    css = requests.get(demo_node.base_url + "/assets/portal.css", timeout=30)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert len(css.content) < 12 * 1024  # one small CSS file


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("kind", list(PAGE_KINDS))
def test_page_kind_is_accessible_light_and_offline(demo_node, kind: str) -> None:  # type: ignore[no-untyped-def]
    url = demo_node.base_url + PAGE_KINDS[kind]
    with chromium(390, 844) as browser:  # a phone first
        browser.get(url)
        browser.execute_script("return document.readyState")
        violations = axe_violations(browser)
        assert not violations, f"{kind}: axe-core, serious/critical:\n" + "\n".join(violations)
        total, biggest = first_load_bytes(browser)
        assert total < LIMIT, f"{kind}: first load {total} B > 500 KB; largest: {biggest[:5]}"
        assert not outside_requests(browser, demo_node.base_url), f"{kind}: fetched from outside the node"
        width, view = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= view, f"{kind}: the page is {width} px wide on a {view} px phone (horizontal scrolling)"
        assert colours_in(browser.get_screenshot_as_png()) > 20, f"{kind}: the page looks blank or unstyled"


@pytest.mark.slow
@needs_chromium
def test_language_switch_shows_the_english_menu_and_keeps_the_choice(demo_node) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    with chromium(1200, 900) as browser:
        browser.get(demo_node.base_url + "/invest/?type=%D0%B3%D1%80%D1%96%D0%BD%D1%84%D1%96%D0%BB%D0%B4")
        menu = lambda: [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".gp-nav a")]  # noqa: E731
        assert menu()[:3] == ["Дані", "Карта", "Паспорти"]
        english = browser.find_element(By.CSS_SELECTOR, ".gp-lang a[hreflang=en]")
        assert "type=" in english.get_attribute("href")  # the switch keeps the page's own parameters
        english.click()
        assert menu()[:3] == ["Data", "Map", "Passports"]
        browser.get(demo_node.base_url + "/passport/")  # the choice is kept from page to page
        assert menu()[:3] == ["Data", "Map", "Passports"]
        browser.get(demo_node.base_url + "/ogcapi/collections?lang=en")  # pygeoapi's pages follow ?lang= too
        assert menu()[:3] == ["Data", "Map", "Passports"]
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
        browser.get(demo_node.base_url + "/?lang=uk")
        assert menu()[:3] == ["Дані", "Карта", "Паспорти"]
