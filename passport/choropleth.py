"""A choropleth of the hromadas by one indicator, as a static SVG drawn at build time from the boundaries:
no tiles, no script, readable offline and printable. Values are split into at most five classes at
quantiles of the hromadas that have a value (equal values never straddle a class), each class one colour of
a light-to-dark sequential ramp; a hromada without a value is drawn hatched grey, and the legend says so.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import shapely

#: light → dark blue-green ramp; the darkest is still told apart from the outline; text never sits on it
RAMP = ("#edf8fb", "#b2e2e2", "#66c2a4", "#2ca25f", "#006d2c")
NO_DATA = "#d9d9d9"


@dataclass(frozen=True)
class Classes:
    """Classes in ascending order: class i holds the values v with uppers[i-1] < v <= uppers[i]."""

    uppers: tuple[float, ...]
    colours: tuple[str, ...]
    labels: tuple[tuple[float, float], ...]  # the smallest and largest value of each class, for the legend

    def colour(self, v: float | None) -> str:
        if v is None:
            return NO_DATA
        for upper, colour in zip(self.uppers, self.colours):
            if v <= upper:
                return colour
        return self.colours[-1]


def classify(values: Sequence[float | None], k: int = 5) -> Classes:
    """Quantile classes of the values (None left out); fewer classes when there are fewer distinct values.
    A class's legend shows the values it really holds, so no range is claimed that no hromada has."""
    vals = np.array(sorted(float(v) for v in values if v is not None))
    if len(vals) == 0:
        return Classes((), (), ())
    distinct = np.unique(vals)
    k = max(1, min(k, len(distinct)))
    if k == len(distinct):
        uppers = [float(x) for x in distinct]
    else:  # upper limits at quantiles, snapped to a value so that equal values fall in one class
        qs = np.quantile(vals, np.linspace(0, 1, k + 1)[1:])
        uppers = sorted({float(distinct[np.searchsorted(distinct, q, side="left").clip(0, len(distinct) - 1)])
                         for q in qs})
    labels, lower = [], -np.inf
    for up in uppers:
        members = vals[(vals > lower) & (vals <= up)]
        labels.append((float(members.min()), float(members.max())))
        lower = up
    n = len(uppers)
    colours = tuple(RAMP[round(i * (len(RAMP) - 1) / (n - 1))] for i in range(n)) if n > 1 else (RAMP[2],)
    return Classes(tuple(uppers), colours, tuple(labels))


def _projector(bounds: tuple[float, float, float, float], width: int, height: int,
               pad: int = 6) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """lon/lat → SVG pixels (plate carrée scaled by cos(mid-latitude)) and the drawing's height."""
    minx, miny, maxx, maxy = bounds
    k = float(np.cos(np.radians((miny + maxy) / 2)))
    sx, sy = (maxx - minx) * k or 1e-9, (maxy - miny) or 1e-9
    scale = (width - 2 * pad) / sx
    h = min(height, int(sy * scale + 2 * pad))
    scale = min(scale, (h - 2 * pad) / sy)

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([pad + (xy[:, 0] - minx) * k * scale, pad + (maxy - xy[:, 1]) * scale])

    return project, h


def _path(geom: Any, project: Callable[[np.ndarray], np.ndarray]) -> str:
    parts = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            pts = project(np.asarray(ring.coords)[:, :2])
            parts.append("M" + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "Z")
    return " ".join(parts)


@dataclass(frozen=True)
class Area:
    """One hromada on the map: code, name, geometry (lon/lat, or None), value, its text and its page."""

    code: str
    name: str
    geometry: Any
    value: float | None
    text: str
    href: str


def svg(areas: list[Area], classes: Classes, title: str, width: int = 640, height: int = 560) -> str:
    """The map: each hromada with a boundary as a linked, titled path filled by its class."""
    drawn = [a for a in areas if a.geometry is not None and not a.geometry.is_empty]
    if not drawn:
        return ""
    bounds = tuple(shapely.total_bounds([a.geometry for a in drawn]))
    tol = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / 1500  # about a pixel: smaller files, same look
    project, h = _projector(bounds, width, height)  # type: ignore[arg-type]
    e = html.escape
    out = [f'<svg class="map" viewBox="0 0 {width} {h}" role="group" aria-labelledby="map-title" '
           f'xmlns="http://www.w3.org/2000/svg"><title id="map-title">{e(title)}</title>',
           '<defs><pattern id="nodata" width="6" height="6" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eeeeee"/>'
           '<line x1="0" y1="0" x2="0" y2="6" stroke="#9a9a9a" stroke-width="2"/></pattern></defs>']
    for a in drawn:
        fill = "url(#nodata)" if a.value is None else classes.colour(a.value)
        d = _path(shapely.simplify(a.geometry, tol, preserve_topology=True), project)
        out.append(f'<a href="{e(a.href)}"><path d="{d}" fill="{fill}" fill-rule="evenodd" stroke="#33414d" '
                   f'stroke-width="0.8" data-code="{e(a.code)}"><title>{e(a.name)}: {e(a.text)}</title></path></a>')
    out.append("</svg>")
    return "".join(out)
