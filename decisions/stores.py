"""Which repository a node's register lives in: a small map from the node's storage backend to a maker, so a
new store is one line (and repository.py stays free of the implementations that import it)."""

from __future__ import annotations

from pathlib import Path

from decisions.repository import Repository
from geoportal.config import NodeConfig


def open_repository(cfg: NodeConfig, workspace_root: Path) -> Repository:
    """The register of a node, where its layers are: a PostGIS node keeps it in its schema, any other in
    ``<workspace>/decisions.gpkg``."""
    from decisions.repo_gpkg import GpkgRepository
    from decisions.repo_postgis import PostgisRepository

    makers = {"postgis": lambda: PostgisRepository(cfg.storage.dsn or "", cfg.storage.schema_)}
    return makers.get(cfg.storage.backend, lambda: GpkgRepository(workspace_root / "decisions.gpkg"))()
