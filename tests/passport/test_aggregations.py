"""Every spatial aggregation (count, sum, length, area_inside, share_of_area, population_weighted) on the real
hromada boundaries, against an independent per-feature computation, on both paths.

The sample data has only points, so lines (roads by class), polygons (land by category) and points with
numbers (schools with pupils) are generated around the six real hromadas, ingested through the real pipeline
into GeoPackage and into PostGIS, and each passport number is recomputed here feature by feature: plain
shapely predicates, the parts projected with pyproj into the same equal-area CRS (``area_crs`` of the
passport config) *before* they are cut — the engines cut in EPSG:4326 and project the parts, so the two
orders agree only as closely as straight edges do in both spaces (well under 1e-4 at these sizes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
import yaml
from pyproj import Transformer

from geoportal.build import ingest_all
from geoportal.config import load_config
from geoportal.model import Workspace
from passport.compute_gpkg import GpkgEngine
from passport.compute_postgis import PostgisEngine
from passport.compute import compute
from passport.config import PassportConfig
from tests.conftest import derived_config

ROOT = Path(__file__).resolve().parents[2]
SHP = ROOT / "data/boundaries/hromadas_30km_russia_belarus.shp"
AREA_CRS = "+proj=laea +lat_0=50.6 +lon_0=28.5 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"

PASSPORT = f"""
area_crs: "{AREA_CRS}"
hromadas: {{dataset: hromadas, code_field: cod_3}}
indicators:
  - {{id: area_km2, title: {{uk: Площа, en: Area}}, aggregate: area, source: boundary, unit: {{uk: км², en: km²}}}}
  - {{id: roads_km, title: {{uk: Дороги, en: Roads}}, aggregate: length, source: roads, unit: {{uk: км, en: km}}}}
  - {{id: roads_state_km, title: {{uk: Дороги державні, en: State roads}}, aggregate: length, source: roads,
     filter: {{field: road_class, in: [М, Н]}}, unit: {{uk: км, en: km}}}}
  - {{id: forest_km2, title: {{uk: Ліси, en: Forest}}, aggregate: area_inside, source: land,
     filter: {{field: category, equals: ліс}}, unit: {{uk: км², en: km²}}}}
  - {{id: forest_share, title: {{uk: Лісистість, en: Forest cover}}, aggregate: share_of_area, source: land,
     filter: {{field: category, equals: ліс}}, unit: {{uk: "%", en: "%"}}}}
  - {{id: schools, title: {{uk: Школи, en: Schools}}, aggregate: count, source: schools,
     filter: {{field: kind, startswith: школа}}, unit: {{uk: од., en: units}}}}
  - {{id: pupils, title: {{uk: Учні, en: Pupils}}, aggregate: sum, source: schools, field: pupils,
     unit: {{uk: осіб, en: people}}}}
  - {{id: pupils_per_teacher, title: {{uk: Учнів на вчителя, en: Pupils per teacher}}, aggregate: population_weighted,
     source: schools, field: ratio, weight: teachers, unit: {{uk: осіб, en: people}}}}
"""
PCFG = PassportConfig.model_validate(yaml.safe_load(PASSPORT))


def _real_polygons() -> dict[str, shapely.Geometry]:
    _, _, wkb, (codes,) = pyogrio.raw.read(SHP, columns=["COD_3"])
    return {c: g for c, g in zip(codes, shapely.from_wkb(wkb)) if c and c.startswith("UA18")}


def _write(path: Path, geoms: list, fields: dict[str, list], gtype: str) -> None:
    pyogrio.raw.write(path, shapely.to_wkb(np.array(geoms, dtype=object)),
                      field_data=[np.array(v, dtype=object if isinstance(v[0], str) else float) for v in fields.values()],
                      fields=list(fields), geometry_type=gtype, crs="EPSG:4326", driver="GPKG", encoding="UTF-8",
                      dataset_options={"VERSION": "1.3"})


def _generate(out: Path) -> dict[str, tuple[list, dict[str, list]]]:
    """Roads, land parcels and schools over the six hromadas (and a little beyond), crossing their borders."""
    rng = np.random.default_rng(6)
    minx, miny, maxx, maxy = shapely.total_bounds(list(_real_polygons().values()))
    n = 600
    x0, y0 = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    roads = [shapely.LineString([(x, y), (x + dx, y + dy), (x + dx + ex, y + dy - ey)])
             for x, y, dx, dy, ex, ey in zip(x0, y0, *rng.uniform(-0.08, 0.08, (4, n)))]
    road_class = list(np.array(["М", "Н", "Р", "Т", "О"], dtype=object)[rng.integers(0, 5, n)])
    x1, y1 = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    land = [shapely.box(x, y, x + w, y + h) for x, y, w, h in zip(x1, y1, *rng.uniform(0.005, 0.05, (2, n)))]
    category = list(np.array(["ліс", "рілля", "луки"], dtype=object)[rng.integers(0, 3, n)])
    m = 1500
    schools = list(shapely.points(rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)))
    kind = list(np.array(["школа I-III ст.", "школа I ст.", "ліцей", "садок"], dtype=object)[rng.integers(0, 4, m)])
    pupils = [float(v) for v in rng.integers(10, 900, m)]
    teachers = [float(v) for v in rng.integers(1, 60, m)]
    layers = {"roads": (roads, {"road_class": road_class}, "LineString"),
              "land": (land, {"category": category}, "Polygon"),
              "schools": (schools, {"kind": kind, "pupils": pupils, "teachers": teachers,
                                    "ratio": [p / t for p, t in zip(pupils, teachers)]}, "Point")}
    for name, (geoms, fields, gtype) in layers.items():
        _write(out / f"{name}.gpkg", geoms, fields, gtype)
    return {k: (v[0], v[1]) for k, v in layers.items()}


def _node(base: Path, files: Path, storage: dict) -> Path:
    raw = yaml.safe_load((ROOT / "config/nodes/zhytomyr-oblast.yaml").read_text(encoding="utf-8"))
    keep = [d for d in raw["datasets"] if d["id"] in ("oblast-boundary", "hromadas")]
    for d in keep:
        d["source"] = str((ROOT / "config/nodes" / d["source"]).resolve())
    extra = [{"id": k, "source": str(files / f"{k}.gpkg"), "title": {"uk": k, "en": k},
              "abstract": {"uk": k, "en": k}} for k in ("roads", "land", "schools")]
    return derived_config(base / f"node-{storage['backend']}.yaml", storage=storage, datasets=keep + extra,
                          passport=None, children=[])


def _expected(synthetic: dict) -> dict[str, dict[str, float | None]]:
    """The indicators recomputed feature by feature, cut in the equal-area CRS."""
    tr = Transformer.from_crs("EPSG:4326", AREA_CRS, always_xy=True)

    def project(g: shapely.Geometry) -> shapely.Geometry:  # one feature at a time, vertex by vertex
        return shapely.transform(g, lambda xy: np.array([tr.transform(x, y) for x, y in xy]))

    roads, rfields = synthetic["roads"]
    land, lfields = synthetic["land"]
    schools, sfields = synthetic["schools"]
    proads, pland = [project(g) for g in roads], [project(g) for g in land]
    out: dict[str, dict[str, float | None]] = {}
    for code, poly in _real_polygons().items():
        pp = project(poly)
        e: dict[str, float | None] = {"area_km2": pp.area / 1e6, "roads_km": 0.0, "roads_state_km": 0.0,
                                      "forest_km2": 0.0, "schools": 0.0, "pupils": 0.0}
        for g, pg, cls in zip(roads, proads, rfields["road_class"]):
            if poly.intersects(g):
                km = pp.intersection(pg).length / 1e3
                e["roads_km"] += km  # type: ignore[operator]
                if cls in ("М", "Н"):
                    e["roads_state_km"] += km  # type: ignore[operator]
        for g, pg, cat in zip(land, pland, lfields["category"]):
            if cat == "ліс" and poly.intersects(g):
                e["forest_km2"] += pp.intersection(pg).area / 1e6  # type: ignore[operator]
        e["forest_share"] = e["forest_km2"] * 100 / e["area_km2"]  # type: ignore[operator]
        num = den = 0.0
        for i, g in enumerate(schools):
            if poly.intersects(g):
                if sfields["kind"][i].startswith("школа"):
                    e["schools"] += 1  # type: ignore[operator]
                e["pupils"] += sfields["pupils"][i]  # type: ignore[operator]
                num += sfields["ratio"][i] * sfields["teachers"][i]
                den += sfields["teachers"][i]
        e["pupils_per_teacher"] = num / den if den else None
        out[code] = e
    return out


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    files = tmp_path_factory.mktemp("synthetic")
    return files, _generate(files)


@pytest.fixture(scope="module")
def gpkg_result(synthetic, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    files, _ = synthetic
    base = tmp_path_factory.mktemp("agg-gpkg")
    cfg = load_config(_node(base, files, {"backend": "geopackage"}))
    layers = ingest_all(cfg, Workspace(base / "ws").ensure())
    return compute(cfg, PCFG, layers, GpkgEngine())


def test_spatial_aggregations_against_a_per_feature_computation(gpkg_result, synthetic) -> None:  # type: ignore[no-untyped-def]
    expected = _expected(synthetic[1])
    assert len(expected) == 6
    for code, e in expected.items():
        for ind, want in e.items():
            got = gpkg_result.values[ind][code].value
            assert got == pytest.approx(want, rel=1e-4, abs=1e-6), (ind, code, got, want)
    # the generated layers really cross the hromadas: nothing here is trivially zero
    assert all(e["roads_state_km"] > 0 and e["forest_share"] > 0 and e["schools"] > 0 for e in expected.values())
    # hromadas without a polygon: no spatial values, and not zero
    assert sum(v.value is None for v in gpkg_result.values["roads_km"].values()) == 60


@pytest.mark.postgis
def test_postgis_path_gives_the_same_numbers(gpkg_result, synthetic, postgis_dsn,  # type: ignore[no-untyped-def]
                                             tmp_path: Path) -> None:
    import psycopg

    files, _ = synthetic
    with psycopg.connect(postgis_dsn, autocommit=True) as c:
        c.execute("CREATE SCHEMA IF NOT EXISTS passport_agg")
    cfg = load_config(_node(tmp_path, files, {"backend": "postgis", "dsn": postgis_dsn, "schema": "passport_agg"}))
    layers = ingest_all(cfg, Workspace(tmp_path / "ws").ensure())
    assert {layers[k].backend for k in ("hromadas", "roads", "land", "schools")} == {"postgis"}
    pg = compute(cfg, PCFG, layers, PostgisEngine(postgis_dsn))
    for ind in PCFG.indicators:
        for code, v in gpkg_result.values[ind.id].items():
            a, b = v.value, pg.values[ind.id][code].value
            if a is None or b is None:
                assert a is b, (ind.id, code)
            else:
                assert b == pytest.approx(a, rel=1e-9, abs=1e-9), (ind.id, code)
            assert pg.values[ind.id][code].source == v.source
