"""Federation: a node harvests the catalogs of its children (hromada → raion → oblast, or any CSW).

Per child, each run: list what the child has now, fetch only records that are new or whose
modification stamp changed, drop the ones the child no longer has; then apply what the children
delivered to the node's live catalog, each child's changes in one transaction (a loader run takes
several children at once). The origin of every record (the node it was first published by, carried
along the chain in ``dc:source``) is kept in the catalog's ``source`` column, and its access marker
(level, catalog mode, custodian, dataset key ``<origin node>/<dataset>``) in the record itself: the node
applies its own policy to it (:mod:`catalog.access_view`). A child hands over its non-public records only
to a parent presenting its harvest token (:func:`harvest_token`).

A child that is down, slow or answers garbage is reported, its error kept in its state, and it is tried
again next run; nothing harvested from it before is lost, and the other children go on.

On disk, per child: ``<workspace>/harvested/<child id>/state.json`` and the records' XML — one file per
record fetched by identifier, or the GetRecords page (``answer-….xml``, 500 records) a big harvest got
them in, kept as it came until none of its records is the child's any more — so a rebuild of the node
(``catalog.pycsw.load``) puts the harvested records the state names back without asking anyone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from catalog import pycsw
from catalog.harvest import Harvester, harvester_for
from geoportal.config import Link, NodeConfig, RemoteService
from geoportal.errors import CatalogError, GeoportalError, HarvestError
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
    return harvester_for(source.type, source.url, timeout=timeout, token=harvest_token(source))


HARVEST_TOKEN_ENV = "GEOPORTAL_HARVEST_TOKEN"


def harvest_token(child: Link) -> str | None:
    """The token this node presents to ``child`` (so that it hands over its non-public records, with their
    access markers): the environment variable the child's link names (``harvest_token_env``), else
    GEOPORTAL_HARVEST_TOKEN; none — the child's public records only. Never written in a config file."""
    name = child.harvest_token_env or HARVEST_TOKEN_ENV
    return os.environ.get(name, "").strip() or None


FETCH_CHUNK = 250  # records per worker's share of a big fetch by identifier
FETCH_WORKERS = 3  # concurrent requests to one child (its catalog serves with 2 processes; one more keeps
                   # both busy while this side parses an answer)
PAGES_FROM = 0.5  # share of the listed records from which fetching whole ISO pages beats asking by id


def _fetch(h: Harvester, todo: list[str], folder: Path, wanted: dict) -> dict[str, Path]:
    """Fetch ``todo`` by identifier into ``folder`` (one file per record): identifier → file.

    Serving 40 kB ISO records is most of a child's time, and the client side waits on it, so a big fetch
    from a CSW goes out as a few concurrent streams (each its own harvester and connection); a small one
    as one. (When most of a catalog is wanted, :func:`_stream` reads it as whole pages instead.)
    """
    todo_set = set(todo)

    def keep(records: Iterator[tuple[str, bytes]]) -> dict[str, Path]:
        got: dict[str, Path] = {}
        for ident, xml in records:
            if ident in todo_set and ident in wanted:
                path = folder / _file_for(ident)
                write_atomic(path, xml)
                got[ident] = path
        return got

    from catalog.harvest.csw import CSWHarvester

    if not isinstance(h, CSWHarvester) or len(todo) <= FETCH_CHUNK:
        return keep(h.fetch(todo))
    from concurrent.futures import ThreadPoolExecutor

    own = _per_thread(h)
    fetched: dict[str, Path] = {}
    with ThreadPoolExecutor(FETCH_WORKERS) as pool:
        chunks = [todo[i:i + FETCH_CHUNK] for i in range(0, len(todo), FETCH_CHUNK)]
        for got in pool.map(lambda c: keep(own().fetch(c)), chunks):
            fetched.update(got)
    return fetched


def _per_thread(h: "CSWHarvester") -> Callable[[], "CSWHarvester"]:  # type: ignore[name-defined]
    """A harvester like ``h`` for the calling thread (a requests Session is not to be shared)."""
    from catalog.harvest.csw import CSWHarvester

    local = threading.local()

    def own() -> CSWHarvester:
        if not hasattr(local, "h"):
            local.h = CSWHarvester(h.url, timeout=h.timeout, attempts=h.attempts, token=h.token)
        return local.h

    return own


def _streamable(h: Harvester) -> bool:
    """Whether a fetch from ``h`` can go as whole ISO pages (:func:`_streams`): a CSW child."""
    from catalog.harvest.csw import CSWHarvester

    return isinstance(h, CSWHarvester)


def _streams(h: Harvester, wanted: int, listed: int) -> bool:
    """Whether a fetch of ``wanted`` of the child's ``listed`` records goes as whole ISO pages straight into
    the catalog (:func:`_stream`): a CSW child of which most is wanted (a first harvest, a
    re-publication), and more than one worker's share."""
    return _streamable(h) and wanted > FETCH_CHUNK and wanted >= PAGES_FROM * listed


def _undelivered(url: str, missing: Iterable[str]) -> CatalogError:
    """A child that listed records and did not deliver them (by page nor by identifier) fails."""
    return CatalogError(f"{url}: listed but not delivered as ISO 19139: {sorted(missing)[:5]}")


def _unreadable(url: str, errors: list[str]) -> CatalogError:
    """A child with records the catalog could not read fails (alone: the other children go on)."""
    return CatalogError(f"{url}: the catalog could not read {len(errors)} record(s): " + "; ".join(errors[:3]))


_COMMITS = threading.Lock()  # one harvest writing the catalog at a time (SQLite takes one writer)


def _stream(ws: Workspace, h: "CSWHarvester", p: "_Pending", todo: list[str],  # type: ignore[name-defined]
            loader: pycsw.StreamLoader | None = None) -> None:
    """Fetch ``todo`` as whole GetRecords pages in ISO 19139 and load it while the next pages come.

    Each answer is written as it arrives to a file in the child's folder and handed, in order, to one
    loader (:class:`catalog.pycsw.StreamLoader`, reading them on every core), which parses each once,
    reads the wanted records' rows in place and keeps a file that delivered any, one file for its 500
    records (the state names it for each of them) — no answer passes whole through this process or a
    pipe, and no record is written to a file of its own to be parsed again — while a few requests keep
    the child's catalog busy (at most FETCH_WORKERS answers wait here).
    Paging is not a snapshot: whatever the pages did not deliver (a catalog that changed meanwhile) is
    asked for by identifier; what still has not come fails the child, and then nothing reaches the
    catalog. Its deleted records go in the same transaction as the new ones.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from catalog.harvest.csw import BATCH, ISO_PAGE

    wanted = {i: p.origin(i) for i in todo}
    own = _per_thread(h)

    def pipe(loader: pycsw.StreamLoader, pool: ThreadPoolExecutor, calls: list[Callable[[], Path]]) -> None:
        waiting = deque(pool.submit(c) for c in calls[:FETCH_WORKERS])
        rest = iter(calls[FETCH_WORKERS:])
        while waiting:
            answer = waiting.popleft().result()
            nxt = next(rest, None)
            if nxt is not None:
                waiting.append(pool.submit(nxt))
            loader.send_file(answer)

    received: list[Path] = []  # this harvest's answers, removed if it is given up

    def new() -> Path:
        received.append(pycsw.incoming(p.folder))
        return received[-1]

    done = False
    try:
        loader = loader or pycsw.StreamLoader(pycsw.served_config_path(ws))  # ``loader``: one started ahead
        with loader, ThreadPoolExecutor(FETCH_WORKERS) as pool:
            loader.begin(p.folder, wanted, delete_ids=p.gone)
            listed = max(h.matched, len(p.listed))
            pipe(loader, pool, [lambda s=s: own().page_to(s, new(), ISO_PAGE) for s in range(1, listed + 1, ISO_PAGE)])
            missing, unusable = loader.missing()
            if missing and not unusable:
                pipe(loader, pool, [lambda b=missing[i:i + BATCH]: own().by_id_to(b, new())
                                    for i in range(0, len(missing), BATCH)])
                missing, unusable = loader.missing()
            if unusable:
                raise HarvestError(f"{h.url}: {unusable[0]}")
            if missing:
                raise _undelivered(p.child.url, missing)
            with _COMMITS:
                report = loader.commit()
        done = True
    finally:
        if not done:  # the answers of this harvest, received, being received or kept, are nobody's
            pycsw.drop_answers(received)
    p.fetched = {i: p.folder / name for i, name in report["delivered"].items()}
    p.loaded = True
    p.load_errors = [e["error"] for e in report.get("errors", [])]


@dataclass
class _Pending:
    """One child's harvest between fetching and loading: what it delivered and what it no longer has."""

    child: Link | RemoteService
    folder: Path
    state: ChildState
    res: ChildResult
    t0: float
    listed: dict = field(default_factory=dict)  # identifier → RemoteRecord
    fetched: dict[str, Path] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)
    loaded: bool = False  # already in the catalog (:func:`_stream`), with these records' errors:
    load_errors: list[str] = field(default_factory=list)

    def origin(self, ident: str) -> str:
        origin = self.listed[ident].origin
        return origin if origin and origin.startswith(("http://", "https://")) else self.child.url

    def fail(self, e: Exception) -> None:
        self.res.error = str(e)
        self.res.kept = len(self.state.records)
        self.state.last_error, self.state.failures = f"{_now()}: {e}", self.state.failures + 1
        log.warning("harvest of %s (%s) failed, %d records kept: %s", self.child.id, self.child.url,
                    self.res.kept, e)

    def succeed(self) -> None:
        state, res = self.state, self.res
        # files of deleted and replaced records: removed once no record of the child is in them (a kept
        # answer holds many records, and lives until the last of them is deleted or replaced)
        old = {str(state.records[i]["file"]) for i in [*self.gone, *self.fetched] if i in state.records}
        for ident in self.gone:
            del state.records[ident]
        for ident, path in self.fetched.items():
            res.changed += ident in state.records
            res.added += ident not in state.records
            state.records[ident] = {"modified": self.listed[ident].modified, "file": path.name,
                                    "origin": self.origin(ident)}
        for name in old - {str(r["file"]) for r in state.records.values()}:
            (self.folder / name).unlink(missing_ok=True)
        res.deleted = len(self.gone)
        res.unchanged = len(self.listed) - len(self.fetched)
        state.last_success, state.last_error, state.failures = _now(), None, 0


def _collect(cfg: NodeConfig, ws: Workspace, child: Link | RemoteService, timeout: float) -> _Pending:
    """The network half of a child's harvest: list, fetch what is new or changed into its folder; a
    failure is kept in the result (and the child's state), never raised."""
    folder = ws.root / "harvested" / child.id
    folder.mkdir(parents=True, exist_ok=True)
    state = ChildState.load(folder / "state.json", child.url)
    # the answers of a harvest whose process was killed (a harvest given up in-process removes its own)
    pycsw.drop_unused(folder, {str(r["file"]) for r in state.records.values()}, older_than=LEFT_BEHIND_SECONDS)
    p = _Pending(child, folder, state, ChildResult(child.id, child.url), time.perf_counter())
    ahead: pycsw.StreamLoader | None = None
    try:
        h = _harvester(cfg, child, timeout)

        def ahead_of_streaming(matched: int) -> None:
            """Once the listing's first page says how many records the child has: when so many of them
            are new that the harvest will stream (:func:`_streams`), the loader starts pycsw (~0.8 s) while
            the rest is being listed, instead of after."""
            nonlocal ahead
            if ahead is None and _streams(h, matched - len(state.records), matched):  # at least that many new
                ahead = pycsw.StreamLoader(pycsw.served_config_path(ws))

        remote = h.list_records(on_matched=ahead_of_streaming) if _streamable(h) else h.list_records()
        p.res.listed = len(remote)
        p.listed = {r.identifier: r for r in remote}
        todo = [r.identifier for r in remote
                if r.identifier not in state.records or r.modified is None
                or state.records[r.identifier].get("modified") != r.modified
                or not (folder / str(state.records[r.identifier]["file"])).exists()]
        p.gone = [i for i in state.records if i not in p.listed]
        if _streams(h, len(todo), max(getattr(h, "matched", 0), len(p.listed))):
            loader, ahead = ahead, None
            _stream(ws, h, p, todo, loader)  # type: ignore[arg-type]
            if p.load_errors:
                raise _unreadable(child.url, p.load_errors)
            return p
        p.fetched = _fetch(h, todo, folder, p.listed)
        missing = set(todo) - set(p.fetched)
        if missing:
            raise _undelivered(child.url, missing)
    except (GeoportalError, OSError, KeyError) as e:
        p.fail(e)
    finally:
        if ahead is not None:  # started for a harvest that did not stream: it ends without loading
            ahead.close()
    return p


def _load(ws: Workspace, pending: list[_Pending]) -> None:
    """The catalog half: the successful children's new, changed and deleted records in as few loader
    runs as memory allows (one process start and one transaction each, instead of one per child), into
    the repository the running node serves — a production node's PostgreSQL one, which its CSW, OAI-PMH
    and search read at once (:func:`catalog.pycsw.served_config_path`). A
    record the catalog cannot read fails its own child only; a loader run failing as a whole fails
    every child in it (their earlier records stay, retried next run)."""
    ok = [p for p in pending if p.res.ok and not p.loaded and (p.fetched or p.gone)]
    if not ok:
        for p in pending:
            if p.res.ok:
                p.succeed()
        return
    # children in groups of up to LOAD_RECORDS records: the loader holds a run's rows in memory (~50 kB
    # a record), and a national node harvesting 24 oblasts would otherwise hold 2.5 GB
    groups: list[list[_Pending]] = [[]]
    size = 0
    for p in ok:
        if groups[-1] and size + len(p.fetched) > LOAD_RECORDS:
            groups.append([])
            size = 0
        groups[-1].append(p)
        size += len(p.fetched)
    errors: dict[str, list[str]] = {}
    t = time.perf_counter()
    for group in groups:
        # an identifier delivered by two children is loaded once: the later child's copy, as when the
        # children were loaded one after another
        by_ident: dict[str, tuple[Path, str]] = {}
        for p in group:
            for ident, path in p.fetched.items():
                by_ident[ident] = (path, p.origin(ident))
        gone = [i for p in group for i in p.gone]
        try:
            report = pycsw.run_loader(pycsw.served_config_path(ws), list(by_ident.values()), delete_ids=gone)
        except (GeoportalError, OSError) as e:
            for p in group:
                p.fail(e)
            continue
        for e in report.get("errors", []):
            errors.setdefault(str(Path(e["path"]).parent), []).append(e["error"])
    load_secs = time.perf_counter() - t
    for p in pending:
        if not p.res.ok:
            continue
        bad = errors.get(str(p.folder), [])
        if bad:
            p.fail(_unreadable(p.child.url, bad))
        else:
            p.succeed()
        if any(p is q for q in ok):
            p.t0 -= load_secs / len(ok)  # each child's time includes its share of the one load


def _finish(p: _Pending) -> ChildResult:
    p.state.save(p.folder / "state.json")
    p.res.seconds = time.perf_counter() - p.t0
    return p.res


def harvest_child(cfg: NodeConfig, ws: Workspace, child: Link | RemoteService, timeout: float = 20.0) -> ChildResult:
    """Harvest one child (see :func:`harvest` for many)."""
    p = _collect(cfg, ws, child, timeout)
    _load(ws, [p])
    return _finish(p)


LEFT_BEHIND_SECONDS = 3600.0  # an answer file no harvest has written for this long, and no state names, is lost
LOAD_RECORDS = 5000  # records per loader run at most (a child with more is one run of its own)
HARVEST_WORKERS = int(os.environ.get("GEOPORTAL_HARVEST_WORKERS", "4"))  # children fetched at once


def harvest(cfg: NodeConfig, ws: Workspace, *, only: list[str] | None = None, timeout: float = 20.0,
            progress: Callable[[str], None] = log.info) -> list[ChildResult]:
    """Harvest every child of the node and every external service it registers (or the ones named); one
    failing source never stops the others.

    The children are fetched a few at a time (waiting on the network, not the CPU), and what they
    delivered goes into the catalog in a few loader runs of up to LOAD_RECORDS records: an oblast with 66
    hromadas of 30 records each would otherwise start the loader — a second of imports — 66 times for
    2,000 records (see bench/country_bench.py).
    """
    if not pycsw.config_path(ws).exists() or not ws.catalog_db.exists():
        raise CatalogError(f"{ws.root}: the node has no catalog yet; run 'geoportal build' (or serve) first")
    children = [c for c in [*cfg.children, *cfg.remote_services] if not only or c.id in only]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, min(HARVEST_WORKERS, len(children)))) as pool:
        pending = list(pool.map(lambda c: _collect(cfg, ws, c, timeout), children))
    _load(ws, pending)
    results = []
    for p in pending:
        r = _finish(p)
        if r.ok:
            progress(f"harvest {r.id}: {r.listed} listed, +{r.added} new, ~{r.changed} changed, "
                     f"-{r.deleted} deleted ({r.seconds:.1f} s)")
        else:
            progress(f"harvest {r.id}: FAILED, {r.kept} earlier records kept, retried next run: {r.error}")
        results.append(r)
    from search.network import refresh as refresh_search_network

    # the children's decisions and projects are fetched on every harvest, whatever the records did
    network_changed = refresh_search_network(cfg, ws, timeout=timeout)
    if network_changed or any(r.added or r.changed or r.deleted for r in results):
        from catalog.repository import repository_of
        from search import index as search_index  # the parent's search shows what was harvested

        search_index.build(cfg, ws, repository_of(pycsw.served_config_path(ws)))
    return results
