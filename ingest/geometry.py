"""Geometry: one type per layer (multi), Z/M as configured, invalid shapes repaired, bad ones named.

All work is vectorised over a batch with shapely 2; only invalid geometries are repaired (``make_valid``
with the "structure" method keeps polygons polygons). A geometry that cannot become the layer's type
is not dropped: it gets a reason and goes to the rejected layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely import GeometryType as GT

from ingest.crs import transformer

_BASE = {GT.POINT: "Point", GT.MULTIPOINT: "Point", GT.LINESTRING: "LineString",
         GT.MULTILINESTRING: "LineString", GT.LINEARRING: "LineString", GT.POLYGON: "Polygon",
         GT.MULTIPOLYGON: "Polygon", GT.GEOMETRYCOLLECTION: "GeometryCollection"}
_LAYER = {"Point": "Point", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}


def layer_type(declared: str, sample: np.ndarray) -> str:
    """The layer's one geometry type: polygons and lines as multi, points single unless multi-points."""
    d = declared.replace(" Z", "").replace(" M", "").replace("25D", "").replace("3D ", "").strip()
    if d == "MultiPoint":
        return "MultiPoint"
    for base in ("Polygon", "LineString", "Point"):
        if d in (base, "Multi" + base):
            return _LAYER[base]
    ids = shapely.get_type_id(sample[~shapely.is_missing(sample)])
    bases = [_BASE.get(GT(int(t))) for t in np.unique(ids)]
    for base in ("Polygon", "LineString", "Point"):
        if base in bases:
            if base == "Point" and GT.MULTIPOINT in ids:
                return "MultiPoint"
            return _LAYER[base]
    return "Unknown"


_OGR = {"Point": "'POINT','MULTIPOINT'", "LineString": "'LINESTRING','MULTILINESTRING'",
        "Polygon": "'POLYGON','MULTIPOLYGON'"}


def base_types(geoms: np.ndarray) -> dict[str, int]:
    """How many geometries of each base type (Point, LineString, Polygon, GeometryCollection): a single and
    a multi of one base are one type, as they load into one multi layer."""
    ids = shapely.get_type_id(geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)])
    out: dict[str, int] = {}
    for t, n in zip(*np.unique(ids, return_counts=True)):
        base = _BASE.get(GT(int(t)), "GeometryCollection")
        out[base] = out.get(base, 0) + int(n)
    return out


def mixed_types_message(source: object, counts: dict[str, int]) -> str | None:
    """The error for a source whose features have incompatible geometry types, or None. A layer has one
    type: loading one of them would replace the data with a sliver, so the whole load is refused."""
    kinds = {k: v for k, v in counts.items() if k in _OGR}
    if len(kinds) < 2:
        return None
    found = ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
    example = next(iter(sorted(kinds, key=lambda k: -kinds[k])))
    return (f"{source}: features of several geometry types ({found}); a layer holds one type, so nothing "
            f"was written and the previous version is kept — split the file into one file per type, or load "
            f"each type as its own dataset with a filter, e.g. where: \"OGR_GEOMETRY IN ({_OGR[example]})\"")


def reproject(geoms: np.ndarray, src: str, dst: str, *, swap_xy: bool = False, keep_z: bool = False) -> np.ndarray:
    if swap_xy:
        geoms = shapely.transform(geoms, lambda c: c[:, ::-1].copy())
    if src == dst:
        return geoms
    tr = transformer(src, dst)
    if keep_z:
        return shapely.transform(geoms, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1], c[:, 2])),
                                 include_z=True)
    return shapely.transform(geoms, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))


@dataclass
class Cleaned:
    """A batch's geometries made fit for the layer, and what the writer must know about each one.

    A single part in a multi layer stays single here: :func:`ingest.wkb.layer_wkb` makes it multi in its
    WKB (a 9-byte header), which costs no GEOS clone and lets an unchanged geometry keep the bytes read."""

    geoms: np.ndarray
    reasons: np.ndarray  # None = good
    repaired: np.ndarray  # made valid (and kept)
    rewritten: np.ndarray  # no longer the geometry read (Z dropped, repaired, one point of a multipoint)
    single: np.ndarray  # a single part that the multi layer holds as a one-part multi


def clean(geoms: np.ndarray, ltype: str, *, keep_z: bool) -> Cleaned:
    """The geometries of the layer type, with a reason for each that cannot be loaded."""
    n = len(geoms)
    reasons = np.full(n, None, dtype=object)
    missing = shapely.is_missing(geoms)
    reasons[missing] = "no geometry"
    empty = ~missing & shapely.is_empty(geoms)
    reasons[empty] = "empty geometry"
    ok = ~(missing | empty)
    rewritten = np.zeros(n, dtype=bool)
    if not keep_z and shapely.has_z(geoms[ok]).any():
        geoms = geoms.copy()
        geoms[ok] = shapely.force_2d(geoms[ok])
        rewritten |= ok
    invalid = np.zeros(n, dtype=bool)
    invalid[ok] = ~shapely.is_valid(geoms[ok])
    if invalid.any():
        geoms = geoms.copy()
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        geoms[invalid] = fixed
        rewritten |= invalid
        collapsed = invalid.copy()
        collapsed[invalid] = shapely.is_empty(fixed)
        reasons[collapsed] = "invalid geometry that collapses to nothing when repaired"
        ok &= ~collapsed
    base = _BASE_OF.get(ltype)
    ids = np.full(n, -1)
    ids[ok] = shapely.get_type_id(geoms[ok])
    if base is not None:
        wrong = ok & ~np.isin(ids, _ACCEPT[ltype])
        for i in np.flatnonzero(wrong):
            reasons[i] = f"a {GT(int(ids[i])).name.title()} in a {ltype} layer"
        ok &= ~wrong
    single = ok & (ids == _SINGLE[ltype]) if ltype in _SINGLE else np.zeros(n, dtype=bool)
    if ltype == "Point":
        geoms, parted = points_of_multipoints(geoms, ids, ok, reasons)
        rewritten |= parted
    return Cleaned(geoms, reasons, invalid & ok, rewritten, single)


_BASE_OF = {"MultiPolygon": "Polygon", "MultiLineString": "LineString", "Point": "Point", "MultiPoint": "Point"}
_ACCEPT = {"MultiPolygon": [GT.POLYGON, GT.MULTIPOLYGON], "MultiLineString": [GT.LINESTRING, GT.MULTILINESTRING],
           "Point": [GT.POINT, GT.MULTIPOINT], "MultiPoint": [GT.POINT, GT.MULTIPOINT]}
_SINGLE = {"MultiPolygon": GT.POLYGON, "MultiLineString": GT.LINESTRING, "MultiPoint": GT.POINT}


def points_of_multipoints(geoms: np.ndarray, ids: np.ndarray, ok: np.ndarray,
                          reasons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A Point layer: one-point multipoints become their point; a multipoint of several points gets a reason.
    Returns the geometries and which rows were replaced."""
    idx = np.flatnonzero(ok & (ids == GT.MULTIPOINT))
    replaced = np.zeros(len(geoms), dtype=bool)
    if len(idx):
        geoms = geoms.copy()
        parts = shapely.get_num_geometries(geoms[idx])
        one = idx[parts == 1]
        geoms[one] = shapely.get_geometry(geoms[one], 0)
        replaced[one] = True
        for i in idx[parts > 1]:
            reasons[i] = "a multi-part point in a Point layer"
    return geoms, replaced


def inside(geoms: np.ndarray, territory: shapely.Geometry) -> np.ndarray:
    """Which geometries touch the (prepared, slightly buffered) territory."""
    return shapely.intersects(territory, geoms)
