"""pygeoapi's pages speak Ukrainian by default and English on request (the node's catalogue of the template
strings, compiled at publish time)."""

from __future__ import annotations

import requests


def test_pages_are_ukrainian_by_default_and_english_on_request(demo_node) -> None:  # type: ignore[no-untyped-def]
    url = demo_node.base_url + "/ogcapi/collections/nature-protection/items"
    uk = requests.get(url, params={"f": "html"}, timeout=60).text
    assert "Об’єктів у колекції" in uk and "Наступні" in uk and "Items in this collection" not in uk
    en = requests.get(url, params={"f": "html", "lang": "en"}, timeout=60).text
    assert "Items in this collection" in en
    landing = requests.get(demo_node.base_url + "/ogcapi/", params={"f": "html"}, timeout=60).text
    assert "Колекції" in landing
