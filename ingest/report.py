"""The quality report of a load: a JSON document (kept with the layer and in the workspace) and a
readable summary for the terminal."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Tally:
    """Counts gathered while the batches stream by."""

    read: int = 0
    written: int = 0
    geometries_repaired: int = 0
    text_values_repaired: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    bounds: list[float] | None = None
    admin_linked: Counter[str] = field(default_factory=Counter)
    geometry_types: Counter[str] = field(default_factory=Counter)  # base type → features read

    def add_bounds(self, b: np.ndarray) -> None:
        if not np.isfinite(b).all():
            return
        if self.bounds is None:
            self.bounds = [float(x) for x in b]
        else:
            self.bounds = [min(self.bounds[0], b[0]), min(self.bounds[1], b[1]),
                           max(self.bounds[2], b[2]), max(self.bounds[3], b[3])]

    def reject(self, reasons: list[str]) -> None:
        for r in reasons:
            self.rejected[r.split(":", 1)[0]] += 1


def summary(report: dict[str, Any]) -> str:
    """A few lines a GIS specialist reads at a glance."""
    rej = report.get("rejected_by_reason") or {}
    lines = [
        f"{report.get('dataset')}: {report.get('features_written')} of {report.get('features_read')} features "
        f"written (version {report.get('version')}, {report.get('storage_crs')})",
        f"  source     {report.get('source')} [{report.get('driver')}]",
        f"  CRS        {report.get('source_crs_name') or report.get('source_crs')} — {report.get('crs_decided_by')}",
        f"  encoding   {report.get('encoding')} — {report.get('encoding_decided_by')}",
        f"  repaired   {report.get('geometries_repaired', 0)} geometries, "
        f"{report.get('text_values_repaired', 0)} text values (NFC, look-alike letters)",
        f"  rejected   {report.get('features_rejected', 0)}"
        + (" — " + "; ".join(f"{k}: {v}" for k, v in rej.items()) if rej else ""),
    ]
    ext = report.get("extent_4326")
    if ext:
        lines.append("  extent     " + ", ".join(f"{v:.5f}" for v in ext) + " (lon/lat)")
    if report.get("admin_linked_by"):
        lines.append("  KATOTTH    " + ", ".join(f"{k}: {v}" for k, v in report["admin_linked_by"].items()))
    return "\n".join(lines)
