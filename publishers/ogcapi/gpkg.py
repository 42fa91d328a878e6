"""A pygeoapi feature provider for GeoPackage that needs neither SpatiaLite nor GDAL's Python bindings.

Why our own: pygeoapi's SQLiteGPKG provider needs SpatiaLite (this Python's sqlite3 cannot load
extensions) and its OGR provider needs GDAL's bindings, returns no ``numberMatched`` and ignores
``filter``. A GeoPackage is plain SQLite: geometries are a small header plus WKB, and the spatial index
is an R*Tree virtual table, which the built-in sqlite3 module reads. So:

- bbox → the layer's R-tree (``rtree_<table>_<geom>``), then an exact test with shapely on the page;
- ``numberMatched`` → COUNT(*) with the same WHERE;
- ``filter`` (CQL2 text/JSON, parsed by pygeoapi/pygeofilter) → a parameterised SQL WHERE for
  attribute predicates (:mod:`publishers.ogcapi.cql`), spatial predicates as an R-tree prefilter plus an
  exact shapely test;
- a GeoPackage replaced atomically (os.replace) by a new version is picked up on the next request.

Config: ``{type: feature, name: publishers.ogcapi.gpkg.GeoPackageProvider, data: /path/x.gpkg,
table: layer, id_field: fid, title_field: name}``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from typing import Any

import numpy as np
import shapely
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderItemNotFoundError,
)
from pygeoapi.util import crs_transform

from publishers.ogcapi.rows import compiled, hidden_attributes, row_filter
from publishers.ogcapi.cql import bad_query, bbox_2d, SpatialTest, order_by, to_sql

_TYPES = {"INTEGER": "integer", "INT": "integer", "MEDIUMINT": "integer", "SMALLINT": "integer",
          "TINYINT": "integer", "BOOLEAN": "boolean", "REAL": "number", "DOUBLE": "number", "FLOAT": "number",
          "DATE": "string", "DATETIME": "string", "TEXT": "string"}
_FORMATS = {"DATE": "date", "DATETIME": "date-time"}
INT64_MAX = 2**63 - 1  # SQLite integers are 64-bit: a larger page offset is the same as the largest
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
# pygeoapi makes a new provider object for every request: connections (per server thread) and layer
# schemas (per file version) are kept here, so a request costs its queries and nothing more
_LOCAL = threading.local()
_SCHEMAS: dict[tuple[str, str, tuple[int, int]], dict[str, Any]] = {}
# (file, table, file version, row filter) → (row filter, JSON array of the keys inside its area)
_INSIDE: dict[tuple[str, str, tuple[int, int], int], tuple[Any, str | None]] = {}


def _sql_text(text: str) -> str:
    """A SQLite string literal (the keys' JSON array: digits, commas, brackets, or quoted text keys)."""
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """An SQLite identifier, quoted; the only way a column or table name enters SQL here."""
    return '"' + name.replace('"', '""') + '"'


def gpkg_to_wkb(blob: bytes) -> bytes:
    """Strip the GeoPackage binary header (magic 'GP', version, flags, srs_id, envelope) from a geometry."""
    if blob[:2] != b"GP":
        return blob  # already WKB (some writers)
    flags = blob[3]
    envelope = (flags >> 1) & 0x07
    return blob[8 + _ENVELOPE_BYTES.get(envelope, 0):]


class GeoPackageProvider(BaseProvider):
    """OGC API Features over one GeoPackage layer."""

    def __init__(self, provider_def: dict[str, Any]):
        super().__init__(provider_def)
        self.field_titles: dict[str, str] = {n: t for n, t in provider_def.get("field_titles") or ()}
        self.table = provider_def.get("table")
        if not self.table:
            raise ProviderConnectionError("GeoPackage provider needs 'table' (the layer name)")
        self.id_field = self.id_field or "fid"
        self.rows = row_filter(provider_def)
        self.hidden = hidden_attributes(provider_def)
        self.get_fields()

    # -- connection & schema -----------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        """A read-only connection to the current file; a file replaced by a new version is reopened."""
        try:
            st = os.stat(self.data)
        except OSError as e:
            raise ProviderConnectionError(f"GeoPackage {self.data} is not there: {e}") from e
        stamp = (st.st_ino, st.st_mtime_ns)
        conns = getattr(_LOCAL, "conns", None)
        if conns is None:
            conns = _LOCAL.conns = {}
        cached = conns.get(self.data)
        if cached is not None and cached[1] == stamp:
            conn = cached[0]
        else:
            if cached is not None:
                cached[0].close()
            conn = sqlite3.connect(f"file:{self.data}?mode=ro", uri=True, check_same_thread=False)
            conns[self.data] = (conn, stamp)
        key = (self.data, self.table, stamp)
        if key not in _SCHEMAS:
            _SCHEMAS[key] = self._read_schema(conn)
        self.__dict__.update(_SCHEMAS[key])
        self._stamp = stamp
        self._db = conn
        self.all_columns = self.columns  # the row filter may name a hidden attribute; a request may not
        if self.hidden:
            self.columns = [c for c in self.columns if c not in self.hidden]
        return conn

    def _read_schema(self, conn: sqlite3.Connection) -> dict[str, Any]:
        row = conn.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                           (self.table,)).fetchone()
        if row is None:
            raise ProviderConnectionError(f"{self.data}: no geometry layer '{self.table}'")
        geom_col = row[0]
        cols = conn.execute(f"PRAGMA table_info({quote_ident(self.table)})").fetchall()
        rtree = f"rtree_{self.table}_{geom_col}"
        has_rtree = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (rtree,)).fetchone()
        pk = next((c[1] for c in cols if c[5]), "fid")  # the R-tree is keyed by the integer primary key
        return {"geom_col": geom_col, "pk": pk,
                "columns": [c[1] for c in cols if c[1] != geom_col],
                "column_types": {c[1]: (c[2] or "TEXT").split("(")[0].upper() for c in cols},
                "rtree": rtree if has_rtree else None}

    def get_fields(self) -> dict[str, dict[str, str]]:
        self._conn()
        if not self._fields:
            fields = {}
            for c in self.columns:
                if c == self.id_field:
                    continue
                t = self.column_types.get(c, "TEXT")
                fields[c] = {"type": _TYPES.get(t, "string")}
                if t in _FORMATS:
                    fields[c]["format"] = _FORMATS[t]
                if c in self.field_titles:  # the original header (publishers/pygeoapi.py puts them here)
                    fields[c]["title"] = self.field_titles[c]
            self._fields = fields
        return self._fields

    # -- querying --------------------------------------------------------------------------------
    def _where(self, bbox: list[float], properties: list[tuple[str, Any]], filterq: Any
               ) -> tuple[str, list[Any], list[SpatialTest]]:
        clauses: list[str] = []
        params: list[Any] = []
        tests: list[SpatialTest] = []
        for name, value in properties or []:
            if name not in self.columns:
                raise bad_query(f"unknown property '{name}'")
            clauses.append(f"t.{quote_ident(name)} = ?")
            params.append(value)
        boxes: list[tuple[float, float, float, float]] = []
        if bbox:
            boxes.append(tuple(bbox_2d(bbox)))  # type: ignore[arg-type]
            tests.append(SpatialTest("intersects", shapely.box(*boxes[-1])))
        if self.rows is not None:  # an access rule's row filter, as SQL made once per file version
            sql, p = self._rows_sql()
            if sql:
                clauses.append(f"({sql})")
                params.extend(p)
        if filterq is not None:
            sql, p, spatial = to_sql(filterq, set(self.columns), quote_ident)
            if sql:
                clauses.append(f"({sql})")
                params.extend(p)
            tests.extend(spatial)
            boxes.extend(t.geometry.bounds for t in spatial if t.op != "disjoint")
        for b in boxes:
            if self.rtree:
                clauses.append(f"t.{quote_ident(self.pk)} IN (SELECT id FROM {quote_ident(self.rtree)} "
                               "WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?)")
                params.extend([b[0], b[2], b[1], b[3]])
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params, tests

    def _rows_sql(self) -> tuple[str, list[Any]]:
        """The row filter as a WHERE fragment: its area as the keys of the rows inside (``_rows_inside``).
        Kept per (file version, columns, connection: the keys may be a temporary table of this thread's)."""
        db = self._db

        def make() -> tuple[Any, str, list[Any]]:
            sql, p, spatial = to_sql(self.rows, set(self.all_columns), quote_ident)
            if spatial:  # an access rule's area: tested once per file version
                sql, p = self._rows_inside(sql, p, spatial)
            return db, sql, p

        key = (self.data, self.table, self._stamp, tuple(self.all_columns), id(db))
        kept = compiled(self.rows, key, make)
        if kept[0] is not db:  # another connection had that id once: make it for this one
            _, sql, p = make()
            return sql, p
        return kept[1], kept[2]

    def _rows_inside(self, sql: str, params: list[Any], tests: list[SpatialTest]) -> tuple[str, list[Any]]:
        """The row filter of an access rule with an area as plain SQL: the keys of the rows inside, found
        with the exact test once per (file version, filter) and kept (``_INSIDE``). Counting and paging then
        stay in SQLite, so a reader limited to an area pays about what an unlimited one does — and when every
        row passes the area (an oblast official reading the oblast's data) the area adds nothing at all."""
        key = (self.data, self.table, self._stamp, id(self.rows))
        hit = _INSIDE.get(key)
        if hit is None or hit[0] is not self.rows:
            where = f" WHERE {sql}" if sql else ""
            cur = self._db.execute(f"SELECT t.{quote_ident(self.pk)}, t.{quote_ident(self.geom_col)} "
                                   f"FROM {quote_ident(self.table)} t{where}", params)
            keys: list[Any] = []
            seen = 0
            while batch := cur.fetchmany(2000):
                seen += len(batch)
                g = self._geoms(batch)
                ok = np.ones(len(batch), dtype=bool)
                for t in tests:
                    ok &= t.evaluate(g)
                keys.extend(batch[i][0] for i in np.flatnonzero(ok))
            if len(_INSIDE) > 64:
                _INSIDE.clear()
            hit = _INSIDE[key] = (self.rows, None if len(keys) == seen else json.dumps(keys))
        if hit[1] is None:  # the area holds every row the rest of the filter keeps
            return sql, list(params)
        table = self._keys_table(key, hit[1])
        if table is not None:
            return f"t.{quote_ident(self.pk)} IN (SELECT id FROM temp.{table})", []
        return f"t.{quote_ident(self.pk)} IN (SELECT value FROM json_each({_sql_text(hit[1])}))", []

    def _keys_table(self, key: tuple[Any, ...], keys_json: str) -> str | None:
        """The keys inside an access area as a temporary table of this thread's connection (made once per
        connection and area): SQLite then looks each row up in its key instead of parsing the keys' JSON
        on every query. None when the keys are not all integers (the JSON is used)."""
        tables = getattr(_LOCAL, "keys_tables", None)
        if tables is None:
            tables = _LOCAL.keys_tables = {}
        where = (id(self._db), key)
        name = tables.get(where)
        if name is None:
            keys = json.loads(keys_json)
            if not all(type(k) is int for k in keys):
                return None
            if len(tables) > 256:
                tables.clear()
            name = f"geoportal_inside_{len(tables)}_{abs(hash(where)) % 10**12}"
            self._db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} (id INTEGER PRIMARY KEY)")
            self._db.execute(f"DELETE FROM temp.{name}")
            self._db.executemany(f"INSERT INTO temp.{name} (id) VALUES (?)", ((k,) for k in keys))
            self._db.commit()
            tables[where] = name
        return name

    def _order(self, sortby: list[dict[str, str]]) -> str:
        return order_by(sortby, self.columns, self.id_field, quote_ident)

    def _feature(self, row: tuple[Any, ...], names: list[str], geom: Any, skip_geometry: bool) -> dict[str, Any]:
        props = dict(zip(names, row))
        fid = props.pop(self.id_field) if self.id_field in props else None
        return {"type": "Feature", "id": fid,
                "geometry": None if skip_geometry or geom is None else json.loads(shapely.to_geojson(geom)),
                "properties": props}

    @crs_transform
    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results", bbox: list[float] = [],
              datetime_: str | None = None, properties: list[tuple[str, Any]] = [], sortby: list[dict] = [],
              select_properties: list[str] = [], skip_geometry: bool = False, q: str | None = None,
              filterq: Any = None, **kwargs: Any) -> dict[str, Any]:
        conn = self._conn()
        where, params, tests = self._where(bbox, properties, filterq)
        table = quote_ident(self.table)
        if not tests:
            matched = conn.execute(f"SELECT COUNT(*) FROM {table} t{where}", params).fetchone()[0]
            if resulttype == "hits":
                return {"type": "FeatureCollection", "features": [], "numberMatched": matched, "numberReturned": 0}
        names = [self.id_field] + [c for c in self.columns if c != self.id_field and
                                   (not select_properties or c in select_properties)]
        cols = ", ".join(f"t.{quote_ident(c)}" for c in names) + f", t.{quote_ident(self.geom_col)}"
        sql = f"SELECT {cols} FROM {table} t{where}{self._order(sortby)}"
        if not tests:
            page = [min(int(limit), INT64_MAX), min(int(offset), INT64_MAX)]
            rows = conn.execute(sql + " LIMIT ? OFFSET ?", params + page).fetchall()
            geoms = self._geoms(rows)
        else:  # exact spatial test in Python: page after testing
            rows, geoms, matched = self._filtered(conn.execute(sql, params), tests, int(offset), int(limit))
            if resulttype == "hits":
                return {"type": "FeatureCollection", "features": [], "numberMatched": matched, "numberReturned": 0}
        features = [self._feature(r[:-1], names, g, skip_geometry) for r, g in zip(rows, geoms)]
        return {"type": "FeatureCollection", "features": features, "numberMatched": matched,
                "numberReturned": len(features)}

    @staticmethod
    def _geoms(rows: list[tuple[Any, ...]]) -> np.ndarray:
        blobs = [gpkg_to_wkb(r[-1]) if r[-1] is not None else None for r in rows]
        return shapely.from_wkb(blobs)

    def _filtered(self, cursor: sqlite3.Cursor, tests: list[SpatialTest], offset: int, limit: int
                  ) -> tuple[list[tuple[Any, ...]], list[Any], int]:
        rows: list[tuple[Any, ...]] = []
        geoms: list[Any] = []
        matched = 0
        while batch := cursor.fetchmany(2000):
            g = self._geoms(batch)
            ok = np.ones(len(batch), dtype=bool)
            for t in tests:
                ok &= t.evaluate(g)
            for i in np.flatnonzero(ok):
                if offset <= matched < offset + limit:
                    rows.append(batch[i])
                    geoms.append(g[i])
                matched += 1
        return rows, geoms, matched

    @crs_transform
    def get(self, identifier: Any, **kwargs: Any) -> dict[str, Any]:
        conn = self._conn()
        names = [self.id_field] + [c for c in self.columns if c != self.id_field]
        cols = ", ".join(f"{quote_ident(c)}" for c in names) + f", {quote_ident(self.geom_col)}"
        try:
            key: Any = int(identifier)
        except (TypeError, ValueError):
            key = identifier
        if isinstance(key, int) and not -INT64_MAX - 1 <= key <= INT64_MAX:  # no such row; SQLite would overflow
            raise ProviderItemNotFoundError(f"no feature '{identifier}' in {self.table}")
        # the collection's row filter, if an access rule set one (its area tested on the row below)
        where, params, tests = self._where([], [], None)
        where = f"{where} AND" if where else " WHERE"
        row = conn.execute(f"SELECT {cols} FROM {quote_ident(self.table)} t{where} t.{quote_ident(self.id_field)} = ?",
                           (*params, key)).fetchone()
        if row is None:
            raise ProviderItemNotFoundError(f"no feature '{identifier}' in {self.table}")
        geom = self._geoms([row])
        if not all(bool(t.evaluate(geom)[0]) for t in tests):  # outside the area an access rule allows
            raise ProviderItemNotFoundError(f"no feature '{identifier}' in {self.table}")
        return self._feature(row[:-1], names, geom[0], False)

    def __repr__(self) -> str:
        return f"<GeoPackageProvider> {self.data}:{self.table}"

