"""OGC API Features as a web developer uses it, on the GeoPackage node and on the PostGIS node:
CQL2 text and JSON filters, bbox and bbox-crs, crs, sorting, property selection, paging, queryables,
HTML pages that work offline. Counts are checked against an independent read of the stored layer."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
import shapely
from pyproj import Transformer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["geopackage", "postgis"])
def node(request):  # type: ignore[no-untyped-def]
    return request.getfixturevalue("demo_node" if request.param == "geopackage" else "postgis_node")


def items(node, collection: str, **params) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    q = urllib.parse.urlencode({"f": "json", "limit": 5000, **params})
    with urllib.request.urlopen(f"{node.base_url}/ogcapi/collections/{collection}/items?{q}", timeout=60) as r:
        return json.loads(r.read()), dict(r.headers)


@pytest.fixture(scope="module")
def places(demo_node) -> list[tuple[int, str, object]]:  # type: ignore[no-untyped-def]
    """(fid, name, geometry) of the nature-protection sites, read straight from the GeoPackage."""
    from pyogrio.raw import read

    lyr = demo_node.layers["nature-protection"]
    _, fids, geoms, fields = read(lyr["location"]["path"], layer="nature-protection", columns=["unormovana_nazva"],
                                  return_fids=True)
    return [(int(f), n, g) for f, n, g in zip(fids, fields[0], shapely.from_wkb(geoms))]


def test_cql2_text_equality_in_ukrainian(node) -> None:  # type: ignore[no-untyped-def]
    fc, _ = items(node, "hromadas", **{"filter": "admin_3 = 'Овруцька'", "filter-lang": "cql2-text"})
    assert [f["properties"]["admin_3"] for f in fc["features"]] == ["Овруцька"]


def test_cql2_text_like_and_spatial(node, places) -> None:  # type: ignore[no-untyped-def]
    box = (28.0, 50.5, 29.0, 51.2)
    poly = f"POLYGON(({box[0]} {box[1]}, {box[2]} {box[1]}, {box[2]} {box[3]}, {box[0]} {box[3]}, {box[0]} {box[1]}))"
    fc, _ = items(node, "nature-protection",
                  **{"filter": f"S_INTERSECTS(geom, {poly}) AND unormovana_nazva LIKE 'С%'",
                     "filter-lang": "cql2-text"})
    expected = {fid for fid, name, g in places if name.startswith("С") and shapely.intersects(g, shapely.box(*box))}
    assert expected and {int(f["id"]) for f in fc["features"]} == expected


def test_cql2_json_on_get(node) -> None:  # type: ignore[no-untyped-def]
    flt = {"op": "in", "args": [{"property": "admin_3"}, ["Олевська", "Лугинська"]]}
    fc, _ = items(node, "hromadas", **{"filter": json.dumps(flt, ensure_ascii=False), "filter-lang": "cql2-json"})
    assert sorted(f["properties"]["admin_3"] for f in fc["features"]) == ["Лугинська", "Олевська"]


def test_ecql_text_still_works(node) -> None:  # type: ignore[no-untyped-def]
    fc, _ = items(node, "hromadas", **{"filter": "admin_3 <> 'Овруцька'", "filter-lang": "cql-text"})
    assert len(fc["features"]) == 5


def test_bad_filter_is_a_400(node) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(urllib.error.HTTPError) as ei:
        items(node, "hromadas", **{"filter": "admin_3 = = 'x'", "filter-lang": "cql2-text"})
    assert ei.value.code == 400


def test_bbox_matches_an_independent_count(node, places) -> None:  # type: ignore[no-untyped-def]
    box = (27.5, 50.0, 28.8, 51.0)
    fc, _ = items(node, "nature-protection", bbox=",".join(map(str, box)))
    expected = {fid for fid, _, g in places if shapely.intersects(g, shapely.box(*box))}
    assert {int(f["id"]) for f in fc["features"]} == expected
    assert fc.get("numberMatched", len(expected)) == len(expected)


def test_bbox_crs_and_crs_web_mercator(node, places) -> None:  # type: ignore[no-untyped-def]
    box = (27.5, 50.0, 28.8, 51.0)
    tr = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    x0, y0 = tr.transform(box[0], box[1])
    x1, y1 = tr.transform(box[2], box[3])
    fc, headers = items(node, "nature-protection", bbox=f"{x0},{y0},{x1},{y1}",
                        **{"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
                           "crs": "http://www.opengis.net/def/crs/EPSG/0/3857"})
    expected = {fid for fid, _, g in places if shapely.intersects(g, shapely.box(*box))}
    assert {int(f["id"]) for f in fc["features"]} == expected
    assert "3857" in headers.get("Content-Crs", "")
    x, y = fc["features"][0]["geometry"]["coordinates"]
    assert 3.0e6 < x < 3.4e6 and 6.3e6 < y < 6.8e6  # metres, Zhytomyr oblast


def test_sortby_properties_and_paging(node) -> None:  # type: ignore[no-untyped-def]
    fc, _ = items(node, "hromadas", sortby="-admin_3", properties="admin_3")
    names = [f["properties"]["admin_3"] for f in fc["features"]]
    assert names == sorted(names, reverse=True)
    assert all(set(f["properties"]) == {"admin_3"} for f in fc["features"])
    seen = []
    for offset in range(0, 6, 2):
        page, _ = items(node, "hromadas", limit=2, offset=offset, sortby="admin_3")
        seen += [f["properties"]["admin_3"] for f in page["features"]]
    assert seen == sorted(names)


def test_item_by_id_and_queryables(node) -> None:  # type: ignore[no-untyped-def]
    fc, _ = items(node, "hromadas", limit=1)
    fid = fc["features"][0]["id"]
    with urllib.request.urlopen(f"{node.base_url}/ogcapi/collections/hromadas/items/{fid}?f=json", timeout=30) as r:
        assert json.loads(r.read())["id"] == fid
    with urllib.request.urlopen(f"{node.base_url}/ogcapi/collections/hromadas/queryables?f=json", timeout=30) as r:
        q = json.loads(r.read())
    assert {"admin_3", "cod_3"} <= set(q["properties"])


def test_html_pages_use_the_nodes_own_leaflet(demo_node) -> None:  # type: ignore[no-untyped-def]
    with urllib.request.urlopen(f"{demo_node.base_url}/ogcapi/collections/hromadas/items?f=html", timeout=30) as r:
        html = r.read().decode("utf-8")
    assert "unpkg.com" not in html and "/ogcapi/static/vendor/leaflet/dist/leaflet.js" in html
    with urllib.request.urlopen(f"{demo_node.base_url}/ogcapi/static/vendor/leaflet/dist/leaflet.js", timeout=30) as r:
        assert r.status == 200 and len(r.read()) > 10000
