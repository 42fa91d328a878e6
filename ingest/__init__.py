"""Ingest: turn a source file into a verified, standardised layer in storage.

Public entry points:

- :func:`load_dataset` — one dataset of a node config into the node's storage (used by ``geoportal build``
  and ``geoportal ingest``);
- :func:`ingest_file` — one file into a GeoPackage or PostGIS target, no config needed
  (``geoportal ingest-file``).

They are imported on first use: the ``geoportal`` command mounts ``ingest.cli`` at start, and importing
the pipeline (GDAL, Arrow, GEOS, PROJ) there cost every command — ``geoportal --help`` too — about a
second of CPU and 100 MB of memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.pipeline import ingest_file, load_dataset

__all__ = ["ingest_file", "load_dataset"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ingest import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")
