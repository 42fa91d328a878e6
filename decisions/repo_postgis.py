"""The register in PostGIS: tables in the node's schema, SQL composed with psycopg.sql, one database
transaction per action (rows read with ``FOR UPDATE``, so two officials cannot move the same decision at
once), rolled back on any error."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from decisions.errors import NotFound
from decisions.model import Decision, HistoryRow, Project
from decisions.repository import DECISIONS, HISTORY, MESSAGES, PROJECTS, flat
from geoportal.errors import StoreError


class PostgisRepository:
    def __init__(self, dsn: str, schema: str = "public"):
        if not dsn:
            raise StoreError("storage.dsn is empty: a PostGIS node needs postgresql://… to keep its decisions")
        self.dsn, self.schema = dsn, schema
        self._ready = False

    def describe(self) -> str:
        from psycopg.conninfo import conninfo_to_dict

        c = conninfo_to_dict(self.dsn)
        return f"PostGIS {c.get('host', '')}/{c.get('dbname', '')} schema {self.schema}"

    def _ensure(self, conn: psycopg.Connection[Any]) -> None:
        if self._ready:
            return
        s = sql.Identifier(self.schema)
        for stmt in (
            "CREATE SCHEMA IF NOT EXISTS {s}",
            "CREATE TABLE IF NOT EXISTS {s}.{d} (fid bigserial PRIMARY KEY, id text NOT NULL UNIQUE, "
            "title_uk text, title_en text, kind text, issuer text, status text, updated_at text, doc jsonb NOT NULL, "
            "geom geometry(Geometry, 4326))",
            "CREATE INDEX IF NOT EXISTS {di} ON {s}.{d} USING gist (geom)",
            "CREATE TABLE IF NOT EXISTS {s}.{p} (fid bigserial PRIMARY KEY, id text NOT NULL UNIQUE, title_uk text, "
            "stage text, updated_at text, doc jsonb NOT NULL)",
            "CREATE TABLE IF NOT EXISTS {s}.{h} (fid bigserial PRIMARY KEY, entity text NOT NULL, entity_id text NOT "
            "NULL, at text NOT NULL, actor jsonb NOT NULL, action text NOT NULL, field text, old jsonb, new jsonb, "
            "reason text)",
            "CREATE TABLE IF NOT EXISTS {s}.{m} (fid bigserial PRIMARY KEY, box text NOT NULL, id text NOT NULL, "
            "state text NOT NULL, doc jsonb NOT NULL, UNIQUE (box, id))",
        ):
            conn.execute(sql.SQL(stmt).format(s=s, d=sql.Identifier(DECISIONS), p=sql.Identifier(PROJECTS),
                                              h=sql.Identifier(HISTORY), m=sql.Identifier(MESSAGES), di=sql.Identifier(f"{DECISIONS}_geom")))
        self._ready = True

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator["_PgTx"]:
        try:
            conn = psycopg.connect(self.dsn)
        except psycopg.Error as e:
            raise StoreError(f"{self.describe()}: cannot connect ({e}); check storage.dsn and that the server "
                             "runs") from e
        try:
            with conn.transaction():
                if not write and self._ready:
                    conn.execute("SET TRANSACTION READ ONLY")
                else:
                    self._ensure(conn)
                yield _PgTx(conn, self.schema)
        except psycopg.Error as e:
            self._ready = False
            raise StoreError(f"{self.describe()}: the decision register refused the change ({e}); the "
                             "transaction was rolled back, the previous state is kept") from e
        except BaseException:
            self._ready = False
            raise
        finally:
            conn.close()


class _PgTx:
    def __init__(self, conn: psycopg.Connection[Any], schema: str):
        self.conn, self.schema = conn, schema

    def _t(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))

    def _get(self, table: str, id: str, lock: bool) -> Any:
        q = sql.SQL("SELECT doc FROM {} WHERE id = %s{}").format(self._t(table), sql.SQL(" FOR UPDATE" if lock else ""))
        row = self.conn.execute(q, (id,)).fetchone()
        return None if row is None else row[0]

    def get_decision(self, id: str, *, lock: bool = True) -> Decision:
        doc = self._get(DECISIONS, id, lock)
        if doc is None:
            raise NotFound(f"no decision '{id}' in the register; `geoportal decision list` shows the ids")
        return Decision.from_dict(doc)

    def put_decision(self, d: Decision, *, new: bool = False) -> None:
        vals = (*flat(d), Jsonb(d.to_dict()), d.geometry, d.id)
        q = ("INSERT INTO {} (title_uk, title_en, kind, issuer, status, updated_at, doc, geom, id) VALUES "
             "(%s, %s, %s, %s, %s, %s, %s, ST_GeomFromText(%s, 4326), %s)") if new else (
            "UPDATE {} SET title_uk = %s, title_en = %s, kind = %s, issuer = %s, status = %s, updated_at = %s, "
            "doc = %s, geom = ST_GeomFromText(%s, 4326) WHERE id = %s")
        self.conn.execute(sql.SQL(q).format(self._t(DECISIONS)), vals)

    def list_decisions(self, status: str | None = None, kind: str | None = None) -> list[Decision]:
        q = sql.SQL("SELECT doc FROM {} WHERE (%s::text IS NULL OR status = %s) AND (%s::text IS NULL OR kind = %s) "
                    "ORDER BY fid").format(self._t(DECISIONS))
        return [Decision.from_dict(r[0]) for r in self.conn.execute(q, (status, status, kind, kind))]

    def get_project(self, id: str, *, lock: bool = True) -> Project:
        doc = self._get(PROJECTS, id, lock)
        if doc is None:
            raise NotFound(f"no project '{id}' in the register; `geoportal decision project list` shows the ids")
        return Project.from_dict(doc)

    def put_project(self, p: Project, *, new: bool = False) -> None:
        vals = (p.title.uk, p.stage, p.updated_at, Jsonb(p.to_dict()), p.id)
        q = ("INSERT INTO {} (title_uk, stage, updated_at, doc, id) VALUES (%s, %s, %s, %s, %s)" if new else
             "UPDATE {} SET title_uk = %s, stage = %s, updated_at = %s, doc = %s WHERE id = %s")
        self.conn.execute(sql.SQL(q).format(self._t(PROJECTS)), vals)

    def list_projects(self) -> list[Project]:
        q = sql.SQL("SELECT doc FROM {} ORDER BY fid").format(self._t(PROJECTS))
        return [Project.from_dict(r[0]) for r in self.conn.execute(q)]

    def log(self, rows: list[HistoryRow]) -> None:
        q = sql.SQL("INSERT INTO {} (entity, entity_id, at, actor, action, field, old, new, reason) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)").format(self._t(HISTORY))
        with self.conn.cursor() as cur:
            cur.executemany(q, [(r.entity, r.entity_id, r.at, Jsonb(r.actor), r.action, r.field, Jsonb(r.old),
                                 Jsonb(r.new), r.reason) for r in rows])

    def history(self, entity: str, entity_id: str) -> list[HistoryRow]:
        q = sql.SQL("SELECT entity, entity_id, at, actor, action, field, old, new, reason FROM {} "
                    "WHERE entity = %s AND entity_id = %s ORDER BY fid").format(self._t(HISTORY))
        return [HistoryRow(*r) for r in self.conn.execute(q, (entity, entity_id))]

    def count_ids(self, table: str, prefix: str) -> int:
        # one allocation of ids at a time (held to the end of the transaction), so two creations never race
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{self.schema}.{table}",))
        q = sql.SQL("SELECT count(*) FROM {} WHERE id LIKE %s").format(self._t(table))
        return int(self.conn.execute(q, (prefix.replace("%", r"\%").replace("_", r"\_") + "%",)).fetchone()[0])

    def delete(self, table: str, id: str) -> None:
        if table not in (DECISIONS, PROJECTS):
            raise ValueError(f"no deletes from {table}")
        self.conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(self._t(table)), (id,))

    def get_message(self, box: str, id: str) -> dict[str, Any] | None:
        q = sql.SQL("SELECT doc FROM {} WHERE box = %s AND id = %s FOR UPDATE").format(self._t(MESSAGES))
        row = self.conn.execute(q, (box, id)).fetchone()
        return None if row is None else dict(row[0])

    def put_message(self, box: str, msg: dict[str, Any], *, new: bool = False) -> None:
        q = ("INSERT INTO {} (state, doc, box, id) VALUES (%s, %s, %s, %s)" if new else
             "UPDATE {} SET state = %s, doc = %s WHERE box = %s AND id = %s")
        self.conn.execute(sql.SQL(q).format(self._t(MESSAGES)), (msg["state"], Jsonb(msg), box, msg["id"]))

    def list_messages(self, box: str, state: str | None = None) -> list[dict[str, Any]]:
        q = sql.SQL("SELECT doc FROM {} WHERE box = %s AND (%s::text IS NULL OR state = %s) ORDER BY fid").format(
            self._t(MESSAGES))
        return [dict(r[0]) for r in self.conn.execute(q, (box, state, state))]

    def count_created(self, entity: str, prefix: str) -> int:
        """Ids ever given (deleted drafts included), so an id is never reused for another decision."""
        q = sql.SQL("SELECT count(DISTINCT entity_id) FROM {} WHERE entity = %s AND action = 'create' AND "
                    "entity_id LIKE %s").format(self._t(HISTORY))
        like = prefix.replace("%", r"\%").replace("_", r"\_") + "%"
        return int(self.conn.execute(q, (entity, like)).fetchone()[0])
