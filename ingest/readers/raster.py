"""GeoTIFF rasters → Cloud-Optimised GeoTIFF (tiled, overviews, DEFLATE), written aside and moved into
place. GDAL's COG driver does the work block by block, so memory does not grow with the raster."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import rasterio
import rasterio.shutil
from rasterio.crs import CRS as RioCRS
from rasterio.errors import RasterioIOError

from geoportal.errors import CRSError, IngestError, StoreError
from geoportal.model import StoredLayer
from ingest.crs import transformer


def ingest_raster(source: Path, target: Path | str, table: str, *, assume_crs: str | None = None,
                  checksum: str | None = None, force: bool = False) -> StoredLayer:
    if str(target).startswith(("postgresql://", "postgres://")):
        raise StoreError(f"{source}: rasters are stored as Cloud-Optimised GeoTIFF files, not in PostGIS; "
                         "give a .tif target")
    from ingest.pipeline import source_checksum

    target = Path(target)
    if target.suffix.lower() not in (".tif", ".tiff"):
        target = target.with_suffix(".tif")
    checksum = checksum or source_checksum(source)
    try:
        with rasterio.open(source) as ds:
            crs = declared_crs = ds.crs
            decided = "declared by the file"
            if crs is None:
                if not assume_crs:
                    raise CRSError(f"{source}: the raster declares no coordinate system; give it with "
                                   "--assume-crs EPSG:N")
                crs, decided = RioCRS.from_user_input(assume_crs), "given (--assume-crs)"
            bounds, count, dtype, width, height = ds.bounds, ds.count, ds.dtypes[0], ds.width, ds.height
    except RasterioIOError as e:
        raise IngestError(f"{source}: not a readable GeoTIFF ({e}); export it again") from e
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tif")
    os.close(fd)
    try:
        opts = {"driver": "COG", "compress": "DEFLATE", "blocksize": 512, "overviews": "AUTO"}
        if declared_crs is None:
            with rasterio.open(source) as src, rasterio.open(
                    tmp + ".crs.tif", "w", **dict(src.profile, crs=crs, driver="GTiff")) as dst:
                for _, window in src.block_windows(1):
                    dst.write(src.read(window=window), window=window)
            rasterio.shutil.copy(tmp + ".crs.tif", tmp, **opts)
            os.unlink(tmp + ".crs.tif")
        else:
            rasterio.shutil.copy(source, tmp, **opts)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except Exception as e:
        Path(tmp).unlink(missing_ok=True)
        Path(tmp + ".crs.tif").unlink(missing_ok=True)
        raise StoreError(f"{target}: the COG could not be written ({e}); the previous file is kept") from e
    key = crs.to_string()
    bbox = transformer(key, "EPSG:4326").transform_bounds(*bounds) if key != "EPSG:4326" else tuple(bounds)
    loaded_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    report = {"dataset": table, "source": str(source), "driver": "GTiff", "output": "COG", "bands": count,
              "dtype": dtype, "width": width, "height": height, "source_crs": key, "crs_decided_by": decided,
              "storage_crs": key, "extent_4326": [float(b) for b in bbox], "checksum": checksum,
              "field_titles": {}}
    return StoredLayer(dataset_id=table, backend="geopackage", table=table, geometry_type="Raster",
                       feature_count=0, bbox=tuple(float(b) for b in bbox),  # type: ignore[arg-type]
                       crs=key, fields=(), checksum=checksum, version=1, loaded_at=loaded_at,
                       path=str(target.resolve()), report=report)
