"""Publishers: each turns (node, stored layers, endpoints) into service configuration or files.

A publisher is a module registered in geoportal/plugins.py (``publisher``) with
``write(cfg, ws, layers, ep) -> Path``, its ``SERVICES`` and ``distributions(ds, layer, ep)``
(geoportal/services.py). Every node runs the built-in ones; ``publisher:`` in a node config adds one more.
Nothing here reads source files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from geoportal import plugins
from geoportal.config import NodeConfig
from geoportal.model import Endpoints, StoredLayer, Workspace


class Publisher(Protocol):
    def write(self, cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer],
              ep: Endpoints) -> Path: ...


def get(name: str) -> Publisher:
    return plugins.load("publisher", name)  # type: ignore[no-any-return]


def for_node(cfg: NodeConfig) -> list[tuple[str, Publisher]]:
    return [(n, get(n)) for n in plugins.node_publishers(cfg.publisher)]
