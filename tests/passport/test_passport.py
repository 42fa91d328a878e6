"""Hromada passports: the numbers against an independent computation on the real data, the same numbers
from GeoPackage and from PostGIS, provenance, versions over time, and what a citizen opens."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import pytest
import shapely
from pyproj import Geod

from geoportal.build import ingest_all
from geoportal.config import load_config
from geoportal.model import Workspace
from passport.compute_gpkg import GpkgEngine
from passport.compute_postgis import PostgisEngine
from passport.build import build_passport
from passport.compute import compute
from passport.config import load_passport_config

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config/nodes/zhytomyr-oblast.yaml"
PCFG = load_passport_config(ROOT / "config/passport.yaml")
DATA = ROOT / "data"


@pytest.fixture(scope="module")
def gpkg_node(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    cfg = load_config(CONFIG)
    ws = Workspace(tmp_path_factory.mktemp("pp") / "ws").ensure()
    return cfg, ws, ingest_all(cfg, ws)


@pytest.fixture(scope="module")
def result(gpkg_node):  # type: ignore[no-untyped-def]
    cfg, ws, layers = gpkg_node
    return compute(cfg, PCFG, layers, GpkgEngine())


def _polygons() -> dict[str, object]:
    """The hromada polygons straight from the source shapefile (an independent read)."""
    import pyogrio.raw

    _, _, wkb, (codes,) = pyogrio.raw.read(DATA / "boundaries/hromadas_30km_russia_belarus.shp", columns=["COD_3"])
    return {c: g for c, g in zip(codes, shapely.from_wkb(wkb)) if c and c.startswith("UA18")}


def _points(path: Path) -> list[tuple[object, dict]]:
    fc = json.loads(path.read_text(encoding="utf-8"))
    return [(shapely.geometry.shape(f["geometry"]), f["properties"]) for f in fc["features"]]


def test_every_hromada_of_the_oblast_has_a_passport(result) -> None:  # type: ignore[no-untyped-def]
    assert len(result.hromadas) == 66
    names = {h.katotth: h.name_uk for h in result.hromadas}
    assert names["UA18060170000069581"] == "Овруцька"  # spelling from the codifier, not the polygons


def test_area_against_geodesic_area(result) -> None:  # type: ignore[no-untyped-def]
    geod = Geod(ellps="WGS84")
    polys = _polygons()
    for code, poly in polys.items():
        expected = abs(geod.geometry_area_perimeter(poly)[0]) / 1e6
        assert result.values["area_km2"][code].value == pytest.approx(expected, rel=2e-3), code
    # hromadas without a polygon get no area, and say why
    other = next(h for h in result.hromadas if h.katotth not in polys)
    assert result.values["area_km2"][other.katotth].value is None


def test_counts_against_a_point_in_polygon_loop(result) -> None:  # type: ignore[no-untyped-def]
    polys = _polygons()
    sites = _points(DATA / "geonames-ua/pzo-zytomyrska.geojson")
    names = _points(DATA / "geonames-ua/fiz-geo-zhytomyrska.geojson")
    for code, poly in polys.items():
        inside = [p for g, p in sites if poly.intersects(g)]
        assert result.values["nature_sites"][code].value == len(inside), code
        national = [p for p in inside if p["Адміністративний статус"] == "загальнодержавного значення"]
        assert result.values["nature_sites_national"][code].value == len(national), code
        rivers = [p for g, p in names if poly.intersects(g) and p["Вид географічного об'єкту"].startswith("річка")]
        assert result.values["rivers"][code].value == len(rivers), code


def test_table_indicators_against_the_csv(result) -> None:  # type: ignore[no-untyped-def]
    with open(DATA / "katotth/ua-pop-2022_UA18_zhytomyr.csv", encoding="utf-8") as f:
        pop = {r["hromada_code"]: r for r in csv.DictReader(f)}
    with open(DATA / "katotth/kodifikator-16-05-2025_UA18_zhytomyr.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter=";"))[1:]
    for h in result.hromadas:
        assert result.values["population_total"][h.katotth].value == float(pop[h.katotth]["total_population_2022"])
        villages = sum(1 for r in rows if r[2] == h.katotth and r[5] == "C")
        assert result.values["settlements_villages"][h.katotth].value == villages
    total = sum(v.value for v in result.values["population_total"].values())
    assert 1_100_000 < total < 1_250_000  # Zhytomyr oblast, 1 Jan 2022


def test_every_value_has_provenance(result, gpkg_node) -> None:  # type: ignore[no-untyped-def]
    _, _, layers = gpkg_node
    v = result.values["nature_sites"]["UA18060190000071101"]
    assert v.source == "nature-protection" and v.version.startswith(f"v{layers['nature-protection'].version} ")
    assert v.loaded_at == layers["nature-protection"].loaded_at
    p = result.values["population_total"]["UA18060190000071101"]
    assert p.source == "ua-pop-2022_UA18_zhytomyr.csv" and p.version.startswith("sha256:")


@pytest.mark.postgis
def test_postgis_gives_the_same_numbers(result, postgis_dsn, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import yaml

    raw = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    raw["storage"] = {"backend": "postgis", "dsn": postgis_dsn, "schema": "public"}
    cfg_path = CONFIG.parent / f".test-passport-pg-{tmp_path.name}.yaml"
    cfg_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    try:
        cfg = load_config(cfg_path)
        ws = Workspace(tmp_path / "ws").ensure()
        layers = ingest_all(cfg, ws)
        assert layers["hromadas"].backend == "postgis"
        pg = compute(cfg, PCFG, layers, PostgisEngine(postgis_dsn))
    finally:
        cfg_path.unlink(missing_ok=True)
    for ind in PCFG.indicators:
        for h in result.hromadas:
            a, b = result.values[ind.id][h.katotth].value, pg.values[ind.id][h.katotth].value
            if a is None or b is None:
                assert a is b, (ind.id, h.katotth)
            else:
                assert b == pytest.approx(a, rel=1e-6, abs=1e-9), (ind.id, h.katotth)


def test_versions_are_kept_after_a_new_ingest(gpkg_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ingest import load_dataset
    from passport.store import history

    from tests.conftest import derived_config
    from tests.passport.raion import raion_node

    _, ws, _ = gpkg_node
    cfg = load_config(derived_config(tmp_path / "raion.yaml", node=raion_node()))  # 13 hromadas' pages, not 66
    ws2 = Workspace(tmp_path / "ws").ensure()
    shutil.copytree(ws.root, ws2.root, dirs_exist_ok=True)
    ds1, l1 = build_passport(cfg, ws2, ws2.read_layers())  # type: ignore[misc]
    _, again = build_passport(cfg, ws2, ws2.read_layers())  # type: ignore[misc]
    assert again.version == l1.version  # nothing changed: not recomputed
    load_dataset(cfg, cfg.dataset("nature-protection"), ws2, force=True)  # a new version of a source
    _, l2 = build_passport(cfg, ws2, ws2.read_layers())  # type: ignore[misc]
    assert l2.version == l1.version + 1
    rows = history(Path(l2.location.path), "UA18060190000071101", "nature_sites")
    assert len(rows) == 2 and rows[0]["value"] == rows[1]["value"] == 29
    assert rows[0]["source_version"] != rows[1]["source_version"]


def test_served_passports(demo_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = demo_node.base_url
    with urllib.request.urlopen(f"{base}/ogcapi/collections/hromada-passports/items/UA18060190000071101?f=json") as r:
        item = json.loads(r.read())
    assert item["id"] == "UA18060190000071101" and item["properties"]["name_uk"] == "Олевська"
    assert item["properties"]["nature_sites"] == 29
    with urllib.request.urlopen(f"{base}/ogcapi/collections/hromada-passports/items?f=json&limit=100") as r:
        assert json.loads(r.read())["numberMatched"] == 66
    with urllib.request.urlopen(f"{base}/passport/passports.csv") as r:
        text = r.read().decode("utf-8")
    assert text.startswith("\ufeff") and len(text.strip().splitlines()) == 67
    with urllib.request.urlopen(f"{base}/passport/UA18060190000071101.json") as r:
        doc = json.loads(r.read())
    assert doc["indicators"]["area_km2"]["rank"] == 1 and doc["indicators"]["area_km2"]["of"] == 6
    from metadata.records import record_id
    from owslib.csw import CatalogueServiceWeb

    csw = CatalogueServiceWeb(f"{base}/csw", timeout=60)
    rid = record_id(load_config(CONFIG), "hromada-passports")
    csw.getrecordbyid(id=[rid])
    assert rid in csw.records


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed")
def test_html_page_renders_in_chromium(demo_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    shot = tmp_path / "passport.png"
    profile = tempfile.mkdtemp()
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", "--window-size=412,915", f"--screenshot={shot}",
                    f"{demo_node.base_url}/passport/UA18060190000071101.html"],
                   capture_output=True, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    im = Image.open(shot).convert("RGB")
    colours = len(im.resize((103, 229)).getcolors(maxcolors=1 << 20) or [])
    assert colours > 50, f"the page looks blank ({colours} colours)"
