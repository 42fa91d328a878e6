"""Each public dataset has a page a person can use without knowing OGC: what it is, a map preview from the
node's own WMS, its fields under their original names, every download and service (with how to open it in
QGIS), the quality report and the kept versions — and every link on it answers (the crawler covers them)."""

from __future__ import annotations

import re
from html import unescape

import requests

from geoportal.config import load_config
from tests.conftest import DEMO_CONFIG

CFG = load_config(DEMO_CONFIG)


def _page(node, ds_id: str) -> str:  # type: ignore[no-untyped-def]
    r = requests.get(f"{node.base_url}/datasets/{ds_id}/", timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"), (ds_id, r.status_code)
    return r.text


def test_every_public_dataset_has_a_page_linked_from_the_landing_page(demo_node) -> None:  # type: ignore[no-untyped-def]
    landing = requests.get(demo_node.base_url + "/", timeout=60).text
    for ds in CFG.public_datasets:
        assert f'href="{demo_node.base_url}/datasets/{ds.id}/"' in landing, ds.id
        page = _page(demo_node, ds.id)
        assert ds.title.en in page and "ISO 19139" in page


def test_a_vector_page_shows_fields_downloads_services_quality_and_versions(demo_node) -> None:  # type: ignore[no-untyped-def]
    page = _page(demo_node, "nature-protection")
    assert "<td>Реєстраційний номер</td>" in page and "<code>reiestratsiinyi_nomer</code>" in page
    hrefs = [unescape(h) for h in re.findall(r'(?:href|src)="([^"]+)"', page)]
    for ext in ("gpkg", "geojson", "csv", "shp.zip"):
        assert f"{demo_node.base_url}/downloads/nature-protection.{ext}" in hrefs, ext
    assert "<code>gp:nature-protection</code>" in page and "Як відкрити в QGIS" in page
    assert re.search(r"прочитано / read 161, записано / written 161", page)
    assert re.search(r"<td>1 ✓</td>", page)  # the current version, from the store's history
    preview = next(h for h in hrefs if "REQUEST=GetMap" in h)
    img = requests.get(preview, timeout=60)
    assert img.headers["Content-Type"] == "image/png" and img.content[:4] == b"\x89PNG"


def test_a_raster_page_offers_its_cog_and_no_features(demo_node) -> None:  # type: ignore[no-untyped-def]
    page = _page(demo_node, "geonames-density")
    assert f"{demo_node.base_url}/downloads/geonames-density.tif" in page
    assert "/ogcapi/collections/geonames-density" not in page and "растр / raster" in page
