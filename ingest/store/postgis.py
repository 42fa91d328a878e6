"""PostGIS storage: COPY into a new version table, index and ANALYZE it, then swap it in for the current
table — all in ONE transaction, so readers see the old version or the new one, never a partial one.

Tables: ``<schema>.<name>`` is the current version; earlier ones stay as ``<name>__vN`` (the last
``GEOPORTAL_KEEP_VERSIONS``) for rollback; rejected features go to ``<name>__rejected``. The versions
and the provenance of each load are in ``<schema>.geoportal_versions``. Every identifier goes through
``psycopg.sql.Identifier``; values are parameters.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import psycopg
import pyarrow as pa
from psycopg import sql

from geoportal.errors import StoreError
from geoportal.model import RowFilter
from ingest.ahead import Ahead
from ingest.store import GEOM, KEEP_VERSIONS, LayerStream, pgbinary
from ingest.store.rows import ident

VERSIONS = "geoportal_versions"
_PG = {pa.string(): "text", pa.large_string(): "text", pa.int64(): "bigint", pa.int32(): "integer",
       pa.int16(): "smallint", pa.int8(): "smallint", pa.float64(): "double precision", pa.float32(): "real",
       pa.bool_(): "boolean", pa.date32(): "date"}
_GTYPE = {"Unknown": "Geometry"}


def pg_type(t: pa.DataType) -> str:
    if t in _PG:
        return _PG[t]
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_integer(t):
        return "bigint"
    return "text"


def srid_of(crs: str) -> int:
    from ingest.crs import epsg_code

    code = epsg_code(crs)
    if code is None:
        from pyproj import CRS

        code = CRS.from_user_input(crs).to_epsg(min_confidence=70)
    if not code:
        raise StoreError(f"storage CRS {crs[:60]} has no EPSG code; PostGIS storage needs one (storage.crs)")
    return int(code)


NAME_BYTES = 39  # PostgreSQL cuts identifiers at 63 bytes: room for "__rejected__new", "__v<N>_geom_idx"


def table_name(dataset_id: str) -> str:
    """The table of a dataset: '-' as '_', and short enough (in UTF-8 bytes: a Cyrillic letter is two) that
    PostgreSQL never cuts it or its version tables — cut names would collide ("relation already exists").
    A name that had to be shortened keeps a hash of the whole, so two long names stay apart."""
    name = dataset_id.replace("-", "_")
    if len(name.encode()) <= NAME_BYTES:
        return name
    digest = hashlib.sha1(dataset_id.encode()).hexdigest()[:8]
    head = name.encode()[: NAME_BYTES - 9].decode("utf-8", "ignore")
    return f"{head}_{digest}"


class PostgisStore:
    backend = "postgis"

    def __init__(self, dsn: str, *, schema: str = "public"):
        self.dsn, self.schema = dsn, schema

    def table_for(self, dataset_id: str) -> str:
        return table_name(dataset_id)

    def location(self, table: str) -> "PostgisTable":
        return PostgisTable(self.dsn, self.schema, table)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            # binary COPY sends text as UTF-8 bytes, which the server reads in the client encoding
            return psycopg.connect(self.dsn, client_encoding="UTF8")
        except psycopg.Error as e:
            raise StoreError(f"{self.dsn}: cannot connect to PostgreSQL ({e}); check the DSN and that the "
                             "server runs") from e

    def _ensure(self, cur: psycopg.Cursor[Any]) -> None:
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
        cur.execute(sql.SQL("""CREATE TABLE IF NOT EXISTS {}.{} (
            dataset text NOT NULL, version integer NOT NULL, table_name text, rejected_table text,
            checksum text, loaded_at timestamptz NOT NULL DEFAULT now(), is_current boolean NOT NULL,
            provenance jsonb, PRIMARY KEY (dataset, version))""").format(
            sql.Identifier(self.schema), sql.Identifier(VERSIONS)))

    def _q(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))

    def _rows(self, table: str) -> list[dict[str, Any]]:
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass(format('%%I.%%I', %s::text, %s::text))", (self.schema, VERSIONS))
            if cur.fetchone()[0] is None:  # type: ignore[index]
                return []
            cur.execute(sql.SQL("SELECT version, table_name, checksum, loaded_at, is_current, provenance "
                                "FROM {} WHERE dataset = %s ORDER BY version").format(self._q(VERSIONS)),
                        (table,))
            return [{"version": v, "table": t, "checksum": c, "loaded_at": la.isoformat(), "current": cur_,
                     "file": t, "provenance": p} for v, t, c, la, cur_, p in cur.fetchall()]

    def history(self, table: str) -> list[dict[str, Any]]:
        return self._rows(table)

    def current(self, table: str) -> dict[str, Any] | None:
        return next((r for r in self._rows(table) if r["current"]), None)

    def next_version(self, table: str) -> int:
        return max((r["version"] for r in self._rows(table)), default=0) + 1

    def _create(self, cur: psycopg.Cursor[Any], name: str, schema: pa.Schema, gtype: str, srid: int) -> None:
        # the primary key is added after the COPY (_index): one sorted build instead of a b-tree insert per row
        cols = [sql.SQL("fid bigint GENERATED ALWAYS AS IDENTITY")]
        for f in schema:
            if f.name == GEOM:
                cols.append(sql.SQL("geom geometry({}, {})").format(
                    sql.SQL(_GTYPE.get(gtype, gtype)), sql.Literal(srid)))
            elif not (pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)):
                cols.append(sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(pg_type(f.type))))
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._q(name)))
        cur.execute(sql.SQL("CREATE TABLE {} ({})").format(self._q(name), sql.SQL(", ").join(cols)))

    def _copy(self, cur: psycopg.Cursor[Any], name: str, schema: pa.Schema, batches: Any, srid: int) -> int:
        """Binary COPY of the batches (see ``pgbinary``); the WKB column goes in as EWKB with ``srid``."""
        columns = [(f.name, "geometry" if f.name == GEOM else pg_type(f.type)) for f in schema
                   if f.name == GEOM or not (pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type))]
        stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
            self._q(name), sql.SQL(", ").join(sql.Identifier(c) for c, _ in columns))
        def encode(b: pa.RecordBatch) -> tuple[memoryview, int]:
            return pgbinary.chunk(b, columns, GEOM, srid), b.num_rows

        n = 0
        # the batches are made and encoded in a second thread while this one sends the previous chunk
        with cur.copy(stmt) as cp, Ahead(batches, encode, name="copy-encoder") as chunks:
            cp.write(pgbinary.SIGNATURE)
            for chunk, rows in chunks:
                if rows:
                    cp.write(chunk)
                    n += rows
            cp.write(pgbinary.TRAILER)
        return n

    def _index(self, cur: psycopg.Cursor[Any], name: str) -> None:
        """Primary key and spatial index, built once the rows are in (faster than maintained per row)."""
        cur.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (fid)").format(self._q(name)))
        cur.execute(sql.SQL("CREATE INDEX {} ON {} USING gist (geom)").format(
            sql.Identifier(f"{name}_geom_idx"), self._q(name)))

    def write(self, layer: LayerStream) -> None:
        srid = srid_of(layer.crs)
        t, v = layer.table, layer.version
        new, rej = f"{t}__v{v}", f"{t}__rejected"
        try:
            with self._connect() as conn:
                with conn.cursor() as cur:
                    self._ensure(cur)
                    self._create(cur, new, layer.schema, layer.geometry_type, srid)
                    self._copy(cur, new, layer.schema, layer.batches, srid)
                    self._index(cur, new)
                    rej_schema, rejected = layer.rejected()
                    staged_rej = f"{rej}__new"
                    self._create(cur, staged_rej, rej_schema, "Unknown", srid)
                    self._copy(cur, staged_rej, rej_schema, rejected, srid)
                    cur.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (fid)").format(self._q(staged_rej)))
                    prov = layer.provenance()
                    self._swap(cur, t, v, new, staged_rej, prov)
                    cur.execute(sql.SQL("ANALYZE {}").format(self._q(t)))
        except psycopg.Error as e:
            raise StoreError(f"{self.dsn}: loading '{t}' failed ({e.__class__.__name__}: {e}); "
                             "the transaction was rolled back, the previous version is kept") from e
        except StoreError as e:  # a value the binary COPY cannot carry (pgbinary names the column)
            raise StoreError(f"{self.dsn}: loading '{t}' failed: {e}; the transaction was rolled back, "
                             "the previous version is kept") from e

    def _swap(self, cur: psycopg.Cursor[Any], t: str, v: int, new: str, staged_rej: str,
              prov: dict[str, Any]) -> None:
        cur.execute(sql.SQL("SELECT version FROM {} WHERE dataset = %s AND is_current").format(self._q(VERSIONS)), (t,))
        row = cur.fetchone()
        cur.execute("SELECT to_regclass(format('%%I.%%I', %s::text, %s::text))", (self.schema, t))
        exists = cur.fetchone()[0] is not None  # type: ignore[index]
        if exists:
            cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(self._q(t)))
            if row:
                cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(self._q(t), sql.Identifier(f"{t}__v{row[0]}")))
            else:
                cur.execute(sql.SQL("DROP TABLE {}").format(self._q(t)))
        cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(self._q(new), sql.Identifier(t)))
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._q(f"{t}__rejected")))
        cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(self._q(staged_rej), sql.Identifier(f"{t}__rejected")))
        cur.execute(sql.SQL("UPDATE {} SET is_current = false, table_name = %s || '__v' || version "
                            "WHERE dataset = %s AND table_name IS NOT NULL").format(self._q(VERSIONS)), (t, t))
        cur.execute(sql.SQL("INSERT INTO {} (dataset, version, table_name, rejected_table, checksum, loaded_at, "
                            "is_current, provenance) VALUES (%s, %s, %s, %s, %s, %s, true, %s)").format(self._q(VERSIONS)),
                    (t, v, t, f"{t}__rejected", prov.get("checksum"), prov.get("loaded_at"),
                     json.dumps(prov, ensure_ascii=False)))
        cur.execute(sql.SQL("SELECT version FROM {} WHERE dataset = %s AND table_name IS NOT NULL AND NOT is_current "
                            "ORDER BY version DESC OFFSET %s").format(self._q(VERSIONS)), (t, KEEP_VERSIONS - 1))
        for (old,) in cur.fetchall():
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._q(f"{t}__v{old}")))
            cur.execute(sql.SQL("UPDATE {} SET table_name = NULL WHERE dataset = %s AND version = %s").format(
                self._q(VERSIONS)), (t, old))

    def rollback(self, table: str, version: int) -> dict[str, Any]:
        t = table
        try:
            with self._connect() as conn, conn.cursor() as cur:
                cur.execute(sql.SQL("SELECT version, table_name, provenance, checksum, loaded_at FROM {} "
                                    "WHERE dataset = %s ORDER BY version").format(self._q(VERSIONS)), (t,))
                rows = cur.fetchall()
                target = next((r for r in rows if r[0] == version and r[1]), None)
                if target is None:
                    kept = ", ".join(str(r[0]) for r in rows if r[1]) or "none"
                    raise StoreError(f"{self.dsn}: version {version} of '{t}' is not kept (kept: {kept})")
                current = next((r for r in rows if r[1] == t), None)
                if current and current[0] == version:
                    return {"version": version, "provenance": target[2]}
                cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(self._q(t)))
                if current:
                    cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                        self._q(t), sql.Identifier(f"{t}__v{current[0]}")))
                cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                    self._q(f"{t}__v{version}"), sql.Identifier(t)))
                cur.execute(sql.SQL("UPDATE {} SET is_current = (version = %s), table_name = CASE WHEN "
                                    "table_name IS NULL THEN NULL WHEN version = %s THEN %s ELSE %s || '__v' || version END "
                                    "WHERE dataset = %s").format(self._q(VERSIONS)), (version, version, t, t, t))
                return {"version": version, "provenance": target[2], "checksum": target[3],
                        "loaded_at": target[4].isoformat()}
        except psycopg.Error as e:
            raise StoreError(f"{self.dsn}: rollback of '{t}' failed ({e}); nothing changed") from e


def libpq_keywords(dsn: str) -> str:
    """A libpq keyword string from a postgresql:// DSN (what MapServer's CONNECTION and GDAL's PG: take)."""
    from psycopg.conninfo import conninfo_to_dict

    return " ".join(f"{k}={v}" for k, v in conninfo_to_dict(dsn).items() if v is not None)


@dataclass(frozen=True)
class PostgisTable:
    """A table in PostGIS, optionally narrowed to the rows of a SQL filter."""

    backend: ClassVar[str] = "postgis"
    kind: ClassVar[str] = "vector"
    dsn: str
    schema: str
    table: str
    where: str | None = None
    cql2: str | None = None

    def describe(self) -> str:
        from psycopg.conninfo import conninfo_to_dict

        c = conninfo_to_dict(self.dsn)
        return f"PostGIS {c.get('host', '')}/{c.get('dbname', '')} {self.schema}.{self.table}"

    def exists(self) -> bool:
        try:
            with psycopg.connect(self.dsn, connect_timeout=5) as conn:
                row = conn.execute("SELECT to_regclass(%s)", (f"{ident(self.schema)}.{ident(self.table)}",)).fetchone()
        except psycopg.Error:
            return False
        return bool(row and row[0])

    def ogr_source(self) -> list[str]:
        return [f"PG:{libpq_keywords(self.dsn)}", f"{self.schema}.{self.table}"] + \
            (["-where", self.where] if self.where else [])

    def pygeoapi_provider(self, id_field: str, geometry_column: str) -> dict[str, Any]:
        block: dict[str, Any] = {"type": "feature", "name": "publishers.ogcapi.postgis.PostGISProvider",
                                 "data": {"dsn": self.dsn, "search_path": [self.schema, "public"]},
                                 "id_field": id_field, "table": self.table, "geom_field": geometry_column}
        if self.cql2:
            block["row_filter"] = self.cql2
        return block

    def mapserver_data(self, geometry_column: str, id_column: str, srid: int | None) -> dict[str, Any]:
        # a subquery: MapServer's DATA parser takes quoted identifiers (any table name) only inside one
        source = f"(SELECT * FROM {ident(self.schema)}.{ident(self.table)}"
        source += f" WHERE {self.where}) AS rows" if self.where else ") AS rows"
        connection = libpq_keywords(self.dsn)
        # reads that fail over (a replica, then the primary: several hosts) take a fresh connection per request:
        # a pooled one to a replica that died answers its next map with an error, where a new one finds the
        # primary (MapServer pools connections per FastCGI process by default)
        fails_over = "target_session_attrs" in connection or bool(re.search(r"host=\S*,", connection))
        return {"connectiontype": "postgis", "connection": connection,
                "data": f"{geometry_column} from {source} using unique {id_column} using srid={srid or 4326}",
                "featureid": id_column, "processing": ["CLOSE_CONNECTION=ALWAYS"] if fails_over else []}

    def restricted(self, rows: RowFilter) -> "PostgisTable":
        from ingest.store.rows import to_sql

        with psycopg.connect(self.dsn, connect_timeout=5) as conn:
            columns = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                (self.schema, self.table)).fetchall()]
            geo = conn.execute("SELECT f_geometry_column, srid FROM geometry_columns "
                               "WHERE f_table_schema = %s AND f_table_name = %s",
                               (self.schema, self.table)).fetchone()
        geom, srid = (geo[0], int(geo[1]) or 4326) if geo else ("geom", 4326)
        where = to_sql(rows.cql2, [c for c in columns if c != geom], geom, srid)
        both = f"({self.where}) AND {where}" if self.where else where
        cql = f"({self.cql2}) AND ({rows.cql2})" if self.cql2 else rows.cql2
        return replace(self, where=both, cql2=cql)

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "dsn": self.dsn, "schema": self.schema, "table": self.table,
                "where": self.where, "cql2": self.cql2}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PostgisTable":
        return cls(**d)


def target_for(storage: Any, data_dir: Any, dataset_id: str) -> str:
    """Every dataset of a node in the node's database (``storage.dsn``)."""
    return str(storage.dsn)


Store = PostgisStore
Location = PostgisTable
