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


def test_the_page_reads_the_record_the_catalog_serves(demo_node) -> None:  # type: ignore[no-untyped-def]
    """Title, abstract, lineage and the responsible organisation come from the ISO record — read here through
    the node's CSW with OWSLib, independently of the page's own reader."""
    from owslib.csw import CatalogueServiceWeb

    from metadata.records import record_id

    csw = CatalogueServiceWeb(f"{demo_node.base_url}/csw", timeout=60)
    csw.getrecordbyid([record_id(CFG, "hromadas")], outputschema="http://www.isotc211.org/2005/gmd")
    (rec,) = csw.records.values()
    page = unescape(_page(demo_node, "hromadas"))
    assert rec.identification[0].title in page and rec.identification[0].abstract in page
    assert rec.dataquality.lineage and rec.dataquality.lineage in page
    assert "Походження / Lineage" in page
    assert rec.contact[0].organization in page


def test_a_custodians_record_is_read_as_written() -> None:
    """A record supplied by a custodian (an official INSPIRE template here) is read for its own words."""
    from pathlib import Path

    from metadata.read import read_record

    sample = Path(__file__).resolve().parents[3] / "shared" / "metadata-samples" / "inspire-md-templates"
    rec = read_record(sample / "Metadata_datasets_series_cc2.xml")
    assert rec is not None and rec.identifier and rec.title.uk and rec.abstract.uk
    assert read_record(sample / "no-such-record.xml") is None
