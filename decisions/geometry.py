"""A decision's geometry: drawn by a person (WKT or GeoJSON, lon/lat EPSG:4326) or taken from features of a
node's stored layer (e.g. land parcels) by dataset id + feature ids — the union of those features, with the
dataset version it was taken from."""

from __future__ import annotations

import json
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from decisions.errors import DecisionError
from decisions.features import read_features
from geoportal.model import UKRAINE_BBOX, StoredLayer

KINDS = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}


def _check(g: BaseGeometry, what: str) -> BaseGeometry:
    if g.is_empty or g.geom_type not in KINDS:
        raise DecisionError(f"{what}: a decision needs a point, line or polygon, got {g.geom_type}"
                            f"{' (empty)' if g.is_empty else ''}")
    if not g.is_valid:
        raise DecisionError(f"{what}: the geometry is not valid ({shapely.is_valid_reason(g)}); fix the drawing")
    minx, miny, maxx, maxy = g.bounds
    ux0, uy0, ux1, uy1 = UKRAINE_BBOX
    if minx < ux0 or maxx > ux1 or miny < uy0 or maxy > uy1:
        raise DecisionError(f"{what}: the geometry ({minx:.3f} {miny:.3f}, {maxx:.3f} {maxy:.3f}) lies outside "
                            "Ukraine; give lon/lat in EPSG:4326 (longitude first)")
    return g


def drawn(text: str | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(WKT, source) from a WKT string or a GeoJSON geometry / Feature (text or dict)."""
    try:
        if isinstance(text, dict) or str(text).lstrip().startswith("{"):
            gj = text if isinstance(text, dict) else json.loads(text)
            gj = gj.get("geometry", gj) if gj.get("type") == "Feature" else gj
            g, fmt = shapely.geometry.shape(gj), "geojson"
        else:
            g, fmt = shapely.from_wkt(str(text)), "wkt"
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException) as e:
        raise DecisionError(f"geometry: cannot read it as WKT or GeoJSON ({e}); e.g. 'POINT (28.6 50.25)'") from e
    return shapely.to_wkt(_check(g, "geometry"), rounding_precision=7), {"drawn": fmt}


def from_features(layer: StoredLayer, fids: list[int]) -> tuple[str, dict[str, Any]]:
    """(WKT, source) of the union of the given features of a stored layer."""
    if not fids:
        raise DecisionError(f"dataset {layer.dataset_id}: give at least one feature id")
    feats = read_features(layer, fids=sorted(set(fids)))
    missing = sorted(set(fids) - set(feats.fids))
    if missing:
        raise DecisionError(f"dataset {layer.dataset_id} (version {layer.version}) has no feature(s) "
                            f"{', '.join(map(str, missing))}; check the ids (ogrinfo lists them)")
    g = _check(shapely.union_all(shapely.make_valid(feats.geoms)), f"dataset {layer.dataset_id} features {fids}")
    return shapely.to_wkt(g, rounding_precision=-1), {"dataset": layer.dataset_id, "features": sorted(set(fids)),
                                                     "version": layer.version}
