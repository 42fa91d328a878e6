"""Benchmark: our ingest (validate, repair, normalise, store atomically) against a plain ``ogr2ogr``
conversion of the same file, in the same run. Not a timed test.

Generates (once, cached in --dir) a polygon layer and a point layer of N features (default 1,000,000) as
Shapefile and GeoJSON with pyogrio, then for each file: ogr2ogr → GPKG, ours → GPKG, ogr2ogr → PostGIS,
ours → PostGIS (when --dsn is given). Prints wall time, peak memory (max RSS of the child) and the ratio
ours / ogr2ogr. Each run is a child process, so peak memory is measured per run. On a shared machine, use
``--repeat N``: ogr2ogr and ours then alternate N times and the medians are printed (with the spread), so
a burst of load from other processes does not decide the ratio.

    .venv/bin/python bench/ingest_bench.py --n 1000000 --dsn postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
PY = sys.executable


def generate(kind: str, n: int, out: Path, driver: str) -> None:
    import pyogrio
    import shapely

    if out.exists():
        return
    rng = np.random.default_rng(1)
    chunk = 250_000
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        x, y = rng.uniform(27.2, 29.6, m), rng.uniform(49.6, 51.6, m)
        if kind == "polygon":
            geoms = shapely.buffer(shapely.points(x, y), 0.002, quad_segs=2)
            bad = rng.random(m) < 0.001  # a few bow-ties to repair
            bow = shapely.polygons(np.stack([np.column_stack([x, y]), np.column_stack([x + .002, y + .002]),
                                             np.column_stack([x + .002, y]), np.column_stack([x, y + .002]),
                                             np.column_stack([x, y])], axis=1))
            geoms[bad] = bow[bad]
        else:
            geoms = shapely.points(x, y)
        ids = np.arange(start, start + m)
        names = np.array([f"Об'єкт {i}" if i % 97 else f"Овpуцькa {i}" for i in ids], dtype=object)
        pyogrio.raw.write(out, shapely.to_wkb(geoms), field_data=[ids, names, rng.uniform(0, 100, m)],
                          fields=["id", "nazva", "area"], geometry_type="Polygon" if kind == "polygon" else "Point",
                          crs="EPSG:4326", driver=driver, encoding="UTF-8", append=start > 0)


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of a child process."""
    # /usr/bin/time measures the exec'd program only (a forked child's maxrss would include the parent's)
    mem = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-maxrss-{os.getpid()}"
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(mem), *cmd], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        err = p.stderr.decode(errors="replace").strip().splitlines()[-1:]
        print(f"# FAILED: {' '.join(cmd[:3])}…: {err}", flush=True)
        return wall, float("nan")
    return wall, int(mem.read_text().split()[-1]) / 1024


def paired(ogr_cmd: list[str], ours_cmd: list[str], repeat: int, env: dict[str, str], before: Any = None) -> tuple:
    """ogr2ogr and ours run alternately ``repeat`` times; the median (wall, MB) of each and the spread."""
    ogr, ours = [], []
    for _ in range(repeat):
        if before:
            before()
        ogr.append(run(ogr_cmd))
        if before:
            before()
        ours.append(run(ours_cmd, env=env))
    med = lambda runs: (statistics.median(r[0] for r in runs), max(r[1] for r in runs))  # noqa: E731
    if repeat > 1:
        print(f"#   ogr2ogr {' '.join(f'{r[0]:.1f}' for r in ogr)} s | ours {' '.join(f'{r[0]:.1f}' for r in ours)} s",
              flush=True)
    return med(ogr), med(ours)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/geoportal-bench"))
    ap.add_argument("--dsn", default=None, help="postgresql:// DSN of a scratch database (PostGIS runs)")
    ap.add_argument("--kinds", default="polygon,point")
    ap.add_argument("--formats", default="shp,geojson")
    ap.add_argument("--targets", default="gpkg,postgis")
    ap.add_argument("--repeat", type=int, default=1, help="alternate ogr2ogr and ours N times, print medians")
    a = ap.parse_args()
    a.dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for kind in a.kinds.split(","):
        for fmt in a.formats.split(","):
            src = a.dir / f"{kind}_{a.n}.{fmt}"
            t = time.perf_counter()
            generate(kind, a.n, src, "ESRI Shapefile" if fmt == "shp" else "GeoJSON")
            print(f"# {src.name} ready ({time.perf_counter() - t:.1f} s)", flush=True)
            out_ogr, out_ours = a.dir / "ogr.gpkg", a.dir / "ours.gpkg"
            env = dict(os.environ, PYTHONPATH=str(HERE.parent))

            def clear() -> None:
                for f in (out_ogr, out_ours):
                    f.unlink(missing_ok=True)

            if "gpkg" in a.targets:
                ogr, ours = paired(["ogr2ogr", "-f", "GPKG", str(out_ogr), str(src), "-nln", "layer"],
                                   [PY, "-c", "import sys; from ingest import ingest_file; "
                                    "ingest_file(sys.argv[1], sys.argv[2], 'layer', force=True)", str(src),
                                    str(out_ours)], a.repeat, env, clear)
                rows.append((src.name, "GPKG", ogr, ours))
                print(_line(rows[-1]), flush=True)
            if a.dsn and "postgis" in a.targets:
                ogr, ours = paired(["ogr2ogr", "-f", "PostgreSQL", f"PG:{_pg(a.dsn)}", str(src), "-nln", "bench_ogr",
                                    "-overwrite", "-lco", "GEOMETRY_NAME=geom"],
                                   [PY, "-c", "import sys; from ingest import ingest_file; "
                                    "ingest_file(sys.argv[1], sys.argv[2], 'bench_ours', force=True)", str(src),
                                    a.dsn], a.repeat, env)
                rows.append((src.name, "PostGIS", ogr, ours))
                print(_line(rows[-1]), flush=True)
    print("\nfile                         target   ogr2ogr s  MB   | ours s   MB   | ratio")
    for r in rows:
        print(_line(r))


def _pg(dsn: str) -> str:
    from urllib.parse import urlparse
    u = urlparse(dsn)
    return f"host={u.hostname} port={u.port or 5432} dbname={u.path.lstrip('/')} user={u.username or 'postgres'}"


def _line(r: tuple) -> str:  # type: ignore[type-arg]
    name, target, (ow, om), (uw, um) = r
    return f"{name:28s} {target:8s} {ow:8.1f} {om:6.0f} | {uw:6.1f} {um:6.0f} | {uw / ow:5.2f}"


if __name__ == "__main__":
    main()
