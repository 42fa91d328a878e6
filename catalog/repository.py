"""pycsw's repository as the node's own readers read it — OAI-PMH (:mod:`metadata.oaipmh`), the markers the
catalog views are decided from (:mod:`catalog.access_view`) and the search index (:mod:`search.documents`) —
so that they read the repository pycsw answers CSW from and writes CSW-T to, not a copy of it.

A built node's repository is the SQLite file of the build (``catalog.db``); the production topology's is a
PostgreSQL database (:mod:`geoportal.deploy.prepare` loads it and writes the pycsw configuration naming it).
Production's readers used to open the build's SQLite file, so a record inserted, changed or deleted with
CSW-T showed so in CSW and not in OAI-PMH. :func:`repository_of` takes the pycsw configuration the catalog
process runs with and returns the reader of the repository it names:

- :class:`SqliteRepository` opens the file read-only for each call (a rebuild's swap is seen at once);
- :class:`PostgresRepository` keeps one autocommit connection per thread (psycopg) and composes its
  statements with :mod:`psycopg.sql`, values bound.

Both select the rows a caller's :class:`~catalog.catalog_view.CatalogView` allows, by the same rule: the
SQLite condition is :meth:`CatalogView.where`, the PostgreSQL one :func:`pg_view_condition`, made from the
same three key sets (tests/catalog/test_repository.py runs both over the same rows). Identifiers are ordered
by code point on both (``COLLATE "C"`` on PostgreSQL), the order OAI-PMH's keyset paging compares in.

:meth:`stamp` changes whenever the records do, so a reader can keep what it derived (the markers) until
then: the SQLite file's (mtime, size, inode); on PostgreSQL a counter that a statement trigger on the table
increments (:func:`install_change_counter`, run when the catalog is loaded).

Only the standard library is imported at module level: :mod:`metadata.oaipmh`, which uses this module, also
runs in the pycsw venv (``catalog/pycsw_wsgi.py``), where psycopg is absent; a PostgreSQL repository is read
by the node's own processes.
"""

from __future__ import annotations

import configparser
import logging
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator, Mapping, Protocol, Sequence

from catalog.catalog_view import CatalogView
from geoportal.errors import CatalogError

log = logging.getLogger(__name__)

Row = Mapping[str, Any]
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")  # a column or table of pycsw's: plain lower-case names
#: a pseudo-column of :meth:`CatalogRepository.known_records`: the XML from its identification part on
#: (20,000 characters: where the English title and abstract are, without parsing the whole record)
IDENTIFICATION_XML = "identification_xml"
HEADER_COLUMNS = ("identifier", "date_modified", "insert_date", "schema")


class CatalogRepository(Protocol):
    """What the node's readers ask of pycsw's ``records`` table."""

    table: str

    def exists(self) -> bool:
        """Whether the catalog has been made (before the first build it has not)."""

    def stamp(self) -> object | None:
        """A value that changes whenever the records change; None while there is no catalog."""

    def headers(self, view: CatalogView, identifier: str | None = None) -> list[Row]:
        """identifier, date_modified, insert_date and schema of every record ``view`` shows (or of the one
        named), ordered by identifier."""

    def rows(self, view: CatalogView, identifiers: Sequence[str]) -> list[Row]:
        """Every column of the named records that ``view`` shows."""

    def markers(self) -> list[tuple[str, str, str | None]]:
        """(dataset key, level, marker JSON) of every full record with a key and a known level, by identifier."""

    def known_records(self, columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """The named columns of every full record whose level is known (whatever the level: the caller
        decides per reader), in no particular order."""


def repository_of(pycsw_config: Path) -> CatalogRepository:
    """The reader of the repository that the pycsw configuration ``pycsw_config`` names."""
    cp = configparser.ConfigParser(interpolation=None)
    if not cp.read(pycsw_config, encoding="utf-8"):
        raise CatalogError(f"{pycsw_config}: the catalog configuration is missing; run 'geoportal build' "
                           "(or 'geoportal deploy prepare' for production) first")
    url = cp.get("repository", "database", fallback="")
    table = cp.get("repository", "table", fallback="records")
    if not NAME.match(table):
        raise CatalogError(f"{pycsw_config}: [repository] table '{table}' is not a plain lower-case name")
    if url.startswith("sqlite:///"):
        return SqliteRepository(Path(url[len("sqlite:///"):]), table)
    scheme, sep, rest = url.partition("://")
    if sep and scheme.split("+", 1)[0] in ("postgresql", "postgres"):
        return PostgresRepository(f"postgresql://{rest}", table)
    raise CatalogError(f"{pycsw_config}: [repository] database '{scheme}://…' is neither SQLite nor PostgreSQL")


# -- SQLite --------------------------------------------------------------------------------------------

class SqliteRepository:
    """The build's ``catalog.db`` (or any SQLite repository), opened read-only per call."""

    def __init__(self, database: Path, table: str = "records"):
        if not NAME.match(table):
            raise CatalogError(f"repository table '{table}' is not a plain lower-case name")
        self.database, self.table = Path(database), table

    def __repr__(self) -> str:
        return f"SqliteRepository({str(self.database)!r})"

    def exists(self) -> bool:
        return self.database.exists()

    def stamp(self) -> object | None:
        try:
            st = self.database.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _connect(self) -> sqlite3.Connection:
        if not self.database.exists():
            raise CatalogError(f"{self.database}: the catalog is not built yet; run 'geoportal build'")
        conn = sqlite3.connect(f"{self.database.as_uri()}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        return conn

    def headers(self, view: CatalogView, identifier: str | None = None) -> list[Row]:
        cond, args = view.where()
        sql = f'SELECT {", ".join(HEADER_COLUMNS)} FROM "{self.table}" WHERE {cond}'
        with self._connect() as conn:
            rows = (conn.execute(sql + " AND identifier = ?", (*args, identifier)) if identifier is not None
                    else conn.execute(sql + " ORDER BY identifier", args)).fetchall()
        return [dict(r) for r in rows]

    def rows(self, view: CatalogView, identifiers: Sequence[str]) -> list[Row]:
        if not identifiers:
            return []
        cond, args = view.where()
        marks = ",".join("?" * len(identifiers))
        with self._connect() as conn:
            return [dict(r) for r in conn.execute(
                f'SELECT * FROM "{self.table}" WHERE {cond} AND identifier IN ({marks})', [*args, *identifiers])]

    def markers(self) -> list[tuple[str, str, str | None]]:
        with self._connect() as conn:
            return [tuple(r) for r in conn.execute(  # type: ignore[misc]
                f'SELECT geoportal_key, geoportal_level, geoportal_marker FROM "{self.table}" '
                "WHERE geoportal_variant = 'full' AND geoportal_key != '' AND geoportal_level IS NOT NULL "
                "ORDER BY identifier")]

    def known_records(self, columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        cols = ", ".join("substr(xml, instr(xml, '<gmd:identificationInfo'), 20000)" if c == IDENTIFICATION_XML
                         else f'"{_checked(c)}"' for c in columns)
        conn = sqlite3.connect(f"{self.database.as_uri()}?mode=ro", uri=True)
        try:
            yield from conn.execute(f'SELECT {cols} FROM "{self.table}" '
                                    "WHERE geoportal_variant = 'full' AND geoportal_level IS NOT NULL")
        finally:
            conn.close()


def _checked(column: str) -> str:
    if not NAME.match(column):
        raise ValueError(f"'{column[:40]}' is not a column of pycsw's repository")
    return column


# -- PostgreSQL ----------------------------------------------------------------------------------------

def pg_view_condition(view: CatalogView) -> tuple[Any, list[Any]]:
    """:meth:`CatalogView.where` for PostgreSQL: the same rows, as a psycopg.sql condition with its values
    (key lists bound as ``text[]``, so the statement has one shape whatever the view holds)."""
    from psycopg import sql

    key, level, variant = (sql.Identifier(f"geoportal_{n}") for n in ("key", "level", "variant"))
    if view.everything:
        return sql.SQL("({} = 'full')").format(variant), []
    cond = sql.SQL(
        "(({v} = 'full' AND (({l} = 'public' AND NOT ({k} = ANY(%s::text[]))) OR {k} = ANY(%s::text[])))"
        " OR ({v} = 'meta' AND {k} = ANY(%s::text[])))").format(v=variant, l=level, k=key)
    return cond, [sorted(view.hide | view.meta), sorted(view.full), sorted(view.meta)]


def _counter(table: str) -> str:
    return f"{table}_geoportal_changes"


def install_change_counter(dsn: str, table: str = "records") -> None:
    """Give a PostgreSQL repository the counter :meth:`PostgresRepository.stamp` reads: a one-row table
    that a statement trigger on ``table`` increments on every insert, update, delete or truncate (CSW-T,
    the access columns' resync, a load). Idempotent; run whenever the catalog is loaded."""
    import psycopg
    from psycopg import sql

    if not NAME.match(table):
        raise CatalogError(f"repository table '{table}' is not a plain lower-case name")
    counter, fn = sql.Identifier(_counter(table)), sql.Identifier(f"{table}_geoportal_count_change")
    try:
        with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
            conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (id integer PRIMARY KEY CHECK (id = 1), "
                                 "changes bigint NOT NULL)").format(counter))
            conn.execute(sql.SQL("INSERT INTO {} VALUES (1, 0) ON CONFLICT (id) DO NOTHING").format(counter))
            conn.execute(sql.SQL("CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                                 "BEGIN UPDATE {c} SET changes = changes + 1 WHERE id = 1; RETURN NULL; END $$")
                         .format(fn=fn, c=counter))
            conn.execute(sql.SQL("CREATE OR REPLACE TRIGGER geoportal_count_changes AFTER INSERT OR UPDATE OR "
                                 "DELETE OR TRUNCATE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION {fn}()")
                         .format(t=sql.Identifier(table), fn=fn))
    except psycopg.Error as e:
        raise CatalogError(f"the catalog database cannot count its changes ({e}); check that the "
                           f"repository table '{table}' exists (load the catalog first)") from e


class PostgresRepository:
    """pycsw's repository in PostgreSQL (the production topology's): one connection per thread."""

    def __init__(self, dsn: str, table: str = "records"):
        if not NAME.match(table):
            raise CatalogError(f"repository table '{table}' is not a plain lower-case name")
        self.dsn, self.table = dsn, table
        self._local = threading.local()
        self._warned = False

    def __repr__(self) -> str:
        return f"PostgresRepository(table={self.table!r})"

    def _where(self) -> str:
        from psycopg.conninfo import conninfo_to_dict

        d = conninfo_to_dict(self.dsn)
        return f"{d.get('host', '')}:{d.get('port', '')}/{d.get('dbname', '')}"

    def _run(self, query: Any, params: Sequence[Any] = (), rows: str = "tuple") -> list[Any]:
        """``query`` on this thread's connection; a connection the server dropped (a restart) is replaced
        once. A catalog that cannot be reached is a CatalogError: the request fails, nothing is guessed."""
        import psycopg
        from psycopg.rows import dict_row, tuple_row

        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            try:
                if conn is None or conn.closed or conn.broken:
                    conn = self._local.conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10,
                                                              application_name="geoportal-catalog")
                with conn.cursor(row_factory=dict_row if rows == "dict" else tuple_row) as cur:
                    cur.execute(query, params)
                    return cur.fetchall() if cur.description else []
            except psycopg.OperationalError as e:
                if attempt == 2 or (conn is not None and not conn.broken and not conn.closed):
                    raise CatalogError(f"the catalog database {self._where()} cannot be read ({e}); check that "
                                       "the PostgreSQL primary runs") from e
        raise AssertionError("unreachable")

    def _table(self) -> Any:
        from psycopg import sql

        return sql.Identifier(self.table)

    def exists(self) -> bool:
        return bool(self._run("SELECT to_regclass(%s) IS NOT NULL", (self.table,))[0][0])

    def stamp(self) -> object | None:
        import psycopg
        from psycopg import sql

        try:
            rows = self._run(sql.SQL("SELECT changes FROM {} WHERE id = 1").format(sql.Identifier(
                _counter(self.table))))
        except psycopg.errors.UndefinedTable:
            if not self.exists():
                return None
            if not self._warned:
                self._warned = True
                log.warning("catalog %s has no change counter: every read re-reads the markers; run "
                            "'geoportal deploy prepare' again to install it", self._where())
            return object()  # equal to nothing: whatever was derived is derived again
        return ("pg", rows[0][0]) if rows else object()

    def headers(self, view: CatalogView, identifier: str | None = None) -> list[Row]:
        from psycopg import sql

        cond, args = pg_view_condition(view)
        query = sql.SQL("SELECT {cols} FROM {t} WHERE {cond}").format(
            cols=sql.SQL(", ").join(map(sql.Identifier, HEADER_COLUMNS)), t=self._table(), cond=cond)
        if identifier is not None:
            return self._run(query + sql.SQL(" AND identifier = %s"), [*args, identifier], rows="dict")
        return self._run(query + sql.SQL(' ORDER BY identifier COLLATE "C"'), args, rows="dict")

    def rows(self, view: CatalogView, identifiers: Sequence[str]) -> list[Row]:
        from psycopg import sql

        if not identifiers:
            return []
        cond, args = pg_view_condition(view)
        query = sql.SQL("SELECT * FROM {t} WHERE {cond} AND identifier = ANY(%s::text[])").format(
            t=self._table(), cond=cond)
        return self._run(query, [*args, list(identifiers)], rows="dict")

    def markers(self) -> list[tuple[str, str, str | None]]:
        from psycopg import sql

        return [tuple(r) for r in self._run(sql.SQL(  # type: ignore[misc]
            "SELECT geoportal_key, geoportal_level, geoportal_marker FROM {} WHERE geoportal_variant = 'full' "
            "AND geoportal_key <> '' AND geoportal_level IS NOT NULL ORDER BY identifier COLLATE \"C\"")
            .format(self._table()))]

    def known_records(self, columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """Streamed through a server-side cursor on a connection of its own (a national catalog's rows
        would not fit in memory at once, and this thread's connection stays free meanwhile)."""
        import psycopg
        from psycopg import sql

        cols = sql.SQL(", ").join(
            sql.SQL("substr(xml, strpos(xml, '<gmd:identificationInfo'), 20000)") if c == IDENTIFICATION_XML
            else sql.Identifier(_checked(c)) for c in columns)
        query = sql.SQL("SELECT {cols} FROM {t} WHERE geoportal_variant = 'full' AND geoportal_level IS NOT NULL"
                        ).format(cols=cols, t=self._table())
        try:
            with psycopg.connect(self.dsn, connect_timeout=10, application_name="geoportal-catalog") as conn, \
                    conn.cursor(name="geoportal_known_records") as cur:
                cur.itersize = 500
                cur.execute(query)
                yield from cur
        except psycopg.OperationalError as e:
            raise CatalogError(f"the catalog database {self._where()} cannot be read ({e}); check that the "
                               "PostgreSQL primary runs") from e
