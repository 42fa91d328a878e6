"""Readers: one per kind of source, looked up by the file's extension.

Every reader is a context manager that yields a :class:`~ingest.readers.base.Source`: what the file
declares (CRS, encoding and how it was decided, geometry type, original field names) and an iterator of
Arrow record batches with the attributes, a WKB column ``__wkb`` and, where the reader already knows a
row is bad (unreadable coordinates), a reason in ``__reason``. Adding a format is a module, one line in the
``reader`` registry of geoportal/plugins.py and its extensions in :data:`FORMATS`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Callable

from geoportal import plugins
from geoportal.model import RASTER_SUFFIXES
from geoportal.errors import IngestError
from ingest.readers.base import ReadOptions, Source

Reader = Callable[[Path, ReadOptions], AbstractContextManager[Source]]


FORMATS: dict[str, str] = {
    ".shp": "ogr", ".geojson": "ogr", ".json": "ogr", ".gpkg": "ogr", ".kml": "ogr", ".gml": "ogr",
    ".fgb": "ogr", ".csv": "table", ".txt": "table", ".tsv": "table", ".xlsx": "table",
    ".zip": "archive", ".kmz": "archive",
}


def open_source(path: Path, opts: ReadOptions | None = None) -> AbstractContextManager[Source]:
    """Open any supported vector source; errors name the file and say what to do."""
    path = Path(path)
    opts = opts or ReadOptions()
    if not path.exists():
        raise IngestError(f"{path}: file not found")
    if path.is_file() and path.stat().st_size == 0:
        raise IngestError(f"{path}: the file is empty (0 bytes); export it again from the source system")
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(FORMATS))
        raise IngestError(f"{path}: unknown format '{path.suffix}'; supported: {known} and GeoTIFF")
    reader: Reader = plugins.load("reader", kind)
    return reader(path, opts)


__all__ = ["FORMATS", "RASTER_SUFFIXES", "ReadOptions", "Source", "open_source"]
