"""PostgreSQL's binary COPY format, made from Arrow columns without a Python loop over rows.

Why: the text/CSV COPY made the server parse every value again (hex EWKB for geometries, decimal text
for numbers), and the client parse each geometry twice to add its SRID. In binary COPY each value is sent
as the server stores it: numbers big-endian, dates as days since 2000-01-01, geometries as EWKB (the WKB
of the pipeline with the SRID spliced in with numpy, no GEOS round trip).

How: every column becomes one Arrow binary array whose n-th value is that field of the n-th row, with its
4-byte length in front (-1 for NULL): fixed-width types through a packed numpy record, text and WKB
through Arrow's own buffers. ``binary_join_element_wise`` then concatenates the fields of each row in
C++, and the data buffer of the result *is* the COPY chunk.

Format: https://www.postgresql.org/docs/current/sql-copy.html ("Binary Format").
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from geoportal.errors import StoreError

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # + flags, extension length
TRAILER = b"\xff\xff"
NULL_FIELD = pa.scalar(b"\xff\xff\xff\xff", pa.binary())
PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01
PG_EPOCH_US = PG_EPOCH_DAYS * 86_400 * 1_000_000
EWKB_SRID = 0x20


def _fixed(values: np.ndarray, fmt: str) -> pa.Array:
    """A binary array of ``<length><value>`` fields from a numpy array (big-endian ``fmt``, e.g. '>i8')."""
    width = np.dtype(fmt).itemsize
    rec = np.empty(len(values), dtype=np.dtype([("len", ">i4"), ("v", fmt)]))
    rec["len"] = width
    rec["v"] = values
    step = 4 + width
    offsets = np.arange(0, (len(values) + 1) * step, step, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(rec)])


def _with_nulls(col: pa.Array, fields: pa.Array) -> pa.Array:
    """NULL rows of ``col`` as the -1 length field."""
    if col.null_count == 0:
        return fields
    return pc.if_else(col.is_valid(), fields, NULL_FIELD)


def _numbers(col: pa.Array, fmt: str, cast: pa.DataType) -> pa.Array:
    try:
        values = col.cast(cast).fill_null(0).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid as e:  # e.g. an unsigned 64-bit value above the bigint range
        raise ValueError(f"value out of range of the column type ({e})") from e
    return _with_nulls(col, _fixed(values, fmt))


def _bool(col: pa.Array) -> pa.Array:
    values = col.fill_null(False).to_numpy(zero_copy_only=False).astype(np.uint8)
    return _with_nulls(col, _fixed(values, "u1"))


def _date(col: pa.Array) -> pa.Array:
    days = col.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64) - PG_EPOCH_DAYS
    return _with_nulls(col, _fixed(days.astype(np.int32), ">i4"))


def _timestamp(col: pa.Array) -> pa.Array:
    us = col.cast(pa.timestamp("us", col.type.tz), safe=False).cast(pa.int64())
    values = us.fill_null(0).to_numpy(zero_copy_only=False) - PG_EPOCH_US
    return _with_nulls(col, _fixed(values, ">i8"))


def _lengths(col: pa.Array) -> pa.Array:
    """The 4-byte big-endian length field of each value (-1 for NULL)."""
    n = pc.binary_length(col).fill_null(-1).to_numpy(zero_copy_only=False).astype(">i4")
    offsets = np.arange(0, (len(n) + 1) * 4, 4, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), len(n), [None, pa.py_buffer(offsets), pa.py_buffer(n)])


def _text(col: pa.Array) -> pa.Array:
    col = col.cast(pa.string())
    nul = pc.fill_null(pc.match_substring(col, "\x00"), False)
    if pc.any(nul).as_py():
        row = pc.index(nul, True).as_py()
        raise ValueError(f"the text {col[row].as_py()[:40]!r} contains a NUL character (\\x00), which "
                         "PostgreSQL text cannot hold; remove it from the source")
    data = col.cast(pa.binary())
    return pc.binary_join_element_wise(_lengths(data), data.fill_null(b""), b"")


def _offsets(col: pa.Array) -> np.ndarray:
    return np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset: col.offset + len(col) + 1]


def ewkb(col: pa.Array, srid: int) -> pa.Array:
    """``<length><EWKB>`` fields from plain WKB: the SRID flag set and the SRID put after the type word,
    in each geometry's own byte order. WKB that already carries an SRID is sent as it is."""
    col = col.cast(pa.binary())
    n = len(col)
    offsets = _offsets(col)
    lens = np.diff(offsets)
    valid = col.is_valid().to_numpy(zero_copy_only=False)
    short = valid & (lens < 5)
    if short.any():
        first = int(np.flatnonzero(short)[0])
        raise ValueError(f"feature {first + 1} of the batch: {int(lens[first])} bytes are no WKB geometry")
    if not valid.any():
        return pa.repeat(NULL_FIELD, n)
    data = np.frombuffer(col.buffers()[2], dtype=np.uint8)
    starts = np.where(valid, offsets[:-1], offsets[:-1][valid][0])
    head = data[starts[:, None] + np.arange(5)].copy()  # byte order + type word
    little = head[:, 0] == 1
    msb = np.where(little, 4, 1)
    rows = np.arange(n)
    has_srid = (head[rows, msb] & EWKB_SRID) != 0
    if has_srid[valid].all():
        return _with_nulls(col, pc.binary_join_element_wise(_lengths(col), col, b""))
    if has_srid[valid].any():
        raise ValueError("geometries mix WKB with and without an SRID")
    head[rows, msb] |= EWKB_SRID
    rec = np.empty(n, dtype=np.dtype([("len", ">i4"), ("head", "u1", 5), ("srid", "u1", 4)]))
    rec["len"] = lens + 4
    rec["head"] = head
    rec["srid"] = np.where(little[:, None], np.frombuffer(np.array(srid, "<i4").tobytes(), np.uint8),
                           np.frombuffer(np.array(srid, ">i4").tobytes(), np.uint8))
    offsets13 = np.arange(0, (n + 1) * 13, 13, dtype=np.int32)
    prefix = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets13), pa.py_buffer(rec)])
    padded = col if valid.all() else pc.if_else(pa.array(valid), col, pa.scalar(b"\0" * 5, pa.binary()))
    tail = pc.binary_slice(padded, 5, 2**31 - 1)  # the default stop (sys.maxsize) fails in pyarrow 26
    fields = pc.binary_join_element_wise(prefix, tail, b"")
    return fields if valid.all() else pc.if_else(pa.array(valid), fields, NULL_FIELD)


def encoder(pg_type: str) -> Callable[[pa.Array], pa.Array]:
    """The field encoder for a column created with this PostgreSQL type (see ``postgis.pg_type``)."""
    return {
        "bigint": lambda c: _numbers(c, ">i8", pa.int64()),
        "integer": lambda c: _numbers(c, ">i4", pa.int32()),
        "smallint": lambda c: _numbers(c, ">i2", pa.int16()),
        "double precision": lambda c: _numbers(c, ">f8", pa.float64()),
        "real": lambda c: _numbers(c, ">f4", pa.float32()),
        "boolean": _bool,
        "date": _date,
        "timestamp": _timestamp,
        "timestamptz": _timestamp,
    }.get(pg_type, _text)


def chunk(batch: pa.RecordBatch, columns: list[tuple[str, str]], geom: str, srid: int) -> memoryview:
    """The binary COPY rows (no signature, no trailer) of ``batch`` for ``columns`` — (name, pg type)
    pairs in the order of the COPY column list; ``geom`` is the WKB column, sent as EWKB with ``srid``.
    A value that cannot be sent raises :class:`StoreError` naming the column."""
    n = batch.num_rows
    count = np.full(n, len(columns), dtype=">i2")
    steps = np.arange(0, 2 * n + 2, 2, dtype=np.int32)
    parts = [pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(steps), pa.py_buffer(count)])]
    for name, typ in columns:
        col = batch.column(name)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        try:
            parts.append(ewkb(col, srid) if name == geom else encoder(typ)(col))
        except (ValueError, pa.ArrowException) as e:
            raise StoreError(f"column '{name}': {e}") from e
    # 64-bit offsets: one batch of large polygons may pass 2 GiB once its fields are joined
    rows = pc.binary_join_element_wise(*(p.cast(pa.large_binary()) for p in parts),
                                       pa.scalar(b"", pa.large_binary()))
    off = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset: rows.offset + n + 1]
    return memoryview(rows.buffers()[2])[off[0]: off[-1]] if n else memoryview(b"")
