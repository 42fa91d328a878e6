"""Storage back-ends, looked up by name: every load is a new version, written aside and swapped in
atomically; a failed load leaves the current version as it was.

A store takes the layer as a stream of Arrow batches (attributes + WKB ``geom``), the rejected features,
and the provenance of the load (computed after the stream is consumed, so the counts are final).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import pyarrow as pa

from geoportal.model import Location

GEOM = "geom"
#: how many versions of a layer every store keeps for rollback (older ones are pruned)
KEEP_VERSIONS = int(os.environ.get("GEOPORTAL_KEEP_VERSIONS", 5))


@dataclass
class LayerStream:
    table: str
    schema: pa.Schema  # attribute fields + GEOM (binary WKB)
    batches: Iterator[pa.RecordBatch]
    geometry_type: str
    crs: str  # "EPSG:N" or WKT
    version: int
    rejected: Callable[[], tuple[pa.Schema, list[pa.RecordBatch]]]
    provenance: Callable[[], dict[str, Any]]  # called once the stream is consumed


class Store(Protocol):
    """A vector storage backend: versions of layers, written atomically. Its module (registry ``store`` in
    geoportal/plugins.py) also has the ``Location`` class its layers are found by."""

    backend: str

    def current(self, table: str) -> dict[str, Any] | None: ...
    def next_version(self, table: str) -> int: ...
    def write(self, layer: LayerStream) -> None: ...
    def history(self, table: str) -> list[dict[str, Any]]: ...
    def rollback(self, table: str, version: int) -> dict[str, Any]: ...
    def table_for(self, dataset_id: str) -> str: ...
    def location(self, table: str) -> Location: ...


def backend_of(target: str | Path) -> str:
    """The store a target names: a postgresql:// DSN is PostGIS, anything else a GeoPackage file."""
    return "postgis" if str(target).startswith(("postgresql://", "postgres://")) else "geopackage"


def open_store(target: str | Path, *, schema: str = "public") -> Store:
    """The store for a GeoPackage path or a postgresql:// DSN, through the ``store`` registry."""
    from geoportal import plugins

    return plugins.load("store", backend_of(target)).Store(str(target), schema=schema)


class CapturingIterator:
    """Wraps a batch iterator handed to C code (GDAL): an exception inside is kept and re-raised by us,
    instead of surfacing as GDAL's "Error while accessing batch from stream"."""

    def __init__(self, it: Iterator[pa.RecordBatch]):
        self.it = it
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self.it
        except BaseException as e:  # re-raised by the store after GDAL returns
            self.error = e
            raise
