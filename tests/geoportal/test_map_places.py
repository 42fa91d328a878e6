"""The place search of the map viewer (``/map/places?q=``) and the viewer's HTTP answers, on the served sample
node: what a person types — lower case, Latin transliteration, another apostrophe, a Latin look-alike letter —
finds the place, and the map is sent to where the node's own boundaries put it (read independently from the
node's GeoJSON download)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from shapely.geometry import shape

from geoportal.map_places import Place, PlaceIndex


def _places(base: str, q: str) -> list[dict[str, Any]]:
    r = requests.get(f"{base}/map/places", params={"q": q}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()["places"]


@pytest.fixture(scope="module")
def ovruch_hromada(demo_node) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    doc = requests.get(f"{demo_node.base_url}/downloads/hromadas.geojson", timeout=60).json()
    feature = next(f for f in doc["features"] if f["properties"]["admin_3"] == "Овруцька")
    return shape(feature["geometry"]).bounds


@pytest.mark.parametrize("q", ["ovruch", "овруч", "ОВРУЧ", "Ovruch", "Овpуч"])  # the last with a Latin 'p'
def test_ovruch_is_found_however_it_is_typed(demo_node, ovruch_hromada, q: str) -> None:  # type: ignore[no-untyped-def]
    places = _places(demo_node.base_url, q)
    first = places[0]
    assert first["name"] == "Овруч" and first["name_en"] == "Ovruch"
    assert first["kind"]["uk"] == "місто, Овруцька громада"
    # the codifier has no coordinates: the town is shown as its hromada, whose bounds the node publishes
    assert first["bbox"] == pytest.approx(list(ovruch_hromada), abs=1e-4)
    assert any(p["name"] == "Овруцька" for p in places)  # the hromada itself, by the stem of the word


@pytest.mark.parametrize("q", ["кам’янка", "кам'янка", "камʼянка", "kamianka"])
def test_apostrophe_variants_find_the_same_village(demo_node, q: str) -> None:  # type: ignore[no-untyped-def]
    names = [p["name"] for p in _places(demo_node.base_url, q)]
    assert "Гладковицька Кам’янка" in names, names


def test_a_river_of_the_geographic_names_is_found_with_its_point(demo_node) -> None:  # type: ignore[no-untyped-def]
    doc = requests.get(f"{demo_node.base_url}/downloads/geographic-names.geojson", timeout=60).json()
    teteriv = [f for f in doc["features"] if f["properties"]["unormovana_nazva"] == "Тетерів"]
    assert teteriv
    hit = next(p for p in _places(demo_node.base_url, "teteriv") if p["name"] == "Тетерів")
    lon, lat = teteriv[0]["geometry"]["coordinates"][:2]
    assert hit["bbox"][0] <= lon + 1e-4 and hit["bbox"][2] >= lon - 1e-4
    assert hit["bbox"][1] <= lat + 1e-4 and hit["bbox"][3] >= lat - 1e-4


def test_bad_requests_are_4xx_with_what_to_do(demo_node) -> None:  # type: ignore[no-untyped-def]
    base = demo_node.base_url
    for params in ({}, {"q": ""}, {"q": "   "}, {"q": "x" * 101}):
        r = requests.get(f"{base}/map/places", params=params, timeout=60)
        assert r.status_code == 400, (params, r.status_code)
        assert "q" in r.json()["error"]
    r = requests.get(f"{base}/map/places?q=a&q=b", timeout=60)
    assert r.status_code == 400
    assert _places(base, "zzzzqqq") == []
    r = requests.get(f"{base}/map/?lang=fr", timeout=60)
    assert r.status_code == 400 and "'uk'" in r.text and "'en'" in r.text
    assert requests.get(f"{base}/map/nothing", timeout=60).status_code == 404
    assert requests.get(f"{base}/map/static/../../pyproject.toml", timeout=60).status_code == 404
    assert requests.post(f"{base}/map/places?q=ovruch", timeout=60).status_code == 405


def test_the_page_and_its_bundle_are_served_in_ukrainian_and_english(demo_node) -> None:  # type: ignore[no-untyped-def]
    base = demo_node.base_url
    uk = requests.get(f"{base}/map", timeout=60)
    assert uk.status_code == 200 and '<html lang="uk">' in uk.text and "Шари" in uk.text
    en = requests.get(f"{base}/map/?lang=en", timeout=60)
    assert '<html lang="en">' in en.text and "Layers" in en.text
    config = json.loads(re.search(r'<script type="application/json" id="map-config">(.*?)</script>', en.text,
                                  re.S).group(1))
    assert config["ows"] == "/ows" and config["places"] == "/map/places"
    assert config["tiles"].startswith("/tiles/") and "hromadas" in config["tiles"]
    assert config["titles"]["hromadas"].startswith("Territorial communities")
    for name, ctype in (("map.js", "text/javascript"), ("map.css", "text/css")):
        r = requests.get(f"{base}/map/static/{name}", timeout=60)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(ctype), (name, r.headers)
    # nothing on the page comes from another host
    assert not re.search(r'(src|href)="(https?:)?//', uk.text)


def test_landing_and_dataset_pages_open_the_map(demo_node) -> None:  # type: ignore[no-untyped-def]
    base = demo_node.base_url
    landing = requests.get(f"{base}/", timeout=60).text
    assert f'href="{base}/map/"' in landing
    assert f'href="{base}/map/#layers=hromadas"' in landing
    page = requests.get(f"{base}/datasets/geographic-names/", timeout=60).text
    assert f'<a href="{base}/map/#layers=geographic-names">Відкрити на карті' in page


def test_index_ranks_whole_names_first_and_merges_duplicates() -> None:
    box = (28.0, 51.0, 29.0, 52.0)
    idx = PlaceIndex([
        Place("Овруцький", "Ovrutskyi", "заказник", "reserve", (28.5, 51.3, 28.5, 51.3)),
        Place("Овруч", "Ovruch", "місто", "city", box, rank=0),
        Place("Овруцька", "Ovrutska", "громада", "hromada", box),
        Place("Овруцька", "Ovrutska", "паспорт", "passport", box),  # the same hromada in another dataset
        Place("Уж", "Uzh", "річка", "river", (28.1, 51.1, 28.1, 51.1)),
        Place("Уж", "Uzh", "річка", "river", (30.1, 51.1, 30.1, 51.1)),  # registered in two oblasts
    ])
    assert [p.name for p in idx.search("ovruch")] == ["Овруч", "Овруцька", "Овруцький"]
    assert [p.name for p in idx.search("уж")] == ["Уж"]
    assert idx.search("") == [] and idx.search("'’") == []
