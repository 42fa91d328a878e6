"""The storage interface of the register: one :class:`Repository` with a transaction that the service holds
for the whole of an action — read, check, change, write the new state and its history rows — so an error
anywhere leaves the previous state whole. Two implementations: repo_gpkg.py (``decisions.gpkg`` in the
workspace, a real GeoPackage GDAL/QGIS open) and repo_postgis.py (tables in the node's schema).

Tables (the same names in both): ``decisions`` (spatial: flat columns people filter on + the whole value as
JSON), ``decision_projects``, ``decision_history`` (append-only: who, when, action, field, old → new, why),
``decision_messages`` (the agreement requests and answers this node sends and receives, one JSON document each,
keyed by box and message id so a message delivered twice is stored once).
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any, Protocol

from decisions.model import Decision, HistoryRow, Project

DECISIONS, PROJECTS, HISTORY = "decisions", "decision_projects", "decision_history"
#: the agreement messages of the node: box "out" (to deliver, with retries) and "in" (received, by message id)
MESSAGES = "decision_messages"
FLAT = ("title_uk", "title_en", "kind", "issuer", "status", "updated_at")


def flat(d: Decision) -> tuple[Any, ...]:
    return (d.title.uk, d.title.en, d.kind, d.issuer, d.status, d.updated_at)


def dumps(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


class Tx(Protocol):
    """What an action may do inside its transaction."""

    def get_decision(self, id: str, *, lock: bool = True) -> Decision: ...
    def put_decision(self, d: Decision, *, new: bool = False) -> None: ...
    def list_decisions(self, status: str | None = None, kind: str | None = None) -> list[Decision]: ...
    def get_project(self, id: str, *, lock: bool = True) -> Project: ...
    def put_project(self, p: Project, *, new: bool = False) -> None: ...
    def list_projects(self) -> list[Project]: ...
    def log(self, rows: list[HistoryRow]) -> None: ...
    def history(self, entity: str, entity_id: str) -> list[HistoryRow]: ...
    def count_ids(self, table: str, prefix: str) -> int: ...
    def delete(self, table: str, id: str) -> None: ...
    def count_created(self, entity: str, prefix: str) -> int: ...
    def get_message(self, box: str, id: str) -> dict[str, Any] | None: ...
    def put_message(self, box: str, msg: dict[str, Any], *, new: bool = False) -> None: ...
    def list_messages(self, box: str, state: str | None = None) -> list[dict[str, Any]]: ...


class Repository(Protocol):
    def transaction(self, write: bool = True) -> AbstractContextManager[Tx]:
        """One transaction: committed when the block ends, rolled back when anything is raised in it.
        ``write=False`` only reads (no write lock; a reader without write access to the file can use it)."""

    def describe(self) -> str: ...
