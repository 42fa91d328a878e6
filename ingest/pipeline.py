"""The ingest pipeline: read → normalise text → CRS to storage → repair geometry → store atomically.

This first version reads every OGR-readable vector file through pyogrio; readers for CSV/XLSX with
coordinate columns, encoding detection and the Ukrainian CRS rules plug in here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from pyproj import CRS, Transformer

from geoportal.config import Dataset, NodeConfig
from geoportal.errors import CRSError, IngestError, StoreError
from geoportal.model import FieldInfo, StoredLayer, Workspace, write_atomic
from ingest.text import field_name, normalise_text

log = logging.getLogger(__name__)

SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qmd")


def source_checksum(source: Path) -> str:
    """sha256 of the source and, for a shapefile, of its sidecar files."""
    h = hashlib.sha256()
    files = [source]
    if source.suffix.lower() == ".shp":
        files = [source.with_suffix(s) for s in SIDECARS if source.with_suffix(s).exists()]
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _source_crs(meta: dict[str, Any], assume_crs: str | None, source: Path) -> CRS:
    if meta.get("crs"):
        return CRS.from_user_input(meta["crs"])
    if assume_crs:
        return CRS.from_user_input(assume_crs)
    raise CRSError(
        f"{source}: the file declares no coordinate system (no .prj / crs member); "
        "give it with --assume-crs EPSG:N (or 'assume_crs' in the dataset config)"
    )


def _field_type(dtype: str) -> str:
    if dtype.startswith("int"):
        return "integer"
    if dtype.startswith("float"):
        return "number"
    if dtype == "bool":
        return "boolean"
    if dtype.startswith("datetime"):
        return "datetime"
    return "string"


def _unify_geometry_type(geoms: np.ndarray) -> str:
    types = set(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist())
    names = {shapely.GeometryType(t).name for t in types}
    base = {n.replace("MULTI", "") for n in names}
    if len(base) != 1:
        raise IngestError(f"mixed geometry types {sorted(names)}: split the file by geometry type")
    b = base.pop()
    return {"POLYGON": "MultiPolygon", "LINESTRING": "MultiLineString", "POINT": "Point"}[b] \
        if not ("MULTIPOINT" in names and b == "POINT") else "MultiPoint"


_MULTI_CTOR = {
    "MultiPolygon": (shapely.GeometryType.POLYGON, shapely.MultiPolygon),
    "MultiLineString": (shapely.GeometryType.LINESTRING, shapely.MultiLineString),
    "MultiPoint": (shapely.GeometryType.POINT, shapely.MultiPoint),
}


def _to_multi(geoms: np.ndarray, gtype: str) -> np.ndarray:
    """Promote single parts to the layer's multi type, so one layer has one geometry type."""
    if gtype not in _MULTI_CTOR:
        return geoms
    single_type, ctor = _MULTI_CTOR[gtype]
    out = geoms.copy()
    for i in np.flatnonzero(shapely.get_type_id(geoms) == single_type):
        out[i] = ctor([geoms[i]])
    return out


def read_and_clean(
    source: Path,
    *,
    layer: str | None = None,
    where: str | None = None,
    assume_crs: str | None = None,
    encoding: str | None = None,
    target_crs: str = "EPSG:4326",
) -> tuple[np.ndarray, list[str], list[str], list[np.ndarray], dict[str, Any]]:
    """Read a vector source and return (geometries, field names, titles, columns, report)."""
    try:
        meta, _fids, wkb, field_data = pyogrio.raw.read(
            source, layer=layer, where=where, encoding=encoding, datetime_as_string=True
        )
    except pyogrio.errors.DataSourceError as e:
        raise IngestError(f"{source}: cannot be read as a vector file ({e})") from e
    except pyogrio.errors.DataLayerError as e:
        raise IngestError(f"{source}: {e}") from e
    src_crs = _source_crs(meta, assume_crs, source)
    report: dict[str, Any] = {
        "source": str(source),
        "driver": meta.get("driver"),
        "encoding": meta.get("encoding"),
        "source_crs": src_crs.to_string(),
        "crs_decided_by": "file" if meta.get("crs") else "assume_crs",
        "features_read": len(wkb),
    }
    geoms = shapely.from_wkb(wkb)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    # text: NFC + look-alike letters
    names: list[str] = []
    titles: list[str] = []
    columns: list[np.ndarray] = []
    repaired_text = 0
    for header, col in zip(meta["fields"], field_data):
        name = field_name(header)
        while name in names:
            name += "_"
        names.append(name)
        titles.append(header)
        if col.dtype == object:
            out = col.copy()
            for i, v in enumerate(col):
                if isinstance(v, str):
                    fixed, changed = normalise_text(v)
                    if changed:
                        out[i] = fixed
                        repaired_text += 1
            col = out
        columns.append(col)
    # CRS
    tgt = CRS.from_user_input(target_crs)
    if not src_crs.equals(tgt):
        tr = Transformer.from_crs(src_crs, tgt, always_xy=True)
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    # geometry repair
    invalid = ~empty & ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    keep = ~empty
    report.update(
        features_empty=int(empty.sum()),
        geometries_repaired=int(invalid.sum()),
        text_values_repaired=repaired_text,
    )
    return geoms[keep], names, titles, [c[keep] for c in columns], report


def write_gpkg(
    target: Path,
    table: str,
    geoms: np.ndarray,
    names: list[str],
    columns: list[np.ndarray],
    crs: str,
) -> str:
    """Write a GeoPackage aside and move it into place: readers see the old file or the new one."""
    gtype = _unify_geometry_type(geoms) if len(geoms) else "Unknown"
    geoms = _to_multi(geoms, gtype)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".gpkg")
    os.close(fd)
    os.unlink(tmp)
    try:
        pyogrio.raw.write(
            tmp,
            geometry=shapely.to_wkb(geoms),
            field_data=columns,
            fields=names,
            layer=table,
            driver="GPKG",
            geometry_type=gtype,
            crs=crs,
            encoding="UTF-8",
            dataset_options={"VERSION": "1.3"},
            layer_options={"SPATIAL_INDEX": "YES", "FID": "fid", "GEOMETRY_NAME": "geom"},
        )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except Exception as e:
        Path(tmp).unlink(missing_ok=True)
        raise StoreError(f"{target}: the GeoPackage could not be written ({e}); the previous version is kept") from e
    return gtype


def load_dataset(cfg: NodeConfig, ds: Dataset, ws: Workspace, *, force: bool = False) -> StoredLayer:
    """Ingest one dataset of a node into the node's storage; skip it when the source is unchanged."""
    source = cfg.resolve(ds.source)
    checksum = source_checksum(source)
    previous = ws.read_layers().get(ds.id)
    target = ws.data_dir(cfg) / f"{ds.id}.gpkg"
    if previous and previous.checksum == checksum and target.exists() and not force:
        log.info("%s: source unchanged (sha256 %s…), nothing to do", ds.id, checksum[:12])
        return previous
    layer = ingest_file(
        source, target, ds.id, layer=ds.layer, where=ds.where, assume_crs=ds.assume_crs,
        encoding=ds.encoding, storage_crs=cfg.storage.crs, version=(previous.version + 1 if previous else 1),
        checksum=checksum,
    )
    write_atomic(ws.reports / f"{ds.id}.json", json.dumps(layer.report, ensure_ascii=False, indent=2))
    ws.write_layer(layer)
    return layer


def ingest_file(
    source: Path,
    target: Path,
    table: str,
    *,
    layer: str | None = None,
    where: str | None = None,
    assume_crs: str | None = None,
    encoding: str | None = None,
    storage_crs: str = "EPSG:4326",
    version: int = 1,
    checksum: str | None = None,
) -> StoredLayer:
    """One file into a GeoPackage layer; returns what was stored."""
    source = Path(source)
    if not source.exists():
        raise IngestError(f"{source}: file not found")
    geoms, names, titles, columns, report = read_and_clean(
        source, layer=layer, where=where, assume_crs=assume_crs, encoding=encoding, target_crs=storage_crs
    )
    if len(geoms) == 0:
        raise IngestError(f"{source}: no features with a geometry (filter: {where or 'none'}); nothing written")
    gtype = write_gpkg(Path(target), table, geoms, names, columns, storage_crs)
    bounds = shapely.total_bounds(geoms)
    if storage_crs != "EPSG:4326":
        tr = Transformer.from_crs(storage_crs, "EPSG:4326", always_xy=True)
        bounds = tr.transform_bounds(*bounds)
    report.update(
        features_written=len(geoms),
        features_rejected=0,
        storage_crs=storage_crs,
        extent_4326=[float(b) for b in bounds],
        field_titles=dict(zip(names, titles)),
        checksum=checksum or source_checksum(source),
    )
    return StoredLayer(
        dataset_id=table,
        backend="geopackage",
        table=table,
        geometry_type=gtype,
        feature_count=len(geoms),
        bbox=tuple(float(b) for b in bounds),  # type: ignore[arg-type]
        crs=storage_crs,
        fields=tuple(FieldInfo(n, _field_type(str(c.dtype))) for n, c in zip(names, columns)),
        checksum=report["checksum"],
        version=version,
        loaded_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        path=str(Path(target).resolve()),
        report=report,
    )
