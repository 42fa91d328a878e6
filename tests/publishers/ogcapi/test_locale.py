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


def test_maps_have_a_basemap_served_by_the_node_itself(demo_node) -> None:  # type: ignore[no-untyped-def]
    """The Leaflet maps of the OGC API pages draw tiles from the node's own MapServer (no internet needed):
    the tile URL in the page answers with a PNG that is not blank over the oblast."""
    import io
    import re

    from PIL import Image

    page = requests.get(demo_node.base_url + "/ogcapi/collections/hromadas/items", params={"f": "html"},
                        timeout=60).text
    url = re.search(r"TileLayer\(\s*'([^']+)'", page).group(1)
    assert url.startswith(demo_node.base_url + "/tiles/"), url
    tile = requests.get(url.replace("{x}", "9").replace("{y}", "5").replace("{z}", "4"), timeout=60)  # Zhytomyr
    assert tile.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(tile.content)).convert("RGBA").getextrema()[3][1] > 0, "blank tile"
