"""A path the node does not have: a person in a browser gets a page with the portal's navigation whose every
link answers; a program gets one line of text; both are 404, and the path asked is never echoed unescaped."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
import requests

from geoportal.not_found import page
from geoportal.portal import Login, Site

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.slow
def test_a_browser_gets_a_page_whose_links_all_answer(demo_node) -> None:
    r = requests.get(demo_node.base_url + "/passports/", headers=BROWSER, timeout=30)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
    assert "Сторінку не знайдено" in r.text and "<code>/passports/</code>" in r.text
    assert 'href="/passport/"' in r.text  # the header's navigation: the page meant was one click away
    hrefs = set(re.findall(r'href="([^"#]+)"', r.text))
    assert len(hrefs) >= 8
    for href in sorted(hrefs):
        got = requests.get(urljoin(r.url, href.replace("&amp;", "&")), headers=BROWSER, timeout=60)
        if href.startswith("?"):  # the header's language switch asks the same missing path again
            assert got.status_code == 404 and "<code>/passports/</code>" in got.text, href
        else:
            assert got.status_code == 200, (href, got.status_code, got.text[:200])


@pytest.mark.slow
def test_a_program_gets_one_line_of_text(demo_node) -> None:
    r = requests.get(demo_node.base_url + "/passports/", timeout=30)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/plain")
    assert r.text.startswith("no such path: /passports/ (try /, /map, /search, /ogcapi/")


def test_the_path_asked_is_escaped() -> None:
    html = page(Site("Вузол", "Node"), "/", '/"><script>alert(1)</script>', Login())
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
