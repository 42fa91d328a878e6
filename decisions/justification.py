"""The justification of a decision, computed, never typed: what its geometry touches in the node's stored
layers (hromadas, settlements, nature-protection sites, …) with the size of each overlap, and the passport
indicators it cites, each with its value, source version and date.

Overlaps are tested and cut in EPSG:4326 and measured in an equal-area projection (the passport's
``area_crs``): polygonal overlaps in km², linear ones in km, points counted. The result is frozen into the
decision when it moves to consultation, so later data loads never change what was consulted on.
"""

from __future__ import annotations

import math
import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from decisions.errors import DecisionError
from decisions.features import label_column, read_features
from geoportal.model import StoredLayer

#: the passport's LAEA centred on Zhytomyr oblast (config/passport.yaml ``area_crs``), used when none is given
DEFAULT_AREA_CRS = "+proj=laea +lat_0=50.6 +lon_0=28.5 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"


@lru_cache(maxsize=8)
def _transformer(area_crs: str) -> Transformer:
    """One transformer per equal-area CRS: making one costs more than measuring a hromada's overlaps."""
    return Transformer.from_crs("EPSG:4326", area_crs, always_xy=True)


def _measure(parts: np.ndarray, area_crs: str) -> tuple[list[float | None], list[float | None]]:
    tr = _transformer(area_crs)
    proj = shapely.transform(parts, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    areas: list[float | None] = []
    lengths: list[float | None] = []
    for p, g in zip(proj, parts):
        dim = shapely.get_dimensions(g)
        areas.append(round(float(shapely.area(p)) / 1e6, 6) if dim == 2 else None)
        lengths.append(round(float(shapely.length(p)) / 1e3, 6) if dim == 1 else None)
    return areas, lengths


def overlaps(geometry_wkt: str, layers: dict[str, StoredLayer], labels: dict[str, str | None] | None = None,
             area_crs: str = DEFAULT_AREA_CRS, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """For every vector layer the geometry touches: its version, and each feature touched with its label and
    the area (km²) or length (km) of the overlap. Layers it does not touch are left out."""
    geom = shapely.from_wkt(geometry_wkt)
    shapely.prepare(geom)  # tested against every feature in its bounds, layer after layer
    out = []
    for ds_id, layer in sorted(layers.items()):
        if layer.kind != "vector" or ds_id in skip:
            continue
        col = label_column(layer, (labels or {}).get(ds_id))
        feats = read_features(layer, [col] if col else [], bbox=geom.bounds)
        hit = np.flatnonzero(shapely.intersects(feats.geoms, geom))
        if not len(hit):
            continue
        touched_geoms = feats.geoms[hit]
        if layer.geometry_type.endswith("Point"):
            parts = touched_geoms  # a point touched lies in the geometry: nothing to cut
        else:
            broken = ~shapely.is_valid(touched_geoms)  # repair only what is invalid: make_valid is costly
            if broken.any():
                touched_geoms = touched_geoms.copy()
                touched_geoms[broken] = shapely.make_valid(touched_geoms[broken])
            parts = shapely.intersection(touched_geoms, geom)
        areas, lengths = _measure(parts, area_crs)
        touched = [{"fid": feats.fids[i], "label": (None if col is None else feats.attrs[col][i]),
                    "area_km2": a, "length_km": ln} for i, a, ln in zip(hit, areas, lengths)]
        out.append({"dataset": ds_id, "version": layer.version, "loaded_at": layer.loaded_at,
                    "geometry_type": layer.geometry_type, "count": len(touched),
                    "area_km2": round(sum(t["area_km2"] or 0 for t in touched), 6),
                    "length_km": round(sum(t["length_km"] or 0 for t in touched), 6),
                    "features": touched})
    return out


def cited_indicators(passports_gpkg: Path | None, cites: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The latest kept value of each cited passport indicator with its provenance; an indicator the passport
    does not have is an error (a decision may not cite a number nobody computed)."""
    if not cites:
        return []
    if passports_gpkg is None or not passports_gpkg.exists():
        raise DecisionError(f"{passports_gpkg or 'the node'}: no passports yet, but the decision cites indicators; run "
                            "`geoportal passport CONFIG` first")
    out = []
    with sqlite3.connect(f"file:{passports_gpkg}?mode=ro", uri=True) as db:
        for c in cites:
            row = db.execute("SELECT value, unit, source, source_version, source_loaded_at, computed_at "
                             "FROM passport_history WHERE katotth = ? AND indicator = ? "
                             "ORDER BY computed_at DESC LIMIT 1", (c["katotth"], c["indicator"])).fetchone()
            if row is None:
                raise DecisionError(f"cited indicator '{c['indicator']}' of {c['katotth']} is not in the passport "
                                    f"({passports_gpkg}); check the indicator id and the KATOTTH code")
            value = None if row[0] is None or (isinstance(row[0], float) and math.isnan(row[0])) else row[0]
            out.append({"katotth": c["katotth"], "indicator": c["indicator"], "value": value, "unit": row[1],
                        "source": row[2], "source_version": row[3], "source_loaded_at": row[4],
                        "computed_at": row[5]})
    return out


def justify(geometry_wkt: str | None, layers: dict[str, StoredLayer], passports_gpkg: Path | None,
            cites: list[dict[str, str]], *, labels: dict[str, str | None] | None = None,
            area_crs: str = DEFAULT_AREA_CRS, at: str = "") -> dict[str, Any]:
    """The whole justification, as frozen into the decision."""
    return {"computed_at": at, "area_crs": area_crs,
            "layers": overlaps(geometry_wkt, layers, labels, area_crs) if geometry_wkt else [],
            "indicators": cited_indicators(passports_gpkg, cites)}
