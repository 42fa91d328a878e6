"""What the ingest does to keep its memory flat (#15), checked for what a user relies on: a GeoPackage whose
R-tree was built under the memory cap is complete and answers box queries; a user's own cap and GDAL's
settings are left as they were; a load does not hand Arrow's allocator choice to the processes it starts."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyogrio
import shapely

from ingest import ingest_file
from ingest.ogrio import pyogrio as ogrio
from ingest.store.gpkg import RTREE_RAM, THREADED_RTREE

ROOT = Path(__file__).resolve().parents[2]


def _points(path: Path, n: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    xy = np.column_stack([rng.uniform(28.0, 29.0, n), rng.uniform(50.0, 51.0, n)])
    pyogrio.raw.write(path, shapely.to_wkb(shapely.points(xy)), field_data=[np.arange(n)], fields=["id"],
                      geometry_type="Point", crs="EPSG:4326", driver="ESRI Shapefile")
    return xy


def _rtree_rows(gpkg: Path, table: str) -> int:
    with sqlite3.connect(gpkg) as c:
        return c.execute(f'SELECT count(*) FROM "rtree_{table}_geom"').fetchone()[0]


def test_rtree_built_past_the_memory_cap_is_complete(tmp_path, monkeypatch):
    """A cap far below the layer's boxes (1 kB for 3,000 points) takes GDAL's path for large layers; the
    R-tree still indexes every row and a box query finds exactly the points inside it."""
    monkeypatch.setenv(RTREE_RAM, "1000")
    xy = _points(tmp_path / "p.shp", 3000)
    out = tmp_path / "out.gpkg"
    layer = ingest_file(tmp_path / "p.shp", out, "pts")
    assert layer.feature_count == 3000
    assert _rtree_rows(out, "pts") == 3000
    box = (28.2, 50.2, 28.5, 50.6)
    inside = int(((xy[:, 0] >= box[0]) & (xy[:, 0] <= box[2]) & (xy[:, 1] >= box[1]) & (xy[:, 1] <= box[3])).sum())
    meta = pyogrio.read_info(out, layer="pts")
    assert meta["features"] == 3000
    # the system's ogrinfo (GDAL 3.6) reads the index through the spatial filter
    res = subprocess.run(["ogrinfo", "-ro", "-so", "-spat", *map(str, box), str(out), "pts"], capture_output=True,
                         text=True, check=True)
    count = next(int(x.split(":")[1]) for x in res.stdout.splitlines() if x.startswith("Feature Count:"))
    assert count == inside


def test_gdal_settings_restored_after_a_gpkg_write(tmp_path):
    """The R-tree settings hold for the write only; a cap the user set is kept, and none is left behind."""
    _points(tmp_path / "p.shp", 50)
    before = (ogrio.get_gdal_config_option(THREADED_RTREE), ogrio.get_gdal_config_option(RTREE_RAM))
    ingest_file(tmp_path / "p.shp", tmp_path / "out.gpkg", "pts")
    assert (ogrio.get_gdal_config_option(THREADED_RTREE), ogrio.get_gdal_config_option(RTREE_RAM)) == before
    ogrio.set_gdal_config_options({RTREE_RAM: "123456789"})
    try:
        ingest_file(tmp_path / "p.shp", tmp_path / "out.gpkg", "pts", force=True)
        assert str(ogrio.get_gdal_config_option(RTREE_RAM)) == "123456789"
    finally:
        ogrio.set_gdal_config_options({RTREE_RAM: None})


def test_arrow_uses_the_system_allocator_and_children_are_not_told():
    """In a fresh process the pipeline loads Arrow with the C library's allocator (no mimalloc arenas),
    and the environment a started process inherits is the one the user had."""
    code = ("import os; import ingest.pipeline; import pyarrow as pa; "
            "print(pa.default_memory_pool().backend_name, os.environ.get('ARROW_DEFAULT_MEMORY_POOL'))")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["system", "None"]
    # a user's choice wins
    env["ARROW_DEFAULT_MEMORY_POOL"] = "jemalloc"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[1] == "jemalloc"
