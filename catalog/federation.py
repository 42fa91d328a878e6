"""Federation: a node harvests the catalogs of its children (hromada → raion → oblast, or any CSW).

Per child, each run: list what the child has now, fetch only records that are new or whose
modification stamp changed, drop the ones the child no longer has, and apply that to the node's live
catalog in one transaction. The origin of every record (the node it was first published by, carried
along the chain in ``dc:source``) is kept in the catalog's ``source`` column.

A child that is down, slow or answers garbage is reported, its error kept in its state, and it is tried
again next run; nothing harvested from it before is lost, and the other children go on.

On disk, per child: ``<workspace>/harvested/<child id>/state.json`` and one XML file per record, so a
rebuild of the node (``catalog.pycsw.load``) puts the harvested records back without asking anyone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from catalog import pycsw
from catalog.harvest import Harvester, harvester_for
from geoportal.config import Link, NodeConfig, RemoteService
from geoportal.errors import CatalogError, GeoportalError
from geoportal.model import Workspace, write_atomic

log = logging.getLogger(__name__)


@dataclass
class ChildResult:
    id: str
    url: str
    listed: int = 0
    added: int = 0
    changed: int = 0
    deleted: int = 0
    unchanged: int = 0
    error: str | None = None
    seconds: float = 0.0
    kept: int = 0  # records kept from earlier harvests when this one failed

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ChildState:
    url: str
    records: dict[str, dict[str, str | None]] = field(default_factory=dict)
    last_success: str | None = None
    last_error: str | None = None
    failures: int = 0

    @classmethod
    def load(cls, path: Path, url: str) -> "ChildState":
        if not path.exists():
            return cls(url=url)
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{**raw, "url": url})

    def save(self, path: Path) -> None:
        write_atomic(path, json.dumps(asdict(self), ensure_ascii=False, indent=1))


def _file_for(identifier: str) -> str:
    return hashlib.sha1(identifier.encode("utf-8")).hexdigest()[:20] + ".xml"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _harvester(cfg: NodeConfig, source: Link | RemoteService, timeout: float) -> Harvester:
    """A child catalog's harvester, or — for an external OGC service — one that makes its record."""
    if isinstance(source, RemoteService):
        from catalog.harvest.ogc import OGCServiceHarvester
        from metadata.remote import remote_record_id, remote_service_record

        return OGCServiceHarvester(source.url, source.type, remote_record_id(cfg, source.id),
                                   lambda info: remote_service_record(cfg, source.id, info), timeout=timeout)
    return harvester_for(source.type, source.url, timeout=timeout)


FETCH_CHUNK = 250  # records per worker's share of a big fetch
FETCH_WORKERS = 4  # concurrent requests to one child (its catalog serves with 2 processes)


def _fetch(h: Harvester, todo: list[str], folder: Path, wanted: dict) -> dict[str, Path]:
    """Fetch ``todo`` into ``folder`` (one file per record): identifier → file.

    Serving 40 kB ISO records is most of a child's time, and the client side waits on it, so a big
    fetch from a CSW goes out as a few concurrent streams (each its own harvester and connection);
    anything else, or a small fetch, goes out as one.
    """
    def one(harvester: Harvester, idents: list[str]) -> dict[str, Path]:
        got: dict[str, Path] = {}
        for ident, xml in harvester.fetch(idents):
            if ident in wanted:
                path = folder / _file_for(ident)
                write_atomic(path, xml)
                got[ident] = path
        return got

    from catalog.harvest.csw import CSWHarvester

    if not isinstance(h, CSWHarvester) or len(todo) <= FETCH_CHUNK:
        return one(h, todo)
    from concurrent.futures import ThreadPoolExecutor

    chunks = [todo[i:i + FETCH_CHUNK] for i in range(0, len(todo), FETCH_CHUNK)]
    fetched: dict[str, Path] = {}
    with ThreadPoolExecutor(FETCH_WORKERS) as pool:
        for got in pool.map(lambda c: one(CSWHarvester(h.url, timeout=h.timeout, attempts=h.attempts), c),
                            chunks):
            fetched.update(got)
    return fetched


def harvest_child(cfg: NodeConfig, ws: Workspace, child: Link | RemoteService, timeout: float = 20.0) -> ChildResult:
    t0 = time.perf_counter()
    folder = ws.root / "harvested" / child.id
    folder.mkdir(parents=True, exist_ok=True)
    state_path = folder / "state.json"
    state = ChildState.load(state_path, child.url)
    res = ChildResult(child.id, child.url)
    try:
        h = _harvester(cfg, child, timeout)
        remote = h.list_records()
        res.listed = len(remote)
        now = {r.identifier: r for r in remote}
        todo = [r.identifier for r in remote
                if r.identifier not in state.records or r.modified is None
                or state.records[r.identifier].get("modified") != r.modified
                or not (folder / str(state.records[r.identifier]["file"])).exists()]
        gone = [i for i in state.records if i not in now]
        fetched = _fetch(h, todo, folder, now)
        missing = set(todo) - set(fetched)
        if missing:
            raise CatalogError(f"{child.url}: listed but not delivered as ISO 19139: {sorted(missing)[:5]}")
        records = []
        for ident, path in fetched.items():
            origin = now[ident].origin
            origin = origin if origin and origin.startswith(("http://", "https://")) else child.url
            records.append((path, origin))
        if records or gone:
            report = pycsw.run_loader(pycsw.config_path(ws), records, delete_ids=gone)
            if report["errors"]:
                raise CatalogError(f"{child.url}: the catalog could not read {len(report['errors'])} record(s): "
                                   + "; ".join(e["error"] for e in report["errors"][:3]))
        for ident in gone:
            (folder / str(state.records[ident]["file"])).unlink(missing_ok=True)
            del state.records[ident]
        for ident, path in fetched.items():
            res.changed += ident in state.records
            res.added += ident not in state.records
            origin = next(o for p, o in records if p == path)
            state.records[ident] = {"modified": now[ident].modified, "file": path.name, "origin": origin}
        res.deleted = len(gone)
        res.unchanged = len(remote) - len(fetched)
        state.last_success, state.last_error, state.failures = _now(), None, 0
    except (GeoportalError, OSError, KeyError) as e:
        res.error = str(e)
        res.kept = len(state.records)
        state.last_error, state.failures = f"{_now()}: {e}", state.failures + 1
        log.warning("harvest of %s (%s) failed, %d records kept: %s", child.id, child.url, res.kept, e)
    state.save(state_path)
    res.seconds = time.perf_counter() - t0
    return res


def harvest(cfg: NodeConfig, ws: Workspace, *, only: list[str] | None = None, timeout: float = 20.0,
            progress: Callable[[str], None] = log.info) -> list[ChildResult]:
    """Harvest every child of the node and every external service it registers (or the ones named); one
    failing source never stops the others."""
    if not pycsw.config_path(ws).exists() or not ws.catalog_db.exists():
        raise CatalogError(f"{ws.root}: the node has no catalog yet; run 'geoportal build' (or serve) first")
    children = [c for c in [*cfg.children, *cfg.remote_services] if not only or c.id in only]
    results = []
    for child in children:
        r = harvest_child(cfg, ws, child, timeout=timeout)
        if r.ok:
            progress(f"harvest {child.id}: {r.listed} listed, +{r.added} new, ~{r.changed} changed, "
                     f"-{r.deleted} deleted ({r.seconds:.1f} s)")
        else:
            progress(f"harvest {child.id}: FAILED, {r.kept} earlier records kept, retried next run: {r.error}")
        results.append(r)
    if any(r.added or r.changed or r.deleted for r in results):
        from search import index as search_index  # the parent's search shows what was harvested

        search_index.build(cfg, ws)
    return results
