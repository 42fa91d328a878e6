"""The binary COPY of the PostGIS store round-trips every Arrow type the pipeline produces, value by value,
read back independently (psycopg's own text-format decoding, and psql for the geometries)."""

from __future__ import annotations

import datetime as dt
import math
import subprocess

import numpy as np
import pyarrow as pa
import pytest
import shapely
from hypothesis import HealthCheck, given, settings, strategies as st

from geoportal.errors import StoreError

psycopg = pytest.importorskip("psycopg")

from ingest.store import GEOM, LayerStream, pgbinary  # noqa: E402
from ingest.store.postgis import PostgisStore, pg_type  # noqa: E402

UTC = dt.timezone.utc
TEXTS = ["Овруцька громада", 'лапки "подвійні" і \'одинарні\'', "таб\tі\nновий рядок\r\n", "", None,
         "Об'єкт ʼапостроф’", "emoji 🗺", "\\N", "кома, крапка; ", "a" * 5000]
N = len(TEXTS)


def _batch(offset: int = 0) -> pa.RecordBatch:
    """Every column type the pipeline hands to a store, with NULLs, extremes and awkward text."""
    geoms = [shapely.Point(28.5, 50.2), shapely.Polygon([(28, 50), (28.1, 50), (28.1, 50.1), (28, 50)]),
             shapely.MultiPolygon([shapely.box(28, 50, 28.1, 50.1), shapely.box(29, 51, 29.1, 51.1)]),
             shapely.LineString([(28, 50), (29, 51)]), None] * (N // 5)
    geoms = [shapely.Point(28.5 + (i + offset) / 100, 50.2) if i % 5 == 0 else g for i, g in enumerate(geoms)]
    cols = {
        "nazva": pa.array(TEXTS, pa.string()),
        "i64": pa.array([2**63 - 1, -2**63, 0, None, 7, -1, 42, 1, 2, 3], pa.int64()),
        "i32": pa.array([2**31 - 1, -2**31, None, 0, 1, 2, 3, 4, 5, 6], pa.int32()),
        "i16": pa.array([2**15 - 1, -2**15, None, 0, 1, 2, 3, 4, 5, 6], pa.int16()),
        "i8": pa.array([127, -128, None, 0, 1, 2, 3, 4, 5, 6], pa.int8()),
        "u32": pa.array([2**32 - 1, 0, None, 1, 2, 3, 4, 5, 6, 7], pa.uint32()),
        "f64": pa.array([1.5, -0.0, float("nan"), float("inf"), float("-inf"), None, 1e308, 5e-324, 3.14159, 0.1]),
        "f32": pa.array([1.5, None, float("nan"), 0.25, -2.0, 1, 2, 3, 4, 5], pa.float32()),
        "flag": pa.array([True, False, None, True, False, True, False, True, False, True]),
        "day": pa.array([dt.date(2024, 2, 29), dt.date(1999, 12, 31), dt.date(2000, 1, 1), None, dt.date(1, 1, 1),
                         dt.date(9999, 12, 31), dt.date(1970, 1, 1), dt.date(1941, 6, 22), dt.date(2022, 2, 24),
                         dt.date(1991, 8, 24)], pa.date32()),
        "ts": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 678901), None, dt.datetime(1999, 12, 31, 23, 59, 59),
                        dt.datetime(2000, 1, 1), dt.datetime(1900, 1, 1, 12), dt.datetime(2038, 1, 19, 3, 14, 8),
                        dt.datetime(1970, 1, 1), dt.datetime(2000, 1, 1, 0, 0, 0, 1), dt.datetime(2100, 1, 1),
                        dt.datetime(1986, 4, 26, 1, 23, 40)], pa.timestamp("ms")),
        "tstz": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), None] * 5, pa.timestamp("us", tz="UTC")),
        "empty": pa.nulls(N, pa.string()),
        GEOM: pa.array([g and shapely.to_wkb(g) for g in geoms], pa.binary()),
    }
    return pa.record_batch(list(cols.values()), names=list(cols))


def _expected(batch: pa.RecordBatch, name: str) -> list:
    values = batch.column(name).to_pylist()
    if name == "ts":  # the column is stored to the microsecond; Arrow's ms already are
        return values
    if name == "tstz":
        return [v.astimezone(UTC) if v else None for v in values]
    return values


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b) or (isinstance(a, float) and a == b)


def test_every_type_round_trips_value_by_value(pg_dsn):
    whole = _batch()
    sliced = pa.concat_batches([_batch(1), _batch(2)]).slice(3, N)  # an Arrow offset into the buffers
    batches = [whole, whole.slice(0, 0), sliced]
    schema = whole.schema
    PostgisStore(pg_dsn).write(LayerStream(
        table="roundtrip", schema=schema, batches=iter(batches), geometry_type="Unknown", crs="EPSG:4326",
        version=1, rejected=lambda: (schema, []), provenance=lambda: {"checksum": "x", "loaded_at": "2026-01-01T00:00:00+00:00"}))
    names = [f.name for f in schema if f.name != GEOM]
    with psycopg.connect(pg_dsn) as conn:
        types = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = 'roundtrip'").fetchall())
        conn.execute("SET TIME ZONE 'UTC'")
        cur = conn.execute("SELECT {} FROM roundtrip ORDER BY fid".format(", ".join(f'"{n}"' for n in names)))
        rows = cur.fetchall()
    assert types["i64"] == "bigint" and types["i8"] == "smallint" and types["u32"] == "bigint"
    assert types["f32"] == "real" and types["tstz"] == "timestamp with time zone" and types["day"] == "date"
    assert len(rows) == 2 * N
    for batch, got in ((whole, rows[:N]), (sliced, rows[N:])):
        for j, name in enumerate(names):
            want = _expected(batch, name)
            for i in range(N):
                assert _same(got[i][j], want[i]), (name, i, got[i][j], want[i])
    # the geometries, read by psql (not psycopg, not our code): EWKT with the SRID, NULL kept
    out = subprocess.run(["psql", pg_dsn, "-AtX", "-c",
                          "SELECT coalesce(ST_AsEWKT(geom), 'NULL') FROM roundtrip ORDER BY fid"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    want = [w and shapely.from_wkb(w) for b in (whole, sliced) for w in b.column(GEOM).to_pylist()]
    assert len(out) == len(want) and out.count("NULL") == want.count(None) == 4
    for line, geom in zip(out, want):
        if geom is not None:
            assert line.startswith("SRID=4326;")
            assert shapely.equals_exact(shapely.from_wkt(line.split(";", 1)[1]), geom, tolerance=0)


def test_bad_values_refused_naming_the_column_previous_version_kept(pg_dsn):
    schema = pa.schema([("nazva", pa.string()), ("n", pa.uint64()), (GEOM, pa.binary())])
    wkb = shapely.to_wkb(shapely.Point(28.5, 50.2))

    def load(names, ns, version):
        batch = pa.record_batch([pa.array(names, pa.string()), pa.array(ns, pa.uint64()),
                                 pa.array([wkb] * len(names), pa.binary())], schema=schema)
        PostgisStore(pg_dsn).write(LayerStream(
            table="refused", schema=schema, batches=iter([batch]), geometry_type="Point", crs="EPSG:4326",
            version=version, rejected=lambda: (schema, []),
            provenance=lambda: {"checksum": str(version), "loaded_at": "2026-01-01T00:00:00+00:00"}))

    load(["перший", "другий"], [1, 2], 1)
    with pytest.raises(StoreError, match=r"refused.*column 'nazva'.*'по\\x00гане'.*NUL"):
        load(["добре", "по\x00гане"], [1, 2], 2)
    with pytest.raises(StoreError, match=r"refused.*column 'n'.*out of range"):
        load(["добре", "добре"], [1, 2**64 - 1], 2)
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT nazva, n FROM refused ORDER BY fid").fetchall() == [("перший", 1), ("другий", 2)]
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'refused__v2%'").fetchone() == (0,)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.none(), st.text(st.characters(blacklist_characters="\x00",
                                                                   blacklist_categories=["Cs"]))),
                      min_size=1, max_size=30),
       floats=st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=30, max_size=30),
       ints=st.lists(st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)), min_size=30, max_size=30))
def test_any_text_float_int_round_trips(pg_dsn, texts, floats, ints):
    n = len(texts)
    batch = pa.record_batch([pa.array(texts, pa.string()), pa.array(floats[:n], pa.float64()),
                             pa.array(ints[:n], pa.int64()),
                             pa.array(shapely.to_wkb(shapely.points(np.full(n, 28.5), np.full(n, 50.0))))],
                            names=["t", "f", "i", GEOM])
    columns = [(f.name, "geometry" if f.name == GEOM else pg_type(f.type)) for f in batch.schema]
    with psycopg.connect(pg_dsn, client_encoding="UTF8") as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE p (t text, f double precision, i bigint, geom geometry(Point, 4326))")
        with cur.copy("COPY p FROM STDIN (FORMAT binary)") as cp:
            cp.write(pgbinary.SIGNATURE)
            cp.write(pgbinary.chunk(batch, columns, GEOM, 4326))
            cp.write(pgbinary.TRAILER)
        rows = cur.execute("SELECT t, f, i, ST_SRID(geom) FROM p").fetchall()
    assert [r[0] for r in rows] == texts
    assert all(_same(r[1], f) for r, f in zip(rows, floats))
    assert [r[2] for r in rows] == ints[:n] and {r[3] for r in rows} == {4326}


def _copy_geoms(dsn, wkb: list) -> list[str]:
    batch = pa.record_batch([pa.array(wkb, pa.binary())], names=[GEOM])
    with psycopg.connect(dsn, client_encoding="UTF8") as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE g (geom geometry)")  # no typmod: the SRID read back is the one we sent
        with cur.copy("COPY g FROM STDIN (FORMAT binary)") as cp:
            cp.write(pgbinary.SIGNATURE)
            cp.write(pgbinary.chunk(batch, [(GEOM, "geometry")], GEOM, 2383))
            cp.write(pgbinary.TRAILER)
        return [r[0] for r in cur.execute("SELECT coalesce(ST_AsEWKT(geom), 'NULL') FROM g").fetchall()]


def test_ewkb_in_either_byte_order_or_with_an_srid(pg_dsn):
    poly = shapely.Polygon([(1, 2), (3, 2), (3, 4), (1, 2)])
    big, little = shapely.to_wkb(poly, byte_order=0), shapely.to_wkb(poly, byte_order=1)
    z = shapely.to_wkb(shapely.Point(1, 2, 3), byte_order=0)
    assert _copy_geoms(pg_dsn, [big, little, None, z]) == [
        "SRID=2383;POLYGON((1 2,3 2,3 4,1 2))", "SRID=2383;POLYGON((1 2,3 2,3 4,1 2))", "NULL",
        "SRID=2383;POINT(1 2 3)"]
    with_srid = shapely.to_wkb(shapely.set_srid(poly, 2383), include_srid=True)
    assert _copy_geoms(pg_dsn, [with_srid, None]) == ["SRID=2383;POLYGON((1 2,3 2,3 4,1 2))", "NULL"]
    assert _copy_geoms(pg_dsn, [None, None]) == ["NULL", "NULL"]  # a batch of rejects without geometry
    with pytest.raises(StoreError, match="column 'geom'.*feature 2.*WKB"):
        _copy_geoms(pg_dsn, [little, b"\x01\x01"])
