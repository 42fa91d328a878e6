"""Benchmark (issue #15, a decision, not a product figure): the peak memory an ingest could reach without
Arrow, against ogr2ogr on the same file, before anyone rewrites the pipeline to find out.

Our ingest peaks at 3.3–4.6× ogr2ogr's memory, and most of the gap is the libraries it loads, not the rows
(README, the "where that memory is" row: Arrow's alone are ~66 MB resident). Moving the pipeline's columns
from Arrow to numpy is a rewrite of ~170 uses in 14 modules, so this measures first what such a pipeline would
peak at. The child below is the smallest ingest of that kind: pyarrow made unimportable, the
file read in 4,096-feature batches with ``pyogrio.raw`` (numpy arrays), every geometry checked and the invalid
ones repaired with shapely, text normalised to NFC, the batches appended to a GeoPackage (its R-tree held to
16 MB, as our ingest does). It lacks what the pipeline adds around the rows (schema, CRS, reports, rejects,
versions: the pipeline's own modules are ~6 MB), and it reopens the file and the GeoPackage for every batch
(pyogrio has no batch reader without Arrow's C stream), so its time means nothing; its memory is the floor.

Printed: peak RSS of the child and of ``ogr2ogr -f GPKG`` on the same 1M polygons (``ingest_bench.py``'s
file), and their ratio against the 2× target.

    .venv/bin/python bench/ingest_floor_numpy.py [--n 1000000] [--dir /tmp/geoportal-bench]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ingest_bench as ib  # noqa: E402 - the same generated file and the same child measurement

CHILD = r"""
import os, sys, unicodedata
sys.modules["pyarrow"] = None  # unimportable: pyogrio and shapely then run without it
os.environ.setdefault("OGR_GPKG_MAX_RAM_USAGE_RTREE", str(16 * 1024 * 1024))
import numpy as np
import pyogrio
import pyogrio.raw
import shapely

src, out = sys.argv[1], sys.argv[2]
total, batch = pyogrio.read_info(src)["features"], 4096
for off in range(0, total, batch):
    meta, _, wkb, fields = pyogrio.raw.read(src, skip_features=off, max_features=batch, return_fids=True)
    geoms = shapely.from_wkb(wkb)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = shapely.make_valid(geoms[bad])
        wkb = shapely.to_wkb(geoms)
    cols = [np.array([unicodedata.normalize("NFC", s) if s is not None else None for s in f], dtype=object)
            if f.dtype == object else f for f in fields]
    pyogrio.raw.write(out, wkb, field_data=cols, fields=list(meta["fields"]), geometry_type="Unknown",
                      crs=meta["crs"], driver="GPKG", encoding="UTF-8", append=off > 0, promote_to_multi=False,
                      layer="rows")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/geoportal-bench"))
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    src = args.dir / f"polygon_{args.n}.shp"  # the file bench/ingest_bench.py makes and keeps
    ib.generate("polygon", args.n, src, "ESRI Shapefile")
    with tempfile.TemporaryDirectory() as tmp:
        _, ogr_mb, _, _ = ib.run(["ogr2ogr", "-f", "GPKG", f"{tmp}/ogr.gpkg", str(src)])
        _, ours_mb, _, _ = ib.run([sys.executable, "-c", CHILD, str(src), f"{tmp}/numpy.gpkg"])
        _, floor_mb, _, _ = ib.run([sys.executable, "-c", CHILD.split("src, out")[0]])
    print(f"{args.n:,} polygons, Shapefile -> GeoPackage, peak RSS:")
    print(f"  ogr2ogr                         {ogr_mb:6.0f} MB")
    print(f"  numpy-only ingest (no Arrow)    {ours_mb:6.0f} MB   {ours_mb / ogr_mb:.2f}x  (target <= 2x)")
    print(f"    of which its imports          {floor_mb:6.0f} MB")


if __name__ == "__main__":
    main()
