"""Every vector format GDAL reads (Shapefile, GeoJSON, GeoPackage, KML, GML, FlatGeobuf), streamed
as Arrow batches through pyogrio, so memory stays bounded whatever the file size.

Shapefiles are checked before GDAL sees them: GDAL quietly reads what it can of a truncated file, and
opens a .shp without its .dbf; we would rather refuse than publish half a layer.
"""

from __future__ import annotations

import struct
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from geoportal.errors import IngestError
from ingest.encoding import decide_dbf
from ingest.ogrio import pyogrio
from ingest.readers.base import WKB, ReadOptions, Source, plain_path
from ingest.readers.identify import SINGLE_LAYER, identify_driver


def _sidecar(shp: Path, ext: str) -> Path | None:
    for cand in (shp.with_suffix(ext), shp.with_suffix(ext.upper())):
        if cand.exists():
            return cand
    return None


def check_shapefile(shp: Path) -> None:
    """Refuse a shapefile with missing parts or that was cut short (a failed copy, a full disk)."""
    missing = [ext for ext in (".shx", ".dbf") if _sidecar(shp, ext) is None]
    if missing:
        raise IngestError(f"{shp}: the shapefile has no {' and no '.join(missing)} file; a shapefile is "
                          "the .shp, .shx and .dbf together — copy all of them (zipped, preferably)")
    shx, dbf = _sidecar(shp, ".shx"), _sidecar(shp, ".dbf")
    assert shx and dbf
    for part in (shp, shx):
        size = part.stat().st_size
        with open(part, "rb") as fh:
            head = fh.read(100)
        if len(head) < 100 or struct.unpack(">i", head[:4])[0] != 9994:
            raise IngestError(f"{part}: not a shapefile (bad header); the file is corrupt — export it again")
        declared = struct.unpack(">i", head[24:28])[0] * 2
        if size < declared:
            raise IngestError(f"{part}: truncated — the header says {declared} bytes, the file has {size}; "
                              "copy the file again from the source")
    n_shx = (shx.stat().st_size - 100) // 8
    with open(dbf, "rb") as fh:
        head = fh.read(32)
    if len(head) < 32:
        raise IngestError(f"{dbf}: truncated DBF header; copy the file again from the source")
    n_dbf, header_len, rec_len = struct.unpack("<IHH", head[4:12])
    if dbf.stat().st_size < header_len + n_dbf * rec_len:
        raise IngestError(f"{dbf}: truncated — {n_dbf} records declared but the file is too short; "
                          "copy the file again from the source")
    if n_dbf != n_shx:
        raise IngestError(f"{shp}: the .shx indexes {n_shx} shapes but the .dbf has {n_dbf} records; "
                          "the parts come from different exports — copy them together again")


@contextmanager
def open_ogr(path: Path, opts: ReadOptions) -> Iterator[Source]:
    with ExitStack() as stack:
        with _open_ogr(path, opts, stack) as src:
            yield src


@contextmanager
def _open_ogr(path: Path, opts: ReadOptions, stack: ExitStack) -> Iterator[Source]:
    encoding = None
    if path.suffix.lower() == ".shp":
        check_shapefile(path)
        encoding = decide_dbf(path) if not opts.encoding else None
    layer = opts.layer
    gpath = stack.enter_context(plain_path(path))
    identified = identify_driver(gpath)
    if identified not in SINGLE_LAYER:  # every open of a GeoJSON file parses all of it: only when needed
        try:
            layers = pyogrio.list_layers(gpath)
        except Exception as e:
            raise IngestError(f"{path}: cannot be read as a vector file ({e}); check that it is complete") from e
        if layer is None and len(layers) > 1:
            names = ", ".join(str(n) for n in layers[:, 0])
            raise IngestError(f"{path}: has {len(layers)} layers ({names}); choose one with 'layer' in the "
                              "dataset config or --source-layer")
        if len(layers) == 0:
            raise IngestError(f"{path}: contains no layers; the file is empty")
    enc = opts.encoding or (encoding.encoding if encoding else None)
    try:
        cm = pyogrio.raw.open_arrow(
            gpath, layer=layer, where=opts.where, encoding=enc, batch_size=opts.batch_size, use_pyarrow=True,
        )
        meta, reader = cm.__enter__()
    except Exception as e:
        if not opts.where:
            raise IngestError(f"{path}: cannot be read as a vector file ({e}); check that it is complete") from e
        raise IngestError(f"{path}: cannot be read ({e}); check the file and the 'where' filter") from e
    try:
        geom_col = meta.get("geometry_name") or "wkb_geometry"
        schema: pa.Schema = reader.schema
        if geom_col not in schema.names:
            raise IngestError(f"{path}: the layer has no geometry column; load attribute tables as CSV")
        names = [n for n in schema.names if n != geom_col]
        out_schema = pa.schema([schema.field(n) for n in names] + [pa.field(WKB, pa.binary())])

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                for b in reader:
                    cols = [b.column(n) for n in names] + [b.column(geom_col).cast(pa.binary())]
                    yield pa.record_batch(cols, schema=out_schema)
            except (OSError, pyogrio.errors.DataLayerError, pyogrio.errors.FeatureError) as e:
                raise IngestError(f"{path}: reading stopped ({e}); the file is damaged — export it again") from e

        crs = str(meta["crs"]) if meta.get("crs") else None
        driver = meta.get("driver") or identified or pyogrio.read_info(gpath, layer=layer)["driver"]
        enc_decision = encoding
        if enc_decision is None:
            from ingest.encoding import EncodingDecision
            enc_decision = EncodingDecision(
                enc or meta.get("encoding") or "UTF-8",
                "given in the configuration" if opts.encoding else f"declared by the {driver} driver")
        yield Source(
            path=path, opened=path, driver=str(driver), crs=crs,
            crs_decided_by=f"declared by the file ({'.prj' if path.suffix.lower() == '.shp' else 'CRS member'})",
            encoding=enc_decision, geometry_type=str(meta.get("geometry_type") or "Unknown"),
            fields=names, schema=out_schema, batches=batches(),
        )
    finally:
        cm.__exit__(None, None, None)
