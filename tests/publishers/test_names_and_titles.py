"""What a client is told a layer is called, and what a person is told a field is called, on a served node.

- Every WMS layer and WFS feature type named by the landing page, the ISO records (read back from the CSW)
  and the DCAT catalog is one that MapServer's own GetCapabilities lists; WFS types carry the ``gp:``
  prefix MapServer advertises (QGIS 3.22 fails on a bare ``TYPENAMES=roads``).
- The original Ukrainian headers reach a person: the WMS GetFeatureInfo HTML, the QGIS aliases in the
  downloaded GeoPackage's ``layer_styles`` and its ``gpkg_data_columns`` (read with sqlite3), while the
  WFS schema keeps valid XML element names.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from lxml import etree

from geoportal.config import load_config
from metadata.records import record_id

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
CFG = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
REGISTER = ["decisions", "projects"]  # the decision register (decisions.publish): areas, so WMS and WFS too
DATASETS = [d.id for d in CFG.public_datasets] + ["hromada-passports", *REGISTER]
# a raster (the sample GeoTIFF) is a WMS layer, not a WFS feature type
WFS_DATASETS = [d.id for d in CFG.public_datasets if "wfs" in d.services] + ["hromada-passports", *REGISTER]
SAFE = etree.XMLParser(resolve_entities=False, no_network=True)
NS = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco",
      "wfs": "http://www.opengis.net/wfs/2.0", "wms": "http://www.opengis.net/wms",
      "xs": "http://www.w3.org/2001/XMLSchema"}


def _xml(url: str, **params: str) -> etree._Element:
    r = requests.get(url, params=params, timeout=60)
    assert r.status_code == 200, f"{r.url}: HTTP {r.status_code} {r.text[:300]}"
    return etree.fromstring(r.content, SAFE)


@pytest.fixture(scope="module")
def served(demo_node):  # type: ignore[no-untyped-def]
    ows = demo_node.base_url + "/ows"
    wms = _xml(ows, SERVICE="WMS", REQUEST="GetCapabilities", VERSION="1.3.0")
    wfs = _xml(ows, SERVICE="WFS", REQUEST="GetCapabilities", VERSION="2.0.0")
    return {
        "wms": {e.text for e in wms.iterfind(".//wms:Layer/wms:Name", NS)},
        "wfs": {e.text for e in wfs.iterfind(".//wfs:FeatureType/wfs:Name", NS)},
    }


def test_every_dataset_is_served_with_a_namespaced_wfs_type(served) -> None:  # type: ignore[no-untyped-def]
    for ds in DATASETS:
        assert ds in served["wms"], f"WMS does not serve {ds}: {sorted(served['wms'])}"
        if ds in WFS_DATASETS:
            assert f"gp:{ds}" in served["wfs"], f"WFS does not serve gp:{ds}: {sorted(served['wfs'])}"
        else:
            assert f"gp:{ds}" not in served["wfs"], f"WFS serves gp:{ds}, which does not declare wfs"


def test_landing_page_names_served_layers(demo_node, served) -> None:  # type: ignore[no-untyped-def]
    page = requests.get(demo_node.base_url + "/", timeout=60).text
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]
    layers = [parse_qs(urlsplit(h).query).get("LAYERS", [None])[0] for h in hrefs]
    types = [parse_qs(urlsplit(h).query).get("TYPENAMES", [None])[0] for h in hrefs]
    assert {x for x in layers if x} == set(DATASETS)
    assert {x for x in types if x} == {f"gp:{d}" for d in WFS_DATASETS}
    assert {x for x in layers if x} <= served["wms"] and {x for x in types if x} <= served["wfs"]


def test_iso_records_name_served_layers(demo_node, served) -> None:  # type: ignore[no-untyped-def]
    for ds in DATASETS:
        rec = _xml(demo_node.base_url + "/csw", service="CSW", version="2.0.2", request="GetRecordById",
                   id=record_id(CFG, ds), outputSchema="http://www.isotc211.org/2005/gmd", elementSetName="full")
        named = {}
        for res in rec.iterfind(".//gmd:CI_OnlineResource", NS):
            protocol = res.findtext("gmd:protocol/gco:CharacterString", namespaces=NS)
            if protocol in ("OGC:WMS", "OGC:WFS"):
                named[protocol] = res.findtext("gmd:name/gco:CharacterString", namespaces=NS)
        expected = {"OGC:WMS": ds, **({"OGC:WFS": f"gp:{ds}"} if ds in WFS_DATASETS else {})}
        assert named == expected, f"record of {ds}: {named}"
        assert named["OGC:WMS"] in served["wms"] and named.get("OGC:WFS", f"gp:{ds}") in served["wfs"] | {f"gp:{ds}"}


def test_dcat_names_served_layers(demo_node, served) -> None:  # type: ignore[no-untyped-def]
    cat = requests.get(demo_node.base_url + "/dcat.jsonld", timeout=60).json()
    seen: dict[str, set[str]] = {"wms": set(), "wfs": set()}
    for ds in cat["dcat:dataset"]:
        for d in ds["dcat:distribution"]:
            service = d.get("dcat:accessService", {}).get("@id", "").rsplit("service-", 1)[-1]
            if service in seen:
                seen[service].add(d["dct:identifier"])
    assert seen["wms"] == set(DATASETS) and seen["wms"] <= served["wms"]
    assert seen["wfs"] == {f"gp:{d}" for d in WFS_DATASETS} and seen["wfs"] <= served["wfs"]


def test_wfs_schema_keeps_valid_element_names(demo_node) -> None:  # type: ignore[no-untyped-def]
    xsd = _xml(demo_node.base_url + "/ows", SERVICE="WFS", VERSION="2.0.0", REQUEST="DescribeFeatureType",
               TYPENAMES="gp:nature-protection")
    names = {e.get("name") for e in xsd.iterfind(".//xs:element", NS)}
    assert "reiestratsiinyi_nomer" in names


def test_getfeatureinfo_html_shows_the_original_headers(demo_node) -> None:  # type: ignore[no-untyped-def]
    ows = demo_node.base_url + "/ows"
    one = requests.get(ows, params={"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "COUNT": "1",
                                    "TYPENAMES": "gp:nature-protection", "OUTPUTFORMAT": "geojson"}, timeout=60).json()
    feat = one["features"][0]
    x, y = feat["geometry"]["coordinates"][:2]
    r = requests.get(ows, params={
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetFeatureInfo", "LAYERS": "nature-protection",
        "QUERY_LAYERS": "nature-protection", "STYLES": "", "CRS": "EPSG:4326", "WIDTH": "101", "HEIGHT": "101",
        "BBOX": f"{y - 0.01},{x - 0.01},{y + 0.01},{x + 0.01}", "I": "50", "J": "50",
        "INFO_FORMAT": "text/html", "FEATURE_COUNT": "1"}, timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"), r.text[:300]
    page = r.content.decode("utf-8")
    assert re.search(r'<meta charset="utf-8">', page[:1024], re.I) or "charset=utf-8" in r.headers["Content-Type"].lower()
    assert "<th>Реєстраційний номер</th>" in page, page[:600]
    assert f"<td>{html.escape(feat['properties']['reiestratsiinyi_nomer'])}</td>" in page
    assert "reiestratsiinyi_nomer" not in page


@pytest.mark.parametrize(("dataset", "column", "title"), [
    ("nature-protection", "reiestratsiinyi_nomer", "Реєстраційний номер"),
    ("nature-protection", "vyd_heohrafichnoho_obiektu", "Вид географічного об’єкту"),
    ("hromada-passports", "area_km2", "Площа території, км²"),
])
def test_downloaded_geopackage_carries_the_titles(demo_node, tmp_path: Path, dataset: str, column: str,
                                                  title: str) -> None:  # type: ignore[no-untyped-def]
    r = requests.get(f"{demo_node.base_url}/downloads/{dataset}.gpkg", timeout=60)
    assert r.status_code == 200
    gpkg = tmp_path / f"{dataset}.gpkg"
    gpkg.write_bytes(r.content)
    with sqlite3.connect(gpkg) as db:
        row = db.execute("SELECT name, title FROM gpkg_data_columns WHERE column_name = ?", (column,)).fetchone()
        ext = db.execute("SELECT count(*) FROM gpkg_extensions WHERE extension_name = 'gpkg_schema'").fetchone()[0]
        qml = db.execute("SELECT styleQML FROM layer_styles WHERE useAsDefault").fetchone()[0]
    assert row == (title, title)
    assert ext == 2  # gpkg_data_columns and gpkg_data_column_constraints registered
    aliases = {a.get("field"): a.get("name") for a in etree.fromstring(qml.split("\n", 1)[1].encode(), SAFE)
               .iterfind("aliases/alias")}
    assert aliases[column] == title, json.dumps(aliases, ensure_ascii=False)[:500]


def test_ogcapi_schema_gives_the_original_headers(demo_node) -> None:  # type: ignore[no-untyped-def]
    r = requests.get(f"{demo_node.base_url}/ogcapi/collections/nature-protection/schema", params={"f": "json"},
                     timeout=60)
    assert r.status_code == 200, r.text[:300]
    props = r.json()["properties"]
    assert props["reiestratsiinyi_nomer"]["title"] == "Реєстраційний номер"
    assert props["raion"]["title"] == "Район" and props["katotth_raion"]["title"] == "katotth_raion"
    page = requests.get(f"{demo_node.base_url}/ogcapi/collections/nature-protection/schema", params={"f": "html"},
                        timeout=60).content.decode("utf-8")
    assert "Реєстраційний номер" in page


def test_ogc_api_queryables_carry_the_original_headers(demo_node) -> None:  # type: ignore[no-untyped-def]
    """The queryables a client builds filters from, and the HTML page a person reads, name each property by
    the source's header; the property key stays the column."""
    url = demo_node.base_url + "/ogcapi/collections/nature-protection/queryables"
    doc = requests.get(url, params={"f": "json"}, timeout=60).json()
    prop = doc["properties"]["reiestratsiinyi_nomer"]
    assert prop["title"] == "Реєстраційний номер", prop
    page = requests.get(url, params={"f": "html"}, timeout=60).text
    assert "Реєстраційний номер" in page and "reiestratsiinyi_nomer" in page


def test_ogc_api_html_tables_are_headed_by_the_original_names(demo_node) -> None:  # type: ignore[no-untyped-def]
    base = demo_node.base_url + "/ogcapi/collections/nature-protection/items"
    page = requests.get(base, params={"f": "html"}, timeout=60).text
    assert "<th>Реєстраційний номер</th>" in page and "<th>reiestratsiinyi_nomer</th>" not in page
    one = requests.get(base, params={"f": "json", "limit": 1}, timeout=60).json()["features"][0]["id"]
    item = requests.get(f"{base}/{one}", params={"f": "html"}, timeout=60).text
    assert "<td>Реєстраційний номер</td>" in item
