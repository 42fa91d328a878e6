"""What every reader hands to the pipeline."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa

from ingest.encoding import EncodingDecision

WKB = "__wkb"
REASON = "__reason"
# features per Arrow batch: the GEOS working set of the batches in flight is most of an ingest's memory
# above the imports and the reader. 1M polygons, 16,384 → 4,096 a batch: peak RSS 233 → 225 MB
# (GeoPackage), 254 → 215 MB (PostGIS) for the same CPU seconds (README, benchmarks); 65,536 had been
# 349/410 MB on 200k. GEOPORTAL_INGEST_BATCH overrides it.
BATCH_SIZE = int(os.environ.get("GEOPORTAL_INGEST_BATCH", "4096"))


@dataclass(frozen=True)
class ReadOptions:
    layer: str | None = None
    where: str | None = None
    encoding: str | None = None
    batch_size: int = BATCH_SIZE


@dataclass
class Source:
    path: Path  # what the user named
    opened: Path  # the file actually read (inside an archive, the member)
    driver: str
    crs: str | None  # as declared: EPSG:N, WKT or PROJ (parsed by pyproj only when needed, ingest/crs.py)
    crs_decided_by: str
    encoding: EncodingDecision | None
    geometry_type: str  # as declared by the file: "Polygon", "Point", "Unknown", …
    fields: list[str]  # original attribute names, in order
    schema: pa.Schema  # of the batches: the attribute columns, then WKB (and REASON when present)
    batches: Iterator[pa.RecordBatch]
    axis_xy_from_columns: bool = False  # coordinates came from X/Y columns (axis order not certain)
    notes: dict[str, Any] = field(default_factory=dict)


def needs_plain(path: str) -> bool:
    """Whether pyogrio would turn ``path`` into something else (see :func:`plain_path`), or could not pass it
    to GDAL at all: a name that is not UTF-8 (e.g. cp1251 bytes from a Windows share) reaches Python with
    surrogates, which GDAL's UTF-8 strings cannot carry."""
    from pyogrio.util import vsi_path

    if not is_utf8(path):
        return True
    try:
        return vsi_path(path) != path or any(c in path for c in "!;")
    except Exception:  # whatever pyogrio cannot parse, it must not see
        return True


def is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display_path(path: Path | str) -> str:
    """A path as text for reports and messages: as it is, or — a name that is not UTF-8 — its bytes read as
    cp1251 (what such names on Ukrainian Windows shares are), so that a report can be written as UTF-8."""
    text = str(path)
    if is_utf8(text):
        return text
    return os.fsencode(text).decode("cp1251", errors="replace")


@contextmanager
def plain_path(path: Path) -> Iterator[Path]:
    """A path pyogrio hands to GDAL unchanged. pyogrio parses paths as URIs: ``!`` is "archive!member" and
    ``;`` starts URI parameters, so it would open (or write) another file — even a relative one, in the
    working folder. A file named ``Дороги!.shp`` or ``a;b.geojson`` gets a private folder of symbolic links
    with plain names: the file and its sidecars (same stem)."""
    path = Path(path)
    if not needs_plain(str(path)):
        yield path
        return
    folder = Path(tempfile.mkdtemp(prefix="geoportal-link-"))
    try:
        stem = path.name[: len(path.name) - len(path.suffix)] if path.suffix else path.name
        for f in path.parent.iterdir():
            if f.name == path.name or (f.name.startswith(stem + ".") and f.is_file()):
                (folder / ("source" + f.name[len(stem):])).symlink_to(f.resolve())
        yield folder / ("source" + path.name[len(stem):])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def plain_dir(folder: Path) -> Iterator[Path]:
    """A folder path pyogrio writes into unchanged: the folder itself, or a symbolic link to it with a plain
    name (files created through it — SQLite journals included — land in the real folder)."""
    folder = Path(folder)
    if not needs_plain(str(folder / "x.gpkg")):
        yield folder
        return
    private = Path(tempfile.mkdtemp(prefix="geoportal-link-"))
    try:
        (private / "d").symlink_to(folder.resolve(), target_is_directory=True)
        yield private / "d"
    finally:
        shutil.rmtree(private, ignore_errors=True)
