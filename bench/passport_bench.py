"""Benchmark: hromada passports of the whole oblast (66 hromadas) over a generated 1,000,000-point layer and a
100,000-polygon layer, on the GeoPackage path and the PostGIS path, in the same run. Not a timed test.

The 66 hromada polygons are a Voronoi partition of the real oblast outline (only 6 real polygons are
available offline), carrying the 66 real KATOTTH codes of the codifier. Prints the wall time of each
path and checks that both give the same numbers. Target (issue #6): < 10 s for the oblast on PostGIS.

    .venv/bin/python bench/passport_bench.py [--points 1000000] [--polygons 100000] [--dsn postgresql://…]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def generate(out: Path, n_points: int, n_polys: int) -> dict[str, Path]:
    import pyogrio.raw
    import shapely

    from passport.compute import read_codifier

    out.mkdir(parents=True, exist_ok=True)
    files = {"hromadas": out / "hromadas.gpkg", "points": out / f"points_{n_points}.gpkg",
             "parcels": out / f"parcels_{n_polys}.gpkg"}
    rng = np.random.default_rng(66)
    outline = shapely.from_geojson((ROOT / "data/boundaries/UA_18_Zhytomyrska.geojson").read_text())
    minx, miny, maxx, maxy = outline.bounds
    if not files["hromadas"].exists():
        codes = [r["l3"] for r in read_codifier(ROOT / "data/katotth/kodifikator-16-05-2025_UA18_zhytomyr.csv")
                 if r["category"] == "H"]
        seeds = []
        while len(seeds) < len(codes):
            p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if outline.contains(p):
                seeds.append(p)
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=outline.envelope))
        # match each cell to its seed, so codes are stable
        polys = [shapely.intersection(next(c for c in cells if c.contains(s)), outline) for s in seeds]
        polys = [p if p.geom_type == "MultiPolygon" else shapely.MultiPolygon([p]) for p in polys]
        pyogrio.raw.write(files["hromadas"], shapely.to_wkb(np.array(polys, dtype=object)),
                          field_data=[np.array(codes, dtype=object)], fields=["cod_3"], geometry_type="MultiPolygon",
                          crs="EPSG:4326", driver="GPKG", encoding="UTF-8", dataset_options={"VERSION": "1.3"})
    if not files["points"].exists():
        chunk = 250_000
        for start in range(0, n_points, chunk):
            m = min(chunk, n_points - start)
            pts = shapely.points(rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m))
            kinds = np.array(["школа", "лікарня", "підприємство", "пам'ятка"], dtype=object)[rng.integers(0, 4, m)]
            pyogrio.raw.write(files["points"], shapely.to_wkb(pts), field_data=[kinds, rng.uniform(0, 100, m)],
                              fields=["kind", "value"], geometry_type="Point", crs="EPSG:4326", driver="GPKG",
                              encoding="UTF-8", append=start > 0, dataset_options={"VERSION": "1.3"})
    if not files["parcels"].exists():
        x, y = rng.uniform(minx, maxx, n_polys), rng.uniform(miny, maxy, n_polys)
        boxes = shapely.box(x, y, x + 0.004, y + 0.003)
        classes = np.array(["ліс", "рілля", "забудова"], dtype=object)[rng.integers(0, 3, n_polys)]
        pyogrio.raw.write(files["parcels"], shapely.to_wkb(boxes), field_data=[classes], fields=["land_class"],
                          geometry_type="Polygon", crs="EPSG:4326", driver="GPKG", encoding="UTF-8",
                          dataset_options={"VERSION": "1.3"})
    return files


PASSPORT = """
area_crs: "+proj=laea +lat_0=50.6 +lon_0=28.5 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"
hromadas: {dataset: hromadas, code_field: cod_3}
indicators:
  - {id: area_km2, title: {uk: Площа, en: Area}, aggregate: area, source: boundary, unit: {uk: км², en: km²}}
  - {id: population, title: {uk: Населення, en: Population}, aggregate: lookup, source: "table:population",
     field: total_population_2022, unit: {uk: осіб, en: people}}
  - {id: objects, title: {uk: Об'єкти, en: Objects}, aggregate: count, source: points, unit: {uk: од., en: units}}
  - {id: schools, title: {uk: Школи, en: Schools}, aggregate: count, source: points,
     filter: {field: kind, equals: школа}, unit: {uk: од., en: units}}
  - {id: value_sum, title: {uk: Сума, en: Sum}, aggregate: sum, source: points, field: value, unit: {uk: од., en: units}}
  - {id: parcels, title: {uk: Ділянки, en: Parcels}, aggregate: count, source: parcels, unit: {uk: од., en: units}}
  - {id: forest_km2, title: {uk: Ліс, en: Forest}, aggregate: area_inside, source: parcels,
     filter: {field: land_class, equals: ліс}, unit: {uk: км², en: km²}}
  - {id: forest_share, title: {uk: Лісистість, en: Forest cover}, aggregate: share_of_area, source: parcels,
     filter: {field: land_class, equals: ліс}, unit: {uk: "%", en: "%"}}
"""


def main() -> None:
    import psycopg
    import yaml

    from geoportal.build import ingest_all
    from geoportal.config import load_config
    from geoportal.model import Workspace
    from passport.compute_gpkg import GpkgEngine
    from passport.compute_postgis import PostgisEngine
    from passport.compute import compute
    from passport.config import PassportConfig

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--polygons", type=int, default=100_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/geoportal-bench-passport"))
    ap.add_argument("--dsn", default=os.environ.get("GEOPORTAL_BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"))
    a = ap.parse_args()
    files = generate(a.dir, a.points, a.polygons)
    pcfg = PassportConfig.model_validate(yaml.safe_load(PASSPORT))
    with psycopg.connect(a.dsn, autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = 'geoportal_bench_passport'").fetchone():
            c.execute("CREATE DATABASE geoportal_bench_passport")
    dsn = a.dsn.rsplit("/", 1)[0] + "/geoportal_bench_passport"
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    results = {}
    for backend in ("geopackage", "postgis"):
        raw = {"node": {"id": "bench-oblast", "level": "oblast", "katotth": "UA18000000000041385",
                        "name": {"uk": "Житомирська область", "en": "Zhytomyr oblast"},
                        "contact": {"organisation": {"uk": "Тест", "en": "Test"}, "email": "bench@example.org"}},
               "storage": {"backend": backend, **({"dsn": dsn} if backend == "postgis" else {})},
               "reference": {"codifier": str(ROOT / "data/katotth/kodifikator-16-05-2025_UA18_zhytomyr.csv"),
                             "population": str(ROOT / "data/katotth/ua-pop-2022_UA18_zhytomyr.csv")},
               "datasets": [{"id": k, "source": str(v), "title": {"uk": k, "en": k}, "abstract": {"uk": k, "en": k}}
                            for k, v in files.items()]}
        cfg_path = a.dir / f"bench-{backend}.yaml"
        cfg_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        cfg = load_config(cfg_path)
        ws = Workspace(a.dir / f"ws-{backend}").ensure()
        t = time.perf_counter()
        layers = ingest_all(cfg, ws, progress=lambda m: print("  " + m, file=sys.stderr))
        print(f"{backend}: ingest (or reuse) of the layers {time.perf_counter() - t:.1f} s", file=sys.stderr)
        engine = GpkgEngine() if backend == "geopackage" else PostgisEngine(dsn)
        t = time.perf_counter()
        res = compute(cfg, pcfg, layers, engine)
        results[backend] = (time.perf_counter() - t, res)
    print(f"\nPassports of 66 hromadas over {a.points:,} points and {a.polygons:,} polygons "
          f"({len(pcfg.indicators)} indicators)")
    for backend, (secs, _) in results.items():
        print(f"  {backend:<11} {secs:7.2f} s")
    print(f"  PostGIS target < 10 s: {'met' if results['postgis'][0] < 10 else 'NOT met'}")
    g, p = results["geopackage"][1], results["postgis"][1]
    worst = max(abs((g.values[i.id][c].value or 0) - (p.values[i.id][c].value or 0)) /
                max(abs(g.values[i.id][c].value or 0), 1e-9) for i in pcfg.indicators for c in g.values[i.id])
    print(f"  largest relative difference between the paths: {worst:.2e}")
    print(json.dumps({k: round(v[0], 3) for k, v in results.items()}))


if __name__ == "__main__":
    main()
