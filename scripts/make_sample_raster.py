"""Make data/derived/geonames-density.tif: how many named geographic objects (rivers, tracts, hills, …) of
the State Register of Geographic Names lie within 10 km of each 0.02° cell of Zhytomyr oblast.

A real raster derived from the bundled real data, so the sample node has a GeoTIFF to serve through WMS
and to list in its catalog. Deterministic: running it again gives the same file.
    .venv/bin/python scripts/make_sample_raster.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import rasterio
import shapely
from rasterio.features import geometry_mask
from rasterio.transform import from_origin

ROOT = Path(__file__).resolve().parent.parent
POINTS = ROOT / "data/geonames-ua/fiz-geo-zhytomyrska.geojson"
OUTLINE = ROOT / "data/boundaries/UA_18_Zhytomyrska.geojson"
TARGET = ROOT / "data/derived/geonames-density.tif"
CELL = 0.02  # degrees (~1.4 km E–W, ~2.2 km N–S at 50.5° N)
RADIUS_KM = 10.0
NODATA = -1.0


def main() -> None:
    _, _, wkb, _ = pyogrio.raw.read(POINTS, columns=[])
    pts = shapely.get_coordinates(shapely.from_wkb(wkb))
    _, _, owkb, _ = pyogrio.raw.read(OUTLINE, columns=[])
    outline = shapely.from_wkb(owkb[0])
    minx, miny, maxx, maxy = outline.bounds
    minx, miny = np.floor(minx / CELL) * CELL, np.floor(miny / CELL) * CELL
    width, height = int(np.ceil((maxx - minx) / CELL)), int(np.ceil((maxy - miny) / CELL))
    transform = from_origin(minx, miny + height * CELL, CELL, CELL)
    xs = minx + (np.arange(width) + 0.5) * CELL
    ys = miny + height * CELL - (np.arange(height) + 0.5) * CELL
    gx, gy = np.meshgrid(xs, ys)
    kx = 111.32 * np.cos(np.radians(50.5))  # km per degree of longitude here
    grid = np.zeros(gx.shape, dtype=np.float32)
    for x, y in pts:
        d2 = ((gx - x) * kx) ** 2 + ((gy - y) * 110.57) ** 2
        grid += d2 <= RADIUS_KM ** 2
    outside = geometry_mask([shapely.geometry.mapping(outline)], out_shape=grid.shape, transform=transform)
    grid[outside] = NODATA
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(TARGET, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs="EPSG:4326", transform=transform, nodata=NODATA, compress="deflate",
                       predictor=3, tiled=True, blockxsize=256, blockysize=256) as dst:
        dst.write(grid, 1)
        dst.update_tags(source="State Register of Geographic Names (CC BY 4.0), via geoportal-network",
                        method=f"count of named objects within {RADIUS_KM:g} km of the cell centre")
    print(f"{TARGET}: {width}×{height} cells, values {grid[~outside].min():g}…{grid[~outside].max():g}")


if __name__ == "__main__":
    main()
