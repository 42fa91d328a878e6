"""Publishers: each turns (node, stored layers, endpoints) into service configuration or files.

One registry, like pygeoapi's plugin map: a publisher is a module with
``write(cfg, ws, layers, ep) -> Path``, named here by a short name. Nothing here reads source files.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

from geoportal.config import NodeConfig
from geoportal.model import Endpoints, StoredLayer, Workspace

#: the publishers every node runs, in order (the catalog needs the links they create)
BUILTIN: dict[str, str] = {
    "pygeoapi": "publishers.pygeoapi",
    "mapserver": "publishers.mapserver",
    "downloads": "publishers.downloads",
}
#: publishers a node config may add with ``publisher:``
OPTIONAL: dict[str, str] = {
    "geoserver": "publishers.geoserver",
}


class Publisher(Protocol):
    def write(self, cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer],
              ep: Endpoints) -> Path: ...


def get(name: str) -> Publisher:
    module = {**BUILTIN, **OPTIONAL}[name]
    return importlib.import_module(module)  # type: ignore[return-value]


def for_node(cfg: NodeConfig) -> list[tuple[str, Publisher]]:
    names = list(BUILTIN)
    if cfg.publisher != "builtin":
        names.append(cfg.publisher)
    return [(n, get(n)) for n in names]
