"""Helpers shared by the ingest tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pyogrio
import shapely


def ogr_count(path: Path, layer: str) -> int:
    """Feature count read by the system's ogrinfo (GDAL 3.6), not by our code."""
    out = subprocess.run(["ogrinfo", "-ro", "-so", str(path), layer], capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("Feature Count:"))
    return int(line.split(":")[1])


def sample_points(n: int = 20) -> np.ndarray:
    """Points spread over the middle of Zhytomyr oblast (lon/lat)."""
    rng = np.random.default_rng(42)
    return np.column_stack([rng.uniform(28.0, 29.0, n), rng.uniform(50.0, 51.0, n)])


def write_points(path: Path, lonlat: np.ndarray, crs: str, names: list[str], encoding: str | None = None) -> np.ndarray:
    from ingest.crs import transform_xy
    x, y = transform_xy(lonlat[:, 0], lonlat[:, 1], "EPSG:4326", crs)
    geoms = shapely.points(x, y)
    pyogrio.raw.write(path, shapely.to_wkb(geoms), field_data=[np.array(names, dtype=object)], fields=["NAZVA"],
                      geometry_type="Point", crs=crs, driver="ESRI Shapefile", encoding=encoding)
    return np.column_stack([x, y])
