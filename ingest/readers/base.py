"""What every reader hands to the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
from pyproj import CRS

from ingest.encoding import EncodingDecision

WKB = "__wkb"
REASON = "__reason"
BATCH_SIZE = 65536


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
    crs: CRS | None
    crs_decided_by: str
    encoding: EncodingDecision | None
    geometry_type: str  # as declared by the file: "Polygon", "Point", "Unknown", …
    fields: list[str]  # original attribute names, in order
    schema: pa.Schema  # of the batches: the attribute columns, then WKB (and REASON when present)
    batches: Iterator[pa.RecordBatch]
    axis_xy_from_columns: bool = False  # coordinates came from X/Y columns (axis order not certain)
    notes: dict[str, Any] = field(default_factory=dict)
