"""Where an area limit lets a caller see features: a KATOTTH code resolved to its territory's polygon.

An access rule says ``area: organisation`` (the caller's own body) or names a KATOTTH code; enforcement
needs a polygon. The node has one: the hromada boundaries of ``reference.boundaries``, each feature linked
at ingest to its hromada, raion and oblast codes (``katotth_hromada``, ``katotth_raion``, …). So a
hromada's area is its own polygon, a raion's or the oblast's the union of the hromadas under it, and the
node's own code its outline (``reference.territory``, else the ``<level>-boundary`` dataset). A code the
node cannot draw gives
no area, and the caller gets nothing from the limited dataset (fail closed), never the whole layer.
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cached_property
from typing import Any

import shapely
from shapely.geometry import shape

from access.rules import Area

KATOTTH = re.compile(r"^UA\d{17}$")


class Areas:
    """The polygons (EPSG:4326) of the node's territories, read once from its stored boundary layers."""

    def __init__(self, cfg: Any, layers: dict[str, Any]):
        self.cfg = cfg
        self.layers = layers

    def wkt(self, area: Area) -> str | None:
        """The area as WKT in EPSG:4326, or None when the node cannot draw it."""
        if area.wkt:
            return area.wkt
        geom = self.polygon(area.katotth or "")
        return None if geom is None else shapely.to_wkt(geom, rounding_precision=-1)

    def polygon(self, code: str) -> Any | None:
        if not KATOTTH.match(code):
            return None
        if code not in self._polygons:
            if code == getattr(self.cfg.node, "katotth", None) and self._territory is not None:
                parts = [self._territory]  # the node's own body: its whole outline
            else:
                parts = [g for codes, g in self._boundaries if code in codes]
            self._polygons[code] = shapely.union_all(parts) if parts else None
        return self._polygons[code]

    @cached_property
    def _polygons(self) -> dict[str, Any]:
        return {}

    @cached_property
    def _boundaries(self) -> list[tuple[frozenset[str], Any]]:
        """Each hromada polygon of the boundary layer with the codes it lies in: every KATOTTH code among
        its attributes (ingest links each feature to its hromada, raion and oblast: ``katotth_*``)."""
        ref = self.cfg.reference
        layer = self.layers.get(ref.boundaries) if ref.boundaries else None
        if layer is None:
            return []
        out = []
        for props, geom in _features(layer):
            codes = frozenset(str(v) for v in props.values() if isinstance(v, str) and KATOTTH.match(v))
            if codes and geom is not None:
                out.append((codes, geom))
        return out

    @cached_property
    def _territory(self) -> Any | None:
        ref = self.cfg.reference
        wanted = ref.territory or f"{self.cfg.node.level.value}-boundary"
        layer = self.layers.get(wanted)
        if layer is None:
            return None
        geoms = [g for _, g in _features(layer) if g is not None]
        return shapely.union_all(geoms) if geoms else None


def _features(layer: Any) -> list[tuple[dict[str, Any], Any]]:
    """Attributes and geometry (EPSG:4326) of every feature of a stored layer, through Debian's GDAL, which
    reads every backend the node stores in (GeoPackage, PostGIS)."""
    src = layer.location.ogr_source()
    proc = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", *src, "-t_srs", "EPSG:4326",
                           "-lco", "RFC7946=NO", "-lco", "COORDINATE_PRECISION=9"],
                          capture_output=True, timeout=300)
    if proc.returncode != 0:
        return []
    data = json.loads(proc.stdout or b"{}")
    return [(f.get("properties") or {}, shape(f["geometry"]) if f.get("geometry") else None)
            for f in data.get("features", [])]
