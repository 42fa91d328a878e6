"""Raster storage: GeoTIFF → Cloud-Optimised GeoTIFF (tiled, overviews, DEFLATE), written aside and moved
into place. GDAL's COG driver does the work block by block, so memory does not grow with the raster.

Published through MapServer WMS (:meth:`CogFile.mapserver_data`) and offered as a download; a raster has
no features, so OGC API Features and WFS do not serve it (the config refuses them for a GeoTIFF source).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import rasterio
import rasterio.shutil
from rasterio.crs import CRS as RioCRS
from rasterio.errors import RasterioIOError

from geoportal.errors import CRSError, IngestError, PublishError, StoreError
from geoportal.model import QualityReport, RowFilter, StoredLayer
from ingest.crs import transformer
from ingest.readers.base import display_path
from ingest.store import aside

LOCK_WAIT = float(os.environ.get("GEOPORTAL_LOCK_WAIT", 600))  # seconds a load waits for another one


def ingest_raster(source: Path, target: Path | str, table: str, *, checksum: str, assume_crs: str | None = None,
                  version: int = 1) -> StoredLayer:
    """One GeoTIFF into a COG file beside the node's GeoPackages (``target``, a .tif path)."""
    if str(target).startswith(("postgresql://", "postgres://")):
        raise StoreError(f"{source}: rasters are stored as Cloud-Optimised GeoTIFF files, not in PostGIS; "
                         "give a .tif target")
    target = Path(target)
    if target.suffix.lower() not in (".tif", ".tiff"):
        target = target.with_suffix(".tif")
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
            value_range = _value_range(ds)
    except RasterioIOError as e:
        raise IngestError(f"{source}: not a readable GeoTIFF ({e}); export it again") from e
    target.parent.mkdir(parents=True, exist_ok=True)
    with aside.exclusive(target, LOCK_WAIT):  # one writer; what a killed one left is removed
        aside.remove_dead(target, target.stem, ".tif")
        _write_cog(source, target, crs, declared_crs is None)
    key = crs.to_string()
    bbox = transformer(key, "EPSG:4326").transform_bounds(*bounds) if key != "EPSG:4326" else tuple(bounds)
    loaded_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    report = QualityReport(
        dataset=table, version=version, loaded_at=loaded_at, source=display_path(source), driver="GTiff", checksum=checksum,
        source_crs=key, crs_decided_by=decided, storage_crs=key, geometry_type="Raster",
        extent_4326=tuple(float(b) for b in bbox),
        extra={"output": "COG", "bands": count, "dtype": dtype, "width": width, "height": height,
               "value_range": value_range})
    return StoredLayer(dataset_id=table, location=CogFile(str(target.resolve())), geometry_type="Raster",
                       feature_count=0, bbox=tuple(float(b) for b in bbox),  # type: ignore[arg-type]
                       crs=key, fields=(), checksum=checksum, version=version, loaded_at=loaded_at,
                       report=report)


def _write_cog(source: Path, target: Path, crs: Any, assign_crs: bool) -> None:
    """The COG written aside and moved into place; on any error the previous file is kept."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tif")
    os.close(fd)
    try:
        opts = {"driver": "COG", "compress": "DEFLATE", "blocksize": 512, "overviews": "AUTO"}
        if assign_crs:
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


def _value_range(ds: Any) -> list[float]:
    """Minimum and maximum of band 1 (nodata left out), read block by block so memory stays flat."""
    import numpy as np

    lo, hi = np.inf, -np.inf
    for _, window in ds.block_windows(1):
        a = ds.read(1, window=window, masked=True)
        if a.count():
            lo, hi = min(lo, float(a.min())), max(hi, float(a.max()))
    return [lo, hi] if np.isfinite(lo) else [0.0, 1.0]


@dataclass(frozen=True)
class CogFile:
    """A Cloud-Optimised GeoTIFF file."""

    backend: ClassVar[str] = "cog"
    kind: ClassVar[str] = "raster"
    path: str

    def describe(self) -> str:
        return self.path

    def exists(self) -> bool:
        return Path(self.path).exists()

    def ogr_source(self) -> list[str]:
        raise PublishError(f"{self.path}: a raster has no vector source; it is served by WMS and as a file")

    def pygeoapi_provider(self, id_field: str, geometry_column: str) -> dict[str, Any]:
        raise PublishError(f"{self.path}: a raster is not served as OGC API Features")

    def mapserver_data(self, geometry_column: str, id_column: str, srid: int | None) -> dict[str, Any]:
        return {"data": self.path, "processing": ["RESAMPLE=AVERAGE", "SCALE=AUTO"]}

    def restricted(self, rows: RowFilter) -> "CogFile":
        raise PublishError(f"{self.path}: a raster has no rows to filter; deny the dataset instead")

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "path": self.path}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CogFile":
        return cls(**d)


def target_for(storage: Any, data_dir: Path, dataset_id: str) -> str:
    """A raster beside the node's GeoPackages, whatever the node's vector storage."""
    return str(data_dir / f"{dataset_id}.tif")


Location = CogFile
