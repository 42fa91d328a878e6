"""Which records of the node's catalog a caller sees, decided by the node's policy — for every way the
catalog is read (CSW, OAI-PMH, OGC API Records, DCAT, search).

Records are named by their dataset key ``<origin node id>/<dataset id>`` (the marker of
:mod:`catalog.access_marker`). A record of the node's own dataset is decided as that dataset
(``Policy.decide(principal, dataset, service)``, custodians and rules as everywhere else). A record
harvested from another node is decided by the same policy, under its key: its level, the organisations and
roles it is open to and its catalog mode come from its marker (what the origin node says), unless the
node's own config names it — ``access.datasets."ovrutska-hromada/cadastre"`` replaces what the marker says,
and ``access.rules[*].dataset: ovrutska-hromada/cadastre`` (or ``*``) applies to it like to a local dataset.

Inputs are read from the workspace, so every process of the node (the front's workers, a build) decides
alike: ``access-policy.json`` (written by the build from the node config: dataset levels and the
``access:`` section) and the markers stored in pycsw's repository — the build's ``catalog.db``, or the
PostgreSQL catalog in production (:mod:`catalog.repository`), read again whenever its records change. A
node built before either exists shows public records only.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from access.config import AccessConfig, DatasetAccess
from access.principal import Principal
from access.rules import Policy
from access.web import principal_of
from catalog.access_marker import LEVELS, Marker
from catalog.catalog_view import EVERYTHING, PRIVATE_HEADERS, PUBLIC_ONLY, CatalogView
from catalog.repository import CatalogRepository, SqliteRepository

log = logging.getLogger(__name__)

POLICY_FILE = "access-policy.json"
HARVEST_HEADER = "HTTP_X_GEOPORTAL_HARVEST"  # X-Geoportal-Harvest: <token> (a parent harvesting)
HARVEST_TOKENS_ENV = "GEOPORTAL_HARVEST_TOKENS"


def write_policy(cfg: Any, root: Path) -> Path:
    """The node's access facts for the serving processes: node id, dataset levels, the access section."""
    from geoportal.model import write_atomic

    access = getattr(cfg, "access", None) or AccessConfig()
    path = Path(root) / POLICY_FILE
    write_atomic(path, json.dumps({"node": cfg.node.id, "katotth": cfg.node.katotth,
                                   "levels": {d.id: d.access.value for d in cfg.datasets},
                                   "access": access.model_dump(mode="json")}, ensure_ascii=False, indent=1))
    return path


def marker_for(cfg: Any, dataset_id: str) -> Marker:
    """The marker a record of the node's own dataset carries."""
    ds = next(d for d in cfg.datasets if d.id == dataset_id)
    access = getattr(cfg, "access", None) or AccessConfig()
    da = access.datasets.get(dataset_id) or DatasetAccess()
    level = ds.access.value
    return Marker(key=f"{cfg.node.id}/{dataset_id}", level=level, catalog=da.catalog, custodian=cfg.node.katotth,
                  organisations=tuple(da.organisations) if level == "restricted" else (),
                  roles=tuple(r.value for r in da.roles) if level == "restricted" else ())


def harvest_tokens() -> set[str]:
    return {t.strip() for t in os.environ.get(HARVEST_TOKENS_ENV, "").split(",") if t.strip()}


class _Stamped:
    """A value read from a file, read again when the file changes (mtime, size, inode)."""

    def __init__(self) -> None:
        self.stamp: object = None
        self.value: Any = None


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class CatalogViews:
    """The views of one node's catalog: ``for_environ(environ)`` → :class:`CatalogView`. The markers come
    from ``repository`` — the repository pycsw serves (default: the build's ``catalog.db`` under ``root``)."""

    def __init__(self, root: Path, tokens: set[str] | None = None, repository: CatalogRepository | None = None):
        self.root = Path(root)
        self.repository = repository or SqliteRepository(self.root / "catalog.db")
        self.tokens = harvest_tokens() if tokens is None else tokens
        self._lock = threading.Lock()
        self._policy, self._markers, self._combined = _Stamped(), _Stamped(), _Stamped()

    # -- inputs ---------------------------------------------------------------------------------------
    def _load_policy(self) -> tuple[str, Policy] | None:
        path = self.root / POLICY_FILE
        stamp = _stamp(path)
        if stamp is None:
            return None
        with self._lock:
            if self._policy.stamp != stamp:
                raw = json.loads(path.read_text(encoding="utf-8"))
                self._policy.value = (raw["node"], Policy(levels=dict(raw["levels"]),
                                                          access=AccessConfig.model_validate(raw["access"])))
                self._policy.stamp = stamp
            return self._policy.value  # type: ignore[no-any-return]

    def markers(self) -> dict[str, Marker]:
        """Every dataset key of the catalog with its marker (one per key: the first by identifier)."""
        stamp = self.repository.stamp()
        if stamp is None:
            return {}
        with self._lock:
            if self._markers.stamp != stamp:
                self._markers.value = _read_markers(self.repository)
                self._markers.stamp = stamp
            return self._markers.value  # type: ignore[no-any-return]

    def policies(self) -> tuple[str, Policy, Policy] | None:
        """(node id, the node's policy, the policy over harvested keys) — or None before a build; made again
        only when the policy file or the catalog changed."""
        loaded = self._load_policy()
        if loaded is None:
            return None
        markers = self.markers()
        with self._lock:
            stamp = (self._policy.stamp, self._markers.stamp)
            if self._combined.stamp != stamp:
                node, own = loaded
                harvested = {k: m for k, m in markers.items() if m.node != node}
                levels = {**own.levels, **{k: m.level for k, m in harvested.items()}}
                datasets = {k: _dataset_access(m) for k, m in harvested.items()}
                datasets.update(own.access.datasets)  # the node's own word on a harvested key wins
                other = Policy(levels=levels, access=own.access.model_copy(update={"datasets": datasets}))
                self._combined.value, self._combined.stamp = (node, own, other), stamp
            return self._combined.value  # type: ignore[no-any-return]

    # -- decisions ------------------------------------------------------------------------------------
    def mode(self, principal: Principal, key: str, service: str = "csw") -> str:
        """full | metadata | hide of the record of ``key`` for ``principal``."""
        p = self.policies()
        return "hide" if p is None else _mode(p, principal, key, service)

    def for_principal(self, principal: Principal, service: str = "csw") -> CatalogView:
        p = self.policies()
        if p is None:
            return PUBLIC_ONLY
        full, meta, hide = set(), set(), set()
        for key, m in self.markers().items():
            mode = _mode(p, principal, key, service)
            if m.level == "public":
                if mode != "full":
                    hide.add(key)  # public records have no variant without links: hidden instead
            elif mode == "full":
                full.add(key)
            elif mode == "metadata":
                meta.add(key)
        return CatalogView(frozenset(full), frozenset(meta), frozenset(hide))

    def is_harvester(self, environ: dict[str, Any]) -> bool:
        import hmac

        token = str(environ.get(HARVEST_HEADER, "")).strip()
        return bool(token) and any(hmac.compare_digest(token.encode(), t.encode()) for t in self.tokens)

    def for_environ(self, environ: dict[str, Any], service: str = "csw") -> CatalogView:
        """The view of the caller of a request: a parent presenting a harvest token gets every record in
        full (it applies its own policy to them); anybody else what the policy gives their principal."""
        if self.is_harvester(environ):
            return EVERYTHING
        return self.for_principal(principal_of(environ), service)


def _mode(policies: tuple[str, Policy, Policy], principal: Principal, key: str, service: str) -> str:
    node, own, other = policies
    origin, _, dataset = key.partition("/")
    d = own.decide(principal, dataset, service) if origin == node else other.decide(principal, key, service)
    return "hide" if d.effect == "deny" else d.catalog


def _dataset_access(m: Marker) -> DatasetAccess:
    try:
        return DatasetAccess(organisations=list(m.organisations), roles=list(m.roles), catalog=m.catalog)
    except ValueError:  # a role this node does not know: open to the listed organisations only
        try:
            return DatasetAccess(organisations=list(m.organisations), catalog=m.catalog)
        except ValueError:
            return DatasetAccess()


def _read_markers(repository: CatalogRepository) -> dict[str, Marker]:
    """Every key's marker; a SQLite catalog made before the access columns has none (public records only),
    a PostgreSQL one that cannot be read is an error (the request fails; nothing is shown by guess)."""
    import sqlite3

    out: dict[str, Marker] = {}
    try:
        rows = repository.markers()
    except sqlite3.Error as e:  # a catalog built before the access columns: public records only
        log.warning("catalog %s has no access columns (%s): rebuild the node", repository, e)
        return out
    for key, level, raw in rows:
        if key in out:
            continue
        try:
            m = Marker.from_dict(json.loads(raw)) if raw else Marker(key=key, level=level)
        except (ValueError, KeyError, TypeError):
            m = Marker(key=key, level="restricted")
        if m.level not in LEVELS:
            m = Marker(key=key, level="restricted")
        out[key] = m
    return out


def private_headers() -> list[tuple[str, str]]:
    """Headers of an answer that depends on who asked: no shared cache may keep it for another caller."""
    return list(PRIVATE_HEADERS)
