"""Prepare a node for the production topology: its data in PostGIS (writes to the primary, the servers'
reads from ``read_dsn``), the usual build, and pycsw's repository in PostgreSQL — the one catalog of the
running node: pycsw answers CSW from it and writes CSW-T to it, and the node's own readers (OAI-PMH, the
catalog views, the search index) read it too (:mod:`catalog.repository`); the build's SQLite
``catalog.db`` is only the step the records pass through.

The same step runs natively (``geoportal serve --production``) and in containers (the compose service
``build`` runs ``geoportal deploy prepare``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import yaml

from catalog.repository import install_change_counter, repository_of
from geoportal.build import BuildResult, build
from geoportal.config import NodeConfig, absolutize, load_config
from geoportal.errors import CatalogError
from geoportal.model import Endpoints, Workspace, write_atomic
from search import index as search_index

Progress = Callable[[str], None]


def production_config(config: Path, out: Path, dsn: str, read_dsn: str | None) -> NodeConfig:
    """The node config with its vector storage in PostGIS at ``dsn`` (the schema it names, if any),
    written to ``out`` (paths made absolute) so every later command of the run reads the same one."""
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        from geoportal.errors import ConfigError

        raise ConfigError(f"{config}: not a node config (a YAML mapping is expected)")
    raw = absolutize(raw, config.resolve().parent)
    storage = dict(raw.get("storage") or {})
    schema = storage.get("schema", "public") if storage.get("backend") == "postgis" else "public"
    raw["storage"] = {"backend": "postgis", "dsn": dsn, "schema": schema,
                      **({"read_dsn": read_dsn} if read_dsn else {}),
                      **({"crs": storage["crs"]} if "crs" in storage else {})}
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))
    return load_config(out)


def production_pycsw_config(ws: Workspace) -> Path:
    """The pycsw configuration of the production catalog (repository in PostgreSQL); ``geoportal harvest``
    loads into the repository it names (:func:`catalog.pycsw.served_config_path`)."""
    from catalog.pycsw import production_config_path

    return production_config_path(ws)


def load_catalog(cfg: NodeConfig, ws: Workspace, ep: Endpoints, catalog_dsn: str) -> int:
    """Load the node's ISO records (and what it harvested) into pycsw's repository in PostgreSQL.

    The first time the table is made by pycsw (with PostGIS: a geometry column instead of its PL/Python
    functions); later loads replace the node's records by identifier and keep the records publishers
    inserted with CSW-T. Returns the number of records loaded.
    """
    import psycopg

    from catalog.pycsw import build_config, harvested_records, run_loader

    try:
        with psycopg.connect(catalog_dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")  # pycsw 2.6 needs it or PL/Python
            fresh = conn.execute("SELECT to_regclass('public.records') IS NULL").fetchone()[0]  # type: ignore[index]
    except psycopg.Error as e:
        raise CatalogError(f"the catalog database {catalog_dsn} cannot be reached ({e}); check --catalog-dsn") from e
    conf = production_pycsw_config(ws)
    tokens = bool(os.environ.get("GEOPORTAL_CSW_TOKENS", "").strip())
    url = "postgresql://" + catalog_dsn.split("://", 1)[1]  # SQLAlchemy 1.4 takes no 'postgres://'
    write_atomic(conf, build_config(cfg, ws, ep, database=url, transactions=tokens))
    records = [(p, "local") for p in sorted(ws.records.glob("*.xml"))]
    report = run_loader(conf, records + harvested_records(ws), setup=bool(fresh))
    local_errors = [e for e in report["errors"] if Path(e["path"]).parent == ws.records]
    if local_errors:
        raise CatalogError("pycsw cannot read these records of the node: " + "; ".join(
            f"{e['path']}: {e['error']}" for e in local_errors))
    # the loader derives the PostGIS column pycsw queries a BBOX on (wkb_geometry) in its own transaction
    install_change_counter(catalog_dsn)  # the node's readers see from it when the records changed
    return int(report["loaded"])


def prepare(config: Path, ws: Workspace, base_url: str, dsn: str, read_dsn: str | None, catalog_dsn: str,
            progress: Progress) -> BuildResult:
    """Build the node into PostGIS and load its catalog into PostgreSQL (see the module docstring)."""
    cfg = production_config(config, ws.root.parent / f"{ws.root.name}-production.yaml", dsn, read_dsn)
    res = build(cfg, ws, base_url, progress=progress)
    n = load_catalog(cfg, ws, res.endpoints, catalog_dsn)
    progress(f"catalog: {n} records in PostgreSQL ({catalog_dsn.rsplit('/', 1)[-1]})")
    # the build indexed its SQLite copy; the served catalog also keeps what publishers wrote with CSW-T
    search_index.build(cfg, ws, repository_of(production_pycsw_config(ws)))
    progress("search: index of the PostgreSQL catalog rebuilt")
    return res
