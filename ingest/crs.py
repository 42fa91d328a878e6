"""Coordinate systems: what a file declares, the Ukrainian rules, and careful inference.

The Ukrainian systems form a registry of rules (:func:`ukrainian_rules`): WGS 84, USK-2000 (geographic,
its 6° and 3° Gauss-Kruger zones and the TM zones), SK-42 / Pulkovo 1942 (geographic and its Gauss-Kruger
zones). Local systems such as SK-63 zones have no EPSG code: a dataset gives them as a PROJ string with
``+towgs84`` (``crs_proj`` in the config) and they join the registry for that dataset.

Datum shifts: transformations are built with an area of interest over Ukraine, so pyproj picks the
EPSG operations valid here (e.g. "UCS-2000 to WGS 84 (2)", a Pulkovo 1942 → WGS 84 set for Ukraine)
instead of a ballpark shift; when only a ballpark shift exists it is said in the report.

A file without a CRS is never guessed blindly: every rule (and both axis orders, since Ukrainian
surveying puts X = northing first) is tried on a sample, and only when exactly one candidate puts the
sample inside the node's territory is it used. Otherwise :class:`CRSError` lists the candidates and the
``--assume-crs`` hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import shapely

from geoportal.errors import CRSError
from geoportal.model import UKRAINE_BBOX

if TYPE_CHECKING:  # pyproj (PROJ, its database, curl: ~20 MB) is imported when a CRS must be worked on
    from pyproj import CRS, Transformer

UKRAINE_BOX = shapely.box(*UKRAINE_BBOX)
_EPSG = re.compile(r"EPSG:(\d+)")


@dataclass(frozen=True)
class CRSRule:
    key: str
    label: str
    definition: str  # "EPSG:N" or a PROJ string


def ukrainian_rules(extra: dict[str, str] | None = None) -> list[CRSRule]:
    """The registry of coordinate systems met in Ukrainian data; ``extra`` adds local ones (SK-63)."""
    rules = [
        CRSRule("wgs84", "WGS 84", "EPSG:4326"),
        CRSRule("usk2000", "USK-2000 geographic", "EPSG:5561"),
        CRSRule("sk42", "SK-42 (Pulkovo 1942) geographic", "EPSG:4284"),
    ]
    rules += [CRSRule(f"usk2000-gk-{c}", f"USK-2000 Gauss-Kruger EPSG:{c}", f"EPSG:{c}") for c in range(5562, 5584)]
    rules += [CRSRule(f"usk2000-tm-{z}", f"USK-2000 Ukraine TM zone {z}", f"EPSG:{6374 + z}") for z in range(7, 14)]
    rules += [CRSRule(f"sk42-gk-{z}", f"SK-42 Gauss-Kruger zone {z}", f"EPSG:{28400 + z}") for z in range(4, 8)]
    rules += [CRSRule(f"sk42-gk3-{z}", f"SK-42 3-degree Gauss-Kruger zone {z}", f"EPSG:{2516 + z}")
              for z in range(7, 14)]
    for key, proj in (extra or {}).items():
        rules.append(CRSRule(key, f"local system {key}", proj))
    return rules


@lru_cache(maxsize=256)
def _crs(definition: str) -> CRS:
    from pyproj import CRS

    return CRS.from_user_input(definition)


def epsg_code(definition: str) -> int | None:
    """N of a definition written ``EPSG:N`` (how GDAL names a CRS it recognises, and the storage CRS of a
    node), without pyproj; None for anything else."""
    m = _EPSG.fullmatch(definition.strip())
    return int(m.group(1)) if m else None


def parse_crs(definition: str, where: str) -> CRS:
    try:
        return _crs(definition)
    except Exception as e:  # pyproj raises CRSError of its own with a long text
        raise CRSError(f"{where}: '{definition}' is not a coordinate system pyproj knows ({e}); "
                       "write it as EPSG:N or a PROJ string with +towgs84") from e


@lru_cache(maxsize=256)
def transformer(src: str, dst: str) -> Transformer:
    """An always-xy transformer valid over Ukraine (cached: building one costs milliseconds)."""
    from pyproj import Transformer
    from pyproj.aoi import AreaOfInterest

    return Transformer.from_crs(_crs(src), _crs(dst), always_xy=True,
                                area_of_interest=AreaOfInterest(*UKRAINE_BBOX))


def crs_key(crs: CRS) -> str:
    """A string that rebuilds the CRS: EPSG:N when pyproj is sure, else its WKT."""
    code = crs.to_epsg(min_confidence=90)
    return f"EPSG:{code}" if code else crs.to_wkt()


def match_rule(declared: str, rules: list[CRSRule]) -> CRSRule | None:
    """The registry rule a declared CRS (a definition: ``EPSG:N``, WKT, PROJ) is (a .prj written by ArcGIS
    or QGIS names them differently). An ``EPSG:N`` of the registry is matched without pyproj."""
    code = epsg_code(declared)
    for r in rules:
        if code and r.definition == f"EPSG:{code}":
            return r
    try:
        crs = _crs(declared)
    except Exception:  # pyproj's own CRSError: parse_crs says it in our words
        return None
    code = crs.to_epsg(min_confidence=70)
    for r in rules:
        if code and r.definition == f"EPSG:{code}":
            return r
    for r in rules:
        try:
            if _crs(r.definition).equals(crs, ignore_axis_order=True):
                return r
        except Exception:
            continue
    return None


def datum_note(src: str, dst: str) -> str:
    t = transformer(src, dst)
    if "unavailable" in (t.description or ""):  # chosen per point over the area: ask for one inside it
        probe = transformer("EPSG:4326", src).transform(28.7, 50.3)
        t.transform(*probe)
        t = t.get_last_used_operation()
    desc = t.description or ""
    if "allpark" in desc and not _crs(src).equals(_crs(dst)):
        return f"only a ballpark datum shift is known ({desc}); positions may be off by up to ~150 m"
    return desc


def transform_xy(x: np.ndarray, y: np.ndarray, src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    return transformer(src, dst).transform(x, y)


@dataclass(frozen=True)
class Inferred:
    rule: CRSRule
    swap_xy: bool
    decided_by: str


def infer_crs(
    xy: np.ndarray,
    territory: shapely.Geometry | None,
    rules: list[CRSRule],
    where: str,
    *,
    territory_name: str = "Ukraine",
    min_share: float = 0.95,
) -> Inferred:
    """The one rule that puts the sample coordinates inside the territory, or :class:`CRSError`."""
    area = territory if territory is not None else UKRAINE_BOX
    area = shapely.buffer(area, 0.05)  # features on the boundary line, generalised outlines
    shapely.prepare(area)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        raise CRSError(f"{where}: no coordinates to decide the coordinate system from; "
                       "give it with --assume-crs EPSG:N")
    fits: list[tuple[CRSRule, bool]] = []
    for rule in rules:
        for swap in (False, True):
            x, y = (xy[:, 1], xy[:, 0]) if swap else (xy[:, 0], xy[:, 1])
            if _crs(rule.definition).is_geographic and (np.abs(x).max() > 180 or np.abs(y).max() > 90):
                continue
            with np.errstate(all="ignore"):
                lon, lat = transform_xy(x, y, rule.definition, "EPSG:4326")
            ok = np.isfinite(lon) & np.isfinite(lat)
            if not ok.any():
                continue
            inside = shapely.contains_xy(area, lon[ok], lat[ok])
            if inside.sum() >= min_share * len(xy):
                fits.append((rule, swap))
    hint = "give the right one with --assume-crs EPSG:N (or 'assume_crs' in the dataset config)"
    if not fits:
        raise CRSError(f"{where}: the file declares no coordinate system and no known Ukrainian system "
                       f"puts its coordinates inside {territory_name}; {hint}")
    if len(fits) > 1:
        names = "; ".join(f"{r.label} ({r.definition}{', X/Y swapped' if s else ''})" for r, s in fits[:6])
        raise CRSError(f"{where}: the file declares no coordinate system and {len(fits)} systems fit "
                       f"inside {territory_name}: {names}; {hint}")
    rule, swap = fits[0]
    how = (f"inferred: of {len(rules)} Ukrainian systems only {rule.label} ({rule.definition})"
           f"{' with X = northing' if swap else ''} puts the coordinates inside {territory_name}")
    return Inferred(rule, swap, how)
