"""The address a node was last built for — what absolute links of the register (pages, feeds, the sender of
an agreement request) are written with, by the build and by the CLI between builds alike."""

from __future__ import annotations

import json
from typing import Any


def node_base_url(cfg: Any, ws: Any) -> str:
    """The address the node was last built for (``node.json``), else its configured URL: the CLI changes the
    register between builds and must write the same absolute links the build wrote."""
    try:
        return str(json.loads((ws.root / "node.json").read_text(encoding="utf-8"))["base_url"]).rstrip("/")
    except (OSError, ValueError, KeyError):
        return (cfg.node.url or "http://127.0.0.1:8000").rstrip("/")
