"""The sample node, served for real, read by the clients its users have: OWSLib and GDAL.

Every public dataset must come out of WMS, WFS and OGC API Features with the feature count that ingest
stored, and the catalog must find each dataset by a Ukrainian word of its title.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest
import shapely
from owslib.csw import CatalogueServiceWeb
from owslib.fes import PropertyIsLike
from owslib.ogcapi.features import Features
from owslib.wfs import WebFeatureService
from owslib.wms import WebMapService

from geoportal.config import load_config

DEMO_CONFIG = __import__("pathlib").Path(__file__).resolve().parents[2] / "config/nodes/zhytomyr-oblast.yaml"

pytestmark = pytest.mark.slow

CFG = load_config(DEMO_CONFIG)
DATASETS = [d.id for d in CFG.public_datasets]
# vector datasets are also features (OGC API, WFS); a raster (the GeoTIFF) is a WMS layer and a file
VECTORS = [d.id for d in CFG.public_datasets if "ogcapi" in d.services]
RASTERS = [d.id for d in CFG.public_datasets if d.is_raster]
# counts an official can check against the sources in data/ (see data/SOURCES.md)
KNOWN_COUNTS = {"oblast-boundary": 1, "hromadas": 6, "nature-protection": 161}


def get(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.headers.get("Content-Type", ""), r.read()


@pytest.fixture(scope="module")
def node(demo_node):  # type: ignore[no-untyped-def]
    return demo_node


@pytest.fixture(scope="module")
def wms(node):  # type: ignore[no-untyped-def]
    return WebMapService(node.base_url + "/ows", version="1.3.0", timeout=60)


@pytest.fixture(scope="module")
def wfs(node):  # type: ignore[no-untyped-def]
    return WebFeatureService(node.base_url + "/ows", version="2.0.0", timeout=60)


def test_manifest_has_every_dataset_with_known_counts(node) -> None:  # type: ignore[no-untyped-def]
    layers = node.layers  # every dataset is stored; the anonymous services serve the public ones (DATASETS)
    assert sorted(layers) == sorted(d.id for d in CFG.datasets)
    for ds, n in KNOWN_COUNTS.items():
        assert layers[ds]["feature_count"] == n, ds
    assert layers["geographic-names"]["feature_count"] > 1500


def test_landing_page_lists_datasets(node) -> None:  # type: ignore[no-untyped-def]
    ctype, body = get(node.base_url + "/")
    html = body.decode("utf-8")
    assert ctype.startswith("text/html")
    assert "Житомирська область" in html
    for ds in CFG.public_datasets:
        assert ds.title.uk.replace("'", "\u2019") in html  # typed with ', shown with the Ukrainian ’
        if "ogcapi" in ds.services:
            assert f"/ogcapi/collections/{ds.id}" in html
        else:  # the raster: its COG instead of a collection
            assert f"/downloads/{ds.id}.tif" in html and f"/ogcapi/collections/{ds.id}" not in html


@pytest.mark.parametrize("dataset", VECTORS)
def test_ogcapi_features_owslib(node, dataset: str) -> None:  # type: ignore[no-untyped-def]
    expected = node.layers[dataset]["feature_count"]
    api = Features(node.base_url + "/ogcapi", timeout=60)
    coll = api.collection(dataset)
    ds = CFG.dataset(dataset)
    assert ds.title.uk in json.dumps(coll, ensure_ascii=False) or ds.title.en in json.dumps(coll)
    items = api.collection_items(dataset, limit=5000)
    assert len(items["features"]) == expected
    assert items.get("numberMatched", expected) == expected


@pytest.mark.parametrize("dataset", VECTORS)
def test_ogcapi_features_gdal(node, dataset: str) -> None:  # type: ignore[no-untyped-def]
    expected = node.layers[dataset]["feature_count"]
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", f"OAPIF:{node.base_url}/ogcapi/collections/{dataset}"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"Feature Count: {expected}" in out.stdout, out.stdout[-1500:]


def test_ogcapi_ukrainian_text_round_trips(node) -> None:  # type: ignore[no-untyped-def]
    api = Features(node.base_url + "/ogcapi", timeout=60)
    items = api.collection_items("hromadas", limit=10)
    names = {f["properties"]["admin_3"] for f in items["features"]}
    # the source has Latin look-alike letters («Овpуцькa»); ingest repairs them
    assert "Овруцька" in names
    assert all(re.fullmatch(r"[А-ЩЬЮЯҐЄІЇа-щьюяґєії'’ -]+", n) for n in names), names


@pytest.mark.parametrize("dataset", DATASETS)
def test_wms_getcapabilities_and_getmap(wms, node, dataset: str) -> None:  # type: ignore[no-untyped-def]
    assert dataset in wms.contents
    layer = wms.contents[dataset]
    assert layer.title == CFG.dataset(dataset).title.uk
    bbox = node.layers[dataset]["bbox"]
    img = wms.getmap(layers=[dataset], styles=[""], srs="EPSG:4326", bbox=tuple(bbox), size=(256, 256),
                     format="image/png", transparent=True)
    data = img.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:200]
    from PIL import Image

    im = Image.open(io.BytesIO(data)).convert("RGBA")
    assert im.getextrema()[3][1] > 0, "the map is blank"


def test_wms_theme_groups(wms) -> None:  # type: ignore[no-untyped-def]
    assert {"administrative", "environment", "names"} <= set(wms.contents)


def test_wms_getfeatureinfo_returns_the_hromada(wms, node) -> None:  # type: ignore[no-untyped-def]
    from pyogrio.raw import read

    _, _, geoms, fields = read(node.layers["hromadas"]["location"]["path"], layer="hromadas", columns=["admin_3"])
    p = shapely.point_on_surface(shapely.from_wkb(geoms[0]))
    name = fields[0][0]
    d = 0.01
    resp = wms.getfeatureinfo(layers=["hromadas"], srs="EPSG:4326", bbox=(p.x - d, p.y - d, p.x + d, p.y + d),
                              size=(101, 101), format="image/png", query_layers=["hromadas"],
                              info_format="application/json", xy=(50, 50))
    info = json.loads(resp.read())
    assert [f["properties"]["admin_3"] for f in info["features"]] == [name]


@pytest.mark.parametrize("dataset", DATASETS)
def test_wms_getlegendgraphic(node, dataset: str) -> None:  # type: ignore[no-untyped-def]
    ctype, body = get(f"{node.base_url}/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetLegendGraphic&LAYER={dataset}"
                      "&FORMAT=image/png&SLD_VERSION=1.1.0")
    assert ctype == "image/png" and body[:4] == b"\x89PNG"


@pytest.mark.parametrize("dataset", VECTORS)
def test_wfs_getfeature_owslib(wfs, node, dataset: str) -> None:  # type: ignore[no-untyped-def]
    expected = node.layers[dataset]["feature_count"]
    typename = next(t for t in wfs.contents if t.split(":")[-1] == dataset)
    resp = wfs.getfeature(typename=[typename], outputFormat="geojson")
    fc = json.loads(resp.read())
    assert len(fc["features"]) == expected


@pytest.mark.parametrize("dataset", VECTORS)
def test_wfs_gdal(node, dataset: str) -> None:  # type: ignore[no-untyped-def]
    expected = node.layers[dataset]["feature_count"]
    out = subprocess.run(["ogrinfo", "-ro", "-so", f"WFS:{node.base_url}/ows", dataset],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"Feature Count: {expected}" in out.stdout, out.stdout[-1500:]


def _title_word(title: str) -> str:
    return max(re.findall(r"[А-ЩЬЮЯҐЄІЇа-щьюяґєії]{6,}", title), key=len)


@pytest.mark.parametrize("dataset", DATASETS)
def test_csw_finds_dataset_by_ukrainian_word(node, dataset: str) -> None:  # type: ignore[no-untyped-def]
    ds = CFG.dataset(dataset)
    word = _title_word(ds.title.uk)
    csw = CatalogueServiceWeb(node.base_url + "/csw", timeout=60)
    csw.getrecords2(constraints=[PropertyIsLike("csw:AnyText", f"%{word}%")], esn="full", maxrecords=50)
    titles = [r.title for r in csw.records.values()]
    assert ds.title.uk in titles, (word, titles)


def test_csw_iso_record_has_links_to_services(node) -> None:  # type: ignore[no-untyped-def]
    from metadata.records import record_id

    rid = record_id(CFG, "hromadas")
    csw = CatalogueServiceWeb(node.base_url + "/csw", timeout=60)
    csw.getrecordbyid(id=[rid], outputschema="http://www.isotc211.org/2005/gmd")
    rec = csw.records[rid]
    urls = " ".join(o.url for o in rec.distribution.online)
    assert f"{node.base_url}/ogcapi/collections/hromadas" in urls
    assert f"{node.base_url}/ows" in urls


def test_download_geopackage(node, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctype, body = get(node.base_url + "/downloads/hromadas.gpkg")
    assert ctype == "application/geopackage+sqlite3"
    p = tmp_path / "h.gpkg"
    p.write_bytes(body)
    out = subprocess.run(["ogrinfo", "-ro", "-so", str(p), "hromadas"], capture_output=True, text=True)
    assert "Feature Count: 6" in out.stdout


def test_wms_111_and_usk2000(node) -> None:  # type: ignore[no-untyped-def]
    wms111 = WebMapService(node.base_url + "/ows", version="1.1.1", timeout=60)
    assert "hromadas" in wms111.contents
    assert "EPSG:5563" in wms111.contents["hromadas"].crsOptions
    # USK-2000 / Gauss-Kruger zone 5 (EPSG:5563) covers Zhytomyr oblast
    from pyproj import Transformer

    b = node.layers["oblast-boundary"]["bbox"]
    tr = Transformer.from_crs("EPSG:4326", "EPSG:5563", always_xy=True)
    x0, y0, x1, y1 = tr.transform_bounds(*b)
    img = wms111.getmap(layers=["oblast-boundary"], styles=[""], srs="EPSG:5563", bbox=(x0, y0, x1, y1),
                        size=(200, 200), format="image/png", transparent=True)
    from PIL import Image

    im = Image.open(io.BytesIO(img.read())).convert("RGBA")
    assert im.getextrema()[3][1] > 0


def test_csw_transaction_needs_a_publisher_token(node) -> None:  # type: ignore[no-untyped-def]
    body = (b'<?xml version="1.0" encoding="UTF-8"?><csw:Transaction xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"'
            b' service="CSW" version="2.0.2"><csw:Delete><csw:Constraint version="1.1.0"><csw:CqlText>'
            b"dc:title like '%'</csw:CqlText></csw:Constraint></csw:Delete></csw:Transaction>")
    req = urllib.request.Request(node.base_url + "/csw", data=body, method="POST",
                                 headers={"Content-Type": "application/xml"})
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(req, timeout=30)
    assert ei.value.code == 401
    # nothing was deleted
    csw = CatalogueServiceWeb(node.base_url + "/csw", timeout=60)
    csw.getrecords2(maxrecords=100)
    assert csw.results["matches"] >= len(DATASETS)


def test_dcat_catalog_served(node) -> None:  # type: ignore[no-untyped-def]
    ctype, body = get(node.base_url + "/dcat.jsonld")
    cat = json.loads(body)
    assert ctype.startswith("application/ld+json")
    ids = {d["dct:identifier"].rsplit(".", 1)[1] for d in cat["dcat:dataset"]}
    assert ids == set(DATASETS) | {"hromada-passports", "decisions", "projects"}  # the register: decisions.publish


def test_oai_pmh_through_the_catalog(node) -> None:  # type: ignore[no-untyped-def]
    ctype, body = get(node.base_url + "/csw?mode=oaipmh&verb=ListRecords&metadataPrefix=oai_dc")
    text = body.decode("utf-8")
    assert "<ListRecords>" in text or "ListRecords" in text
    assert CFG.dataset("hromadas").title.uk in text


def test_ogc_api_records_over_the_catalog(node) -> None:  # type: ignore[no-untyped-def]
    from owslib.ogcapi.records import Records

    api = Records(node.base_url + "/ogcapi", timeout=60)
    items = api.collection_items("catalog", q="громади", limit=50)
    titles = [f["properties"].get("title") for f in items["features"]]
    assert CFG.dataset("hromadas").title.uk in titles


def test_csw_30(node) -> None:  # type: ignore[no-untyped-def]
    _, body = get(node.base_url + "/csw?service=CSW&request=GetCapabilities&acceptversions=3.0.0")
    assert b"http://www.opengis.net/cat/csw/3.0" in body
    _, body = get(node.base_url + "/csw?service=CSW&version=3.0.0&request=GetRecords&typeNames=csw:Record"
                  "&elementSetName=full&q=" + urllib.parse.quote("громади"))
    assert CFG.dataset("hromadas").title.uk in body.decode("utf-8")


@pytest.mark.parametrize("dataset", RASTERS)
def test_raster_is_a_cog_served_by_wms_with_its_cell_values(node, wms, dataset: str) -> None:  # type: ignore[no-untyped-def]
    """The GeoTIFF of the sample node: stored as a Cloud-Optimised GeoTIFF, drawn by WMS, GetFeatureInfo gives
    the value rasterio reads from the stored file, offered as a download, not offered as features."""
    import rasterio

    layer = node.layers[dataset]
    assert layer["location"]["backend"] == "cog"
    with rasterio.open(layer["location"]["path"]) as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        band = src.read(1, masked=True)
        row, col = [int(v) for v in __import__("numpy").unravel_index(band.argmax(), band.shape)]
        x, y = src.xy(row, col)
        expected = float(band[row, col])
    d = 0.005
    resp = wms.getfeatureinfo(layers=[dataset], srs="EPSG:4326", bbox=(x - d, y - d, x + d, y + d), size=(11, 11),
                              format="image/png", query_layers=[dataset], info_format="application/json", xy=(5, 5))
    values = [f["properties"] for f in json.loads(resp.read())["features"]]
    assert values and float(values[0]["value_0"]) == expected, values
    _, body = get(f"{node.base_url}/downloads/{dataset}.tif")
    assert body[:4] in (b"II*\x00", b"MM\x00*")
    with pytest.raises(urllib.error.HTTPError):
        get(f"{node.base_url}/ogcapi/collections/{dataset}?f=json")
