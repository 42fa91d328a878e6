"""The register in a GeoPackage (``<workspace>/decisions.gpkg``): written with the standard library's
sqlite3 — every action in one ``BEGIN IMMEDIATE`` transaction, rolled back on any error — and laid out as a
GeoPackage 1.3 (``decisions`` is a feature table in EPSG:4326, the others attribute tables) so GDAL and QGIS
open it as it is. No spatial index: its triggers need SpatiaLite functions that plain sqlite3 lacks, and a
register of a few thousand decisions does not need one."""

from __future__ import annotations

import json
import sqlite3
import struct
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import shapely

from decisions.errors import NotFound
from decisions.model import Decision, HistoryRow, Project
from decisions.repository import DECISIONS, HISTORY, MESSAGES, PROJECTS, dumps, flat
from geoportal.errors import StoreError

WGS84_WKT = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
             'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",'
             '0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],'
             'AUTHORITY["EPSG","4326"]]')

SCHEMA = [
    "PRAGMA application_id = 1196444487",
    "PRAGMA user_version = 10300",
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
       organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
       description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
       identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT
       (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
       srs_id INTEGER)""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
       geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
       PRIMARY KEY (table_name, column_name))""",
    f"""CREATE TABLE IF NOT EXISTS {DECISIONS} (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom GEOMETRY,
       id TEXT NOT NULL UNIQUE, title_uk TEXT, title_en TEXT, kind TEXT, issuer TEXT, status TEXT,
       updated_at TEXT, doc TEXT NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {PROJECTS} (fid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
       title_uk TEXT, stage TEXT, updated_at TEXT, doc TEXT NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {HISTORY} (fid INTEGER PRIMARY KEY AUTOINCREMENT, entity TEXT NOT NULL,
       entity_id TEXT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, field TEXT,
       old TEXT, new TEXT, reason TEXT)""",
    f"CREATE INDEX IF NOT EXISTS {HISTORY}_key ON {HISTORY} (entity, entity_id)",
    f"""CREATE TABLE IF NOT EXISTS {MESSAGES} (fid INTEGER PRIMARY KEY AUTOINCREMENT, box TEXT NOT NULL,
       id TEXT NOT NULL, state TEXT NOT NULL, doc TEXT NOT NULL, UNIQUE (box, id))""",
]


def gpkg_geometry(wkt: str | None) -> bytes | None:
    """A GeoPackage geometry blob: the 'GP' header (little-endian, XY envelope, SRS 4326) + ISO WKB."""
    if wkt is None:
        return None
    g = shapely.from_wkt(wkt)
    minx, miny, maxx, maxy = g.bounds
    return b"GP" + struct.pack("<BBi4d", 0, 0b011, 4326, minx, maxx, miny, maxy) + shapely.to_wkb(g, byte_order=1)


class GpkgRepository:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._ready = False

    def describe(self) -> str:
        return str(self.path)

    def _ensure(self, db: sqlite3.Connection) -> None:
        if self._ready:
            return
        for stmt in SCHEMA:
            db.execute(stmt)
        db.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", [
            ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", None),
            ("Undefined geographic SRS", 0, "NONE", 0, "undefined", None),
            ("WGS 84 geodetic", 4326, "EPSG", 4326, WGS84_WKT, None)])
        db.executemany("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, "
                       "min_x, min_y, max_x, max_y, srs_id) VALUES (?, ?, ?, ?, 22.1, 44.3, 40.3, 52.4, ?)", [
                           (DECISIONS, "features", DECISIONS, "management decisions of the node", 4326),
                           (PROJECTS, "attributes", PROJECTS, "development projects", None),
                           (HISTORY, "attributes", HISTORY, "every change: who, when, why", None),
                           (MESSAGES, "attributes", MESSAGES, "agreement requests and answers sent and received",
                            None)])
        db.execute("INSERT OR IGNORE INTO gpkg_geometry_columns VALUES (?, 'geom', 'GEOMETRY', 4326, 0, 0)",
                   (DECISIONS,))
        self._ready = True

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator["_GpkgTx"]:
        if not write and self.path.exists():
            yield from self._read()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot open the decision register ({e})") from e
        try:
            db.execute("BEGIN IMMEDIATE")
            self._ensure(db)
            yield _GpkgTx(db)
            db.execute("COMMIT")
        except sqlite3.Error as e:
            _rollback(db)
            self._ready = False
            raise StoreError(f"{self.path}: the decision register refused the change ({e}); nothing was "
                             "written, the previous state is kept") from e
        except BaseException:
            _rollback(db)
            self._ready = False
            raise
        finally:
            db.close()


    def _read(self) -> Iterator["_GpkgTx"]:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None, timeout=30)
        try:
            db.execute("BEGIN")  # one consistent snapshot for the whole read
            yield _GpkgTx(db)
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot read the decision register ({e}); nothing was written — is "
                             "it a GeoPackage this node wrote?") from e
        finally:
            _rollback(db)
            db.close()


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")


class _GpkgTx:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def get_decision(self, id: str, *, lock: bool = True) -> Decision:
        row = self.db.execute(f"SELECT doc FROM {DECISIONS} WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise NotFound(f"no decision '{id}' in the register; `geoportal decision list` shows the ids")
        return Decision.from_dict(json.loads(row[0]))

    def put_decision(self, d: Decision, *, new: bool = False) -> None:
        vals = (gpkg_geometry(d.geometry), *flat(d), dumps(d.to_dict()))
        if new:
            self.db.execute(f"INSERT INTO {DECISIONS} (geom, title_uk, title_en, kind, issuer, status, updated_at, "
                            "doc, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (*vals, d.id))
        else:
            self.db.execute(f"UPDATE {DECISIONS} SET geom = ?, title_uk = ?, title_en = ?, kind = ?, issuer = ?, "
                            "status = ?, updated_at = ?, doc = ? WHERE id = ?", (*vals, d.id))

    def list_decisions(self, status: str | None = None, kind: str | None = None) -> list[Decision]:
        rows = self.db.execute(f"SELECT doc FROM {DECISIONS} WHERE (? IS NULL OR status = ?) AND "
                               "(? IS NULL OR kind = ?) ORDER BY fid", (status, status, kind, kind)).fetchall()
        return [Decision.from_dict(json.loads(r[0])) for r in rows]

    def get_project(self, id: str, *, lock: bool = True) -> Project:
        row = self.db.execute(f"SELECT doc FROM {PROJECTS} WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise NotFound(f"no project '{id}' in the register; `geoportal decision project list` shows the ids")
        return Project.from_dict(json.loads(row[0]))

    def put_project(self, p: Project, *, new: bool = False) -> None:
        vals = (p.title.uk, p.stage, p.updated_at, dumps(p.to_dict()), p.id)
        if new:
            self.db.execute(f"INSERT INTO {PROJECTS} (title_uk, stage, updated_at, doc, id) VALUES (?, ?, ?, ?, ?)",
                            vals)
        else:
            self.db.execute(f"UPDATE {PROJECTS} SET title_uk = ?, stage = ?, updated_at = ?, doc = ? WHERE id = ?",
                            vals)

    def list_projects(self) -> list[Project]:
        return [Project.from_dict(json.loads(r[0]))
                for r in self.db.execute(f"SELECT doc FROM {PROJECTS} ORDER BY fid")]

    def log(self, rows: list[HistoryRow]) -> None:
        self.db.executemany(
            f"INSERT INTO {HISTORY} (entity, entity_id, at, actor, action, field, old, new, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.entity, r.entity_id, r.at, dumps(r.actor), r.action, r.field, dumps(r.old), dumps(r.new), r.reason)
             for r in rows])

    def history(self, entity: str, entity_id: str) -> list[HistoryRow]:
        rows = self.db.execute(f"SELECT entity, entity_id, at, actor, action, field, old, new, reason FROM {HISTORY} "
                               "WHERE entity = ? AND entity_id = ? ORDER BY fid", (entity, entity_id)).fetchall()
        return [HistoryRow(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], json.loads(r[6]), json.loads(r[7]), r[8])
                for r in rows]

    def count_ids(self, table: str, prefix: str) -> int:
        return int(self.db.execute(f"SELECT count(*) FROM {table} WHERE id LIKE ? || '%'", (prefix,)).fetchone()[0])

    def delete(self, table: str, id: str) -> None:
        if table not in (DECISIONS, PROJECTS):
            raise ValueError(f"no deletes from {table}")
        self.db.execute(f"DELETE FROM {table} WHERE id = ?", (id,))

    def get_message(self, box: str, id: str) -> dict[str, Any] | None:
        row = self.db.execute(f"SELECT doc FROM {MESSAGES} WHERE box = ? AND id = ?", (box, id)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put_message(self, box: str, msg: dict[str, Any], *, new: bool = False) -> None:
        if new:
            self.db.execute(f"INSERT INTO {MESSAGES} (box, id, state, doc) VALUES (?, ?, ?, ?)",
                            (box, msg["id"], msg["state"], dumps(msg)))
        else:
            self.db.execute(f"UPDATE {MESSAGES} SET state = ?, doc = ? WHERE box = ? AND id = ?",
                            (msg["state"], dumps(msg), box, msg["id"]))

    def list_messages(self, box: str, state: str | None = None) -> list[dict[str, Any]]:
        rows = self.db.execute(f"SELECT doc FROM {MESSAGES} WHERE box = ? AND (? IS NULL OR state = ?) ORDER BY fid",
                               (box, state, state)).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    def count_created(self, entity: str, prefix: str) -> int:
        """Ids ever given (deleted drafts included), so an id is never reused for another decision."""
        return int(self.db.execute(f"SELECT count(DISTINCT entity_id) FROM {HISTORY} WHERE entity = ? AND "
                                   "action = 'create' AND entity_id LIKE ? || '%'", (entity, prefix)).fetchone()[0])
