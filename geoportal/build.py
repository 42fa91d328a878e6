"""Build a node: ingest → publishers → metadata → catalog, for every dataset of the config.

Each stage takes the previous stage's typed output (``StoredLayer``s from the workspace manifest); a
re-run on unchanged sources re-ingests nothing (checksums) and only regenerates the service files, so
``geoportal serve`` can rebuild for its own port in a second or two.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from geoportal.config import NodeConfig
from geoportal.errors import ConfigError
from geoportal.model import Endpoints, StoredLayer, Workspace, write_atomic
from geoportal.portal import Site

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _quiet(msg: str) -> None:
    log.info(msg)


@dataclass
class BuildResult:
    workspace: Workspace
    endpoints: Endpoints
    layers: dict[str, StoredLayer]
    records: dict[str, Path]
    seconds: float


def ingest_all(cfg: NodeConfig, ws: Workspace, *, only: list[str] | None = None, force: bool = False,
               progress: Progress = _quiet) -> dict[str, StoredLayer]:
    from ingest import load_dataset

    wanted = [cfg.dataset(i) for i in only] if only else cfg.datasets
    for n, ds in enumerate(wanted, 1):
        t = time.perf_counter()
        layer = load_dataset(cfg, ds, ws, force=force)
        progress(f"[{n}/{len(wanted)}] ingest {ds.id}: {layer.feature_count} features, "
                 f"version {layer.version} ({time.perf_counter() - t:.1f} s)")
    return ws.read_layers()


def for_live_reads(cfg: NodeConfig, layers: dict[str, StoredLayer]) -> dict[str, StoredLayer]:
    """The layers as the servers that query them per request should see them: from ``storage.read_dsn``
    (a streaming replica, the primary as fallback) when the node has one. Ingest, decisions and the
    downloads written right after an ingest keep using ``storage.dsn``, where the writes are."""
    from dataclasses import replace

    read, write = cfg.storage.read_dsn, cfg.storage.dsn
    if not read:
        return layers
    return {k: replace(lyr, location=replace(lyr.location, dsn=read))  # type: ignore[type-var]
            if getattr(lyr.location, "backend", "") == "postgis" and getattr(lyr.location, "dsn", None) == write
            else lyr for k, lyr in layers.items()}


def publish_all(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints,
                progress: Progress = _quiet) -> None:
    import publishers

    live = for_live_reads(cfg, layers)
    for name, pub in publishers.for_node(cfg):
        t = time.perf_counter()
        # a publisher whose server queries the store per request (SERVES_LIVE) reads from the replica
        path = pub.write(cfg, ws, live if getattr(pub, "SERVES_LIVE", False) else layers, ep)
        progress(f"publish {name}: {path} ({time.perf_counter() - t:.1f} s)")


def with_passport(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer],
                  progress: Progress = _quiet, force: bool = False) -> tuple[NodeConfig, dict[str, StoredLayer]]:
    """The node config and layers with the hromada passports added as a published dataset, when the node
    declares a passport; recomputed only when one of its sources changed."""
    from passport.build import build_passport

    extra = build_passport(cfg, ws, layers, progress=progress, force=force)
    if extra is None:
        return cfg, layers
    ds, layer = extra
    return cfg.model_copy(update={"datasets": [*cfg.datasets, ds]}), {**layers, ds.id: layer}


def with_decisions(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], base_url: str,
                   progress: Progress = _quiet) -> tuple[NodeConfig, dict[str, StoredLayer]]:
    """The node config and layers with the decision register added as two published datasets (``decisions``,
    ``projects``), also when it is empty; its pages and Atom feeds are rewritten on the way."""
    from decisions.publish import publish_register

    extra = publish_register(cfg, ws, base_url=base_url, layers=layers, progress=progress)
    return (cfg.model_copy(update={"datasets": [*cfg.datasets, *(ds for ds, _ in extra)]}),
            {**layers, **{ds.id: layer for ds, layer in extra}})


def published_path(ws: Workspace) -> Path:
    return ws.root / "published.json"


def write_published(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer]) -> None:
    """What the build published, passports and the decision register included: the serving process builds
    the access views of logged-in callers from it (``geoportal/views_web.py``) without re-running a stage."""
    write_atomic(published_path(ws), json.dumps({
        "config_path": str(cfg.config_path) if cfg.config_path else None,
        "config": cfg.model_dump(mode="json", by_alias=True),
        "layers": {k: v.to_dict() for k, v in layers.items()},
    }, ensure_ascii=False))


def read_published(ws: Workspace) -> tuple[NodeConfig, dict[str, StoredLayer]] | None:
    """The config and layers of :func:`write_published`, None for a workspace built before it."""
    path = published_path(ws)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    cfg = NodeConfig.model_validate(data["config"])
    if data.get("config_path"):
        cfg = cfg.model_copy(update={"config_path": Path(data["config_path"])})
    return cfg, {k: StoredLayer.from_dict(v) for k, v in data["layers"].items()}


def check_access_columns(cfg: NodeConfig, layers: dict[str, StoredLayer]) -> None:
    """Refuse a build whose access rules hide attributes the stored layers do not have (they would hide
    nothing); before anything is published, so the previous build keeps serving."""
    from access.config import unknown_attributes

    if cfg.access is None:
        return
    columns = {k: {f.name: f.label for f in lyr.fields} for k, lyr in layers.items()}
    problems = unknown_attributes(cfg.access, columns)
    if problems:
        raise ConfigError(f"{cfg.config_path}: access rules name attributes the data does not have:\n"
                          + "\n".join(f"  - {p}" for p in problems))


def audit_rule_change(cfg: NodeConfig, ws: Workspace) -> None:
    """A build that publishes a different ``access:`` section (levels, rules, issuers) than the last one is
    a change of who may see what: the audit log records it, with the digests of the old and new rules."""
    import hashlib

    from access.audit import record_change

    levels = {d.id: d.access.value for d in cfg.datasets}
    rules = cfg.access.model_dump(mode="json") if cfg.access is not None else None
    digest = hashlib.sha256(json.dumps([rules, levels], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    mark = ws.root / "access-rules.sha256"
    previous = mark.read_text().strip() if mark.exists() else None
    if previous != digest:
        record_change(ws.root, "access.rules", rules=len(cfg.access.rules) if cfg.access is not None else 0,
                      digest=digest, previous=previous)
        write_atomic(mark, digest)


def build(cfg: NodeConfig, ws: Workspace, base_url: str, *, only: list[str] | None = None,
          force: bool = False, progress: Progress = _quiet) -> BuildResult:
    """Run every stage; raises a GeoportalError subclass naming what failed and leaves the previous
    good state of each stage in place."""
    from catalog import pycsw
    from geoportal import dataset_pages, invest, landing, map_viewer
    from metadata.write import write_records
    from search import index as search_index

    t0 = time.perf_counter()
    ws.ensure()
    ep = Endpoints(base_url.rstrip("/"))
    layers = ingest_all(cfg, ws, only=only, force=force, progress=progress)
    cfg, layers = with_passport(cfg, ws, layers, progress, force=force)
    cfg, layers = with_decisions(cfg, ws, layers, ep.base_url, progress)
    check_access_columns(cfg, layers)
    audit_rule_change(cfg, ws)
    # records first: the downloads carry them inside
    records = write_records(cfg, ws, layers, ep, progress=progress)
    publish_all(cfg, ws, layers, ep, progress=progress)
    t = time.perf_counter()
    pycsw.load(cfg, ws, ep)
    progress(f"catalog: {len(records)} records loaded into {ws.catalog_db} ({time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    search_index.build(cfg, ws)
    progress(f"search: index of the catalog, passports, decisions and projects rebuilt "
             f"({time.perf_counter() - t:.1f} s)")
    landing.write(cfg, ws, layers, ep)
    dataset_pages.write(cfg, ws, layers, ep)
    write_published(cfg, ws, layers)
    map_viewer.write(cfg, ws, layers, ep)
    invest.write(cfg, ws, layers, ep)
    write_atomic(ws.root / "node.json", json.dumps({
        "node": cfg.node.id, "config": str(cfg.config_path), "base_url": ep.base_url,
        **Site.of_config(cfg).to_dict(),
        "datasets": sorted(layers), "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, ensure_ascii=False, indent=2))
    return BuildResult(ws, ep, layers, records, time.perf_counter() - t0)
