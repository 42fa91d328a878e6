"""A pygeoapi feature provider for PostGIS that lets the database build the GeoJSON.

Why our own (measured in bench/serve_bench.py): pygeoapi's PostgreSQL provider spends most of a
``items?bbox=…&limit=100`` request outside the database — re-parsing the storage CRS with pyproj for every
bbox, building SQLAlchemy ORM objects and converting each geometry through shapely. Here one SQL statement
returns the page as JSON text (``ST_AsGeoJSON`` + ``json_build_object`` + ``json_agg``), which Python's C
JSON parser turns into the dicts pygeoapi expects; ``numberMatched`` is a COUNT with the same WHERE.

Filters (CQL2 text/JSON via pygeofilter) become parameterised SQL with PostGIS spatial functions
(:mod:`publishers.ogcapi.cql`). Every statement is composed with ``psycopg.sql``: identifiers (checked
against the table's columns) and the property names used as JSON keys are quoted by psycopg, values are
always bound parameters. One connection per server thread, reopened if it breaks.

Config: ``{type: feature, name: publishers.ogcapi.postgis.PostGISProvider, data: {dsn: postgresql://…,
search_path: [public]}, table: t, id_field: fid, geom_field: geom, storage_crs: …CRS84}``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import psycopg
import shapely
from psycopg import sql
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)
from pygeoapi.util import crs_transform

from publishers.ogcapi.rows import compiled, hidden_attributes, row_filter
from publishers.ogcapi.cql import bad_query, bbox_2d, order_by, to_sql

_TYPES = {"integer": "integer", "bigint": "integer", "smallint": "integer", "numeric": "number",
          "double precision": "number", "real": "number", "boolean": "boolean", "date": "string",
          "timestamp without time zone": "string", "timestamp with time zone": "string"}
_FORMATS = {"date": "date", "timestamp without time zone": "date-time", "timestamp with time zone": "date-time"}
_SPATIAL = {"intersects": "ST_Intersects", "disjoint": "ST_Disjoint", "contains": "ST_Contains",
            "within": "ST_Within", "touches": "ST_Touches", "crosses": "ST_Crosses", "overlaps": "ST_Overlaps",
            "equals": "ST_Equals"}


# pygeoapi makes a new provider object for every request: connections and table schemas are kept here,
# per server thread and per (dsn, table), so a request costs its queries and nothing more
_LOCAL = threading.local()
_SCHEMAS: dict[tuple[str, str, str], dict[str, str]] = {}
BIGINT_MAX = 2**63 - 1  # LIMIT/OFFSET are bigint: a larger page request is the same as the largest


def _text(part: sql.Composable) -> str:
    """A piece quoted by psycopg.sql, as text that can sit in a query with ``%s`` parameters.

    psycopg reads every ``%`` of a query as a placeholder marker, including one inside a quoted identifier
    or literal, so it is doubled here (a column may be called ``частка_%``).
    """
    return part.as_string(None).replace("%", "%%")


def pg_ident(name: str) -> str:
    """A PostgreSQL identifier quoted by psycopg.sql; the only way a column or table name enters SQL."""
    return _text(sql.Identifier(name))


def _q(*parts: str | sql.Composable) -> sql.Composed:
    """A statement from fixed SQL text and pieces already quoted by psycopg.sql (never request strings)."""
    return sql.Composed([p if isinstance(p, sql.Composable) else sql.SQL(p) for p in parts])


class PostGISProvider(BaseProvider):
    """OGC API Features over one PostGIS table (EPSG:4326, lon/lat)."""

    def __init__(self, provider_def: dict[str, Any]):
        super().__init__(provider_def)
        self.field_titles: dict[str, str] = {n: t for n, t in provider_def.get("field_titles") or ()}
        data = provider_def["data"]
        self.dsn = data["dsn"] if isinstance(data, dict) else str(data)
        self.schema = (data.get("search_path") or ["public"])[0] if isinstance(data, dict) else "public"
        self.table = provider_def["table"]
        self.id_field = provider_def.get("id_field") or "fid"
        self.geom = provider_def.get("geom_field") or "geom"
        self.rows = row_filter(provider_def)
        self.hidden = hidden_attributes(provider_def)
        self._load_schema()
        self.get_fields()

    # -- connection & schema ---------------------------------------------------------------------
    def _conn(self) -> psycopg.Connection:
        conns = getattr(_LOCAL, "conns", None)
        if conns is None:
            conns = _LOCAL.conns = {}
        conn = conns.get(self.dsn)
        if conn is None or conn.closed or conn.broken:
            try:
                conn = psycopg.connect(self.dsn, autocommit=True, application_name="geoportal-ogcapi")
            except psycopg.Error as e:
                raise ProviderConnectionError(f"PostGIS {self.table}: cannot connect ({e})") from e
            conns[self.dsn] = conn
        return conn

    def _load_schema(self) -> None:
        key = (self.dsn, self.schema, self.table)
        if key not in _SCHEMAS:
            rows = self._conn().execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = %s ORDER BY ordinal_position", (self.schema, self.table)).fetchall()
            if not rows:
                raise ProviderConnectionError(f"no table {self.schema}.{self.table} in PostGIS")
            # a re-ingest swaps the table in with the same columns or new ones: cache per (table, columns)
            _SCHEMAS[key] = {name: dtype for name, dtype in rows}
        self.all_columns = [n for n in _SCHEMAS[key] if n != self.geom]  # the row filter may name hidden ones
        self.column_types = {n: t for n, t in _SCHEMAS[key].items()
                             if n != self.geom and n not in self.hidden}
        self.columns = list(self.column_types)
        self.qtable = sql.SQL(_text(sql.Identifier(self.schema, self.table)))

    def get_fields(self) -> dict[str, dict[str, str]]:
        if not self._fields:
            for c, t in self.column_types.items():
                if c == self.id_field:
                    continue
                self._fields[c] = {"type": _TYPES.get(t, "string")}
                if t in _FORMATS:
                    self._fields[c]["format"] = _FORMATS[t]
                if c in self.field_titles:  # the original header (publishers/pygeoapi.py puts them here)
                    self._fields[c]["title"] = self.field_titles[c]
        return self._fields

    # -- SQL pieces --------------------------------------------------------------------------------
    def _col(self, name: str) -> sql.SQL:
        return sql.SQL("t." + pg_ident(name))

    def _spatial_sql(self, op: str, geometry: Any) -> tuple[str, list[Any]]:
        """The filter geometry is a parameter of type geometry (EWKB), not a function of a text parameter:
        psycopg prepares a statement after a few runs and PostgreSQL may then use a generic plan, which
        re-evaluates ``ST_GeomFromGeoJSON($1)`` for every candidate row (S_INTERSECTS of a hromada-sized
        polygon over 100,000 decisions: 58 ms instead of 6.5 ms, bench/decisions_bench.py)."""
        ewkb = shapely.to_wkb(shapely.set_srid(geometry, 4326), hex=True, include_srid=True)
        return f"{_SPATIAL[op]}(t.{pg_ident(self.geom)}, %s::geometry)", [ewkb]

    def _where(self, bbox: list[float], properties: list[tuple[str, Any]], filterq: Any
               ) -> tuple[sql.Composable, list[Any]]:
        clauses: list[sql.Composable] = []
        params: list[Any] = []
        for name, value in properties or []:
            if name not in self.column_types:
                raise bad_query(f"unknown property '{name}'")
            clauses.append(_q(self._col(name), "::text = %s"))
            params.append(str(value))
        if bbox:
            clauses.append(_q(self._col(self.geom), " && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"))
            params.extend(bbox_2d(bbox))
        # each CQL fragment holds only identifiers quoted by pg_ident (psycopg.sql) and %s placeholders
        if self.rows is not None:  # an access rule's row filter, as SQL made once per table and columns
            frag, p = self._rows_sql()
            if frag:
                clauses.append(_q("(", sql.SQL(frag), ")"))
                params.extend(p)
        if filterq is not None:
            frag, p = self._sql_of(filterq, self.columns)
            if frag:
                clauses.append(_q("(", sql.SQL(frag), ")"))
                params.extend(p)
        if not clauses:
            return sql.SQL(""), params
        return _q(" WHERE ", sql.SQL(" AND ").join(clauses)), params

    def _rows_sql(self) -> tuple[str, list[Any]]:
        """The row filter as a WHERE fragment over every column (a hidden one may be filtered on), its area's
        polygon as EWKB. Kept per (database, table, geometry column, columns): the text is the same for
        every request of a view."""
        key = (self.dsn, self.schema, self.table, self.geom, tuple(self.all_columns))
        return compiled(self.rows, key, lambda: self._sql_of(self.rows, self.all_columns))

    def _sql_of(self, node: Any, columns: list[str]) -> tuple[str, list[Any]]:
        frag, p, _ = to_sql(node, set(columns), pg_ident, placeholder="%s", spatial_sql=self._spatial_sql)
        return frag, p

    def _order(self, sortby: list[dict[str, str]]) -> sql.SQL:
        return sql.SQL(order_by(sortby, self.column_types, self.id_field, pg_ident))

    def _feature_sql(self, select_properties: list[str], skip_geometry: bool) -> sql.Composable:
        cols = [c for c in self.columns if c != self.id_field and (not select_properties or c in select_properties)]
        # jsonb_build_object takes at most 100 arguments: build the properties in chunks of 50 columns
        chunks = [cols[i:i + 50] for i in range(0, len(cols), 50)] or [[]]
        props = sql.SQL(" || ").join(
            _q("jsonb_build_object(",
               sql.SQL(", ").join(_q(sql.SQL(_text(sql.Literal(c))), ", ", self._col(c)) for c in chunk), ")")
            for chunk in chunks)
        geom = sql.SQL("NULL") if skip_geometry else _q("ST_AsGeoJSON(", self._col(self.geom), ", 9)::json")
        return _q("json_build_object('type', 'Feature', 'id', ", self._col(self.id_field), ", 'geometry', ", geom,
                  ", 'properties', ", props, ")")

    def _run(self, query: sql.Composable, params: list[Any]) -> Any:
        try:
            try:
                return self._conn().execute(query, params).fetchone()[0]  # type: ignore[index]
            except psycopg.OperationalError:
                # the kept connection died with its server (a replica restarted, a failover): one more try
                # on a new connection, which the read DSN may send to another host; reads only, so safe
                getattr(_LOCAL, "conns", {}).pop(self.dsn, None)
                return self._conn().execute(query, params).fetchone()[0]  # type: ignore[index]
        except (psycopg.DataError, psycopg.errors.UndefinedFunction) as e:  # '2.5' > 'abc', numeric LIKE 'x'
            raise bad_query(f"the filter does not fit the data of {self.table}: {e.diag.message_primary}") from e
        except psycopg.errors.UndefinedColumn as e:  # the table was swapped for one with other columns
            _SCHEMAS.pop((self.dsn, self.schema, self.table), None)
            raise ProviderQueryError(f"the layer changed while querying; retry ({e})") from e
        except psycopg.OperationalError as e:
            getattr(_LOCAL, "conns", {}).pop(self.dsn, None)
            raise ProviderConnectionError(f"PostGIS {self.table}: {e}") from e

    # -- the provider contract -----------------------------------------------------------------------
    @crs_transform
    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results", bbox: list[float] = [],
              datetime_: str | None = None, properties: list[tuple[str, Any]] = [], sortby: list[dict] = [],
              select_properties: list[str] = [], skip_geometry: bool = False, q: str | None = None,
              filterq: Any = None, **kwargs: Any) -> dict[str, Any]:
        for c in select_properties or []:
            if c not in self.column_types:
                raise bad_query(f"unknown property '{c}'")
        where, params = self._where(bbox, properties, filterq)
        matched = self._run(_q("SELECT count(*) FROM ", self.qtable, " t", where), params)
        if resulttype == "hits":
            return {"type": "FeatureCollection", "features": [], "numberMatched": matched, "numberReturned": 0}
        stmt = _q("SELECT coalesce(json_agg(f.j), '[]')::text FROM (SELECT ",
                  self._feature_sql(select_properties, skip_geometry), " AS j FROM ", self.qtable, " t", where,
                  self._order(sortby), " LIMIT %s OFFSET %s) f")
        page = [min(int(limit), BIGINT_MAX), min(int(offset), BIGINT_MAX)]
        features = json.loads(self._run(stmt, params + page))
        return {"type": "FeatureCollection", "features": features, "numberMatched": matched,
                "numberReturned": len(features)}

    @crs_transform
    def get(self, identifier: Any, **kwargs: Any) -> dict[str, Any]:
        where, params = self._where([], [], None)  # the collection's row filter, if an access rule set one
        stmt = _q("SELECT ", self._feature_sql([], False), "::text FROM ", self.qtable, " t",
                  where, " AND " if self.rows is not None else " WHERE ",
                  self._col(self.id_field), "::text = %s")
        row = self._conn().execute(stmt, (*params, str(identifier))).fetchone()
        if row is None:
            raise ProviderItemNotFoundError(f"no feature '{identifier}' in {self.table}")
        return json.loads(row[0])

    def __repr__(self) -> str:
        return f"<PostGISProvider> {self.schema}.{self.table}"
