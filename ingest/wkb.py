"""The WKB a layer stores, made from the WKB read wherever the geometry is unchanged.

Why: writing every geometry back through GEOS (``shapely.to_wkb``) and wrapping every single part in a
GEOS multi (``shapely.multipolygons``) was a fifth of an ingest's CPU and held a second copy of each batch's
geometries, for bytes equal to the ones read: a valid two-dimensional geometry read from little-endian WKB
is written by GEOS exactly as it was read, and a one-part multi is its part behind a 9-byte header. So only
the geometries the pipeline changed (reprojected, repaired, Z dropped, …) or whose WKB is not plain 2D
little-endian (ISO Z/M codes, EWKB flags, big-endian) are written by GEOS; the result is byte for byte what
``shapely.to_wkb`` of the multi geometries gave.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

#: WKB type code of the multi type each multi layer holds its single parts as
MULTI_CODE = {"MultiPolygon": 6, "MultiLineString": 5, "MultiPoint": 4}
_FLAGS = np.uint32(0xF0000000)  # EWKB's Z, M and SRID flags, kept from the part on its multi


def _heads(col: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(byte order, type word) of each value of a binary array of WKB (each at least 5 bytes long)."""
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset: col.offset + len(col) + 1]
    data = np.frombuffer(col.buffers()[2], dtype=np.uint8)
    head = data[offsets[:-1, None] + np.arange(5)]
    little = head[:, 0] == 1
    word = np.ascontiguousarray(head[:, 1:5]).view("<u4").ravel()
    return little, np.where(little, word, word.byteswap())


def reusable(col: pa.Array) -> np.ndarray:
    """Which values are plain 2D little-endian WKB (type codes 1–7): GEOS writes such a geometry back to
    the same bytes, so an unchanged one can be stored as read."""
    ok = col.is_valid().to_numpy(zero_copy_only=False) & (pc.binary_length(col).fill_null(0).to_numpy() >= 5)
    if not ok.any():
        return ok
    safe = col if ok.all() else pc.if_else(pa.array(ok), col, pa.scalar(b"\0" * 5, pa.binary()))
    little, word = _heads(safe)
    return ok & little & (word >= 1) & (word <= 7)


def as_multi(col: pa.Array, single: np.ndarray, ltype: str) -> pa.Array:
    """The WKB of the ``single`` rows wrapped as one-part multis of the layer's type (same bytes as GEOS
    writes for the multi: its header in the part's byte order, with the part's Z/M/SRID flags)."""
    if ltype not in MULTI_CODE or not single.any():
        return col
    little, word = _heads(col)
    n = len(col)
    rec = np.zeros(n, dtype=np.dtype([("order", "u1"), ("type", "<u4"), ("parts", "<u4")]))
    rec["order"] = little
    multi_type = (word & _FLAGS) | np.uint32(MULTI_CODE[ltype])
    rec["type"] = np.where(little, multi_type, multi_type.byteswap())
    rec["parts"] = np.where(little, np.uint32(1), np.uint32(1).byteswap())
    packed = rec[single]
    offsets = np.concatenate([[0], np.cumsum(np.where(single, 9, 0))]).astype(np.int32)
    prefix = pa.Array.from_buffers(pa.binary(), n,
                                   [None, pa.py_buffer(offsets), pa.py_buffer(packed.tobytes())])
    return pc.binary_join_element_wise(prefix, col, b"")


def layer_wkb(read: pa.Array, geoms: np.ndarray, rewritten: np.ndarray, single: np.ndarray,
              ltype: str) -> pa.Array:
    """The stored WKB of rows whose WKB as read is ``read`` and whose geometries are now ``geoms``:
    the bytes read where the geometry is unchanged (``rewritten`` false) and plain, GEOS's elsewhere; single
    parts of a multi layer made one-part multis."""
    read = read.cast(pa.binary())
    fresh = rewritten | ~reusable(read)
    if fresh.all():
        col = pa.array(shapely.to_wkb(geoms), pa.binary())
    elif fresh.any():
        col = pc.replace_with_mask(read, pa.array(fresh), pa.array(shapely.to_wkb(geoms[fresh]), pa.binary()))
    else:
        col = read
    return as_multi(col, single, ltype)


def plain_points(col: pa.Array) -> np.ndarray | None:
    """The (n, 2) coordinates of a WKB column whose every value is a two-dimensional little-endian Point
    with finite coordinates — what a point layer read by GDAL is — or None when any value is anything
    else (missing, empty, Z/M, big-endian, another type, NaN or infinite).

    Why: such a point needs none of GEOS's work — it is valid, single, of the layer's type, and GEOS writes
    it back to the bytes read — so a point layer's batch is checked here with numpy instead of making and
    freeing a GEOS object per row (a fifth of a point load's client CPU, README benchmarks)."""
    n = len(col)
    if n == 0 or col.null_count:
        return None
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset: col.offset + n + 1]
    if not (np.diff(offsets) == 21).all():
        return None
    rows = np.frombuffer(col.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]].reshape(n, 21)
    if not (rows[:, 0] == 1).all() or not (np.ascontiguousarray(rows[:, 1:5]).view("<u4") == 1).all():
        return None
    xy = np.ascontiguousarray(rows[:, 5:]).view("<f8")
    return xy if np.isfinite(xy).all() else None
