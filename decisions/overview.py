"""The register at a glance on ``/decisions/``: a map of every decision over the node's hromadas and a
timeline of their statuses, both drawn at build time as inline SVG/HTML (no tiles, no script), coloured
by status as the WMS layer is (styles/decision-status.sld).

The timeline reads each decision's status changes from the register's history (who moved it when); it
covers the newest ``TIMELINE_MAX`` decisions, so the page stays light for a register of thousands.

What is overdue across the network (:func:`network_overdue`, ``geoportal decision overdue --network``) is read
here too, from each node's published register, compared with the day asked.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

import numpy as np
import shapely

from decisions.model import STATUS_UK, Decision, HistoryRow

#: the colours of styles/decision-status.sld, one per status
STATUS_COLOURS = {"draft": "#9e9e9e", "consultation": "#fdd835", "agreement": "#fb8c00", "adopted": "#1e88e5",
                  "implementation": "#8e24aa", "completed": "#43a047", "cancelled": "#e53935"}
TIMELINE_MAX = 200


@dataclass(frozen=True)
class Span:
    status: str
    start: str  # YYYY-MM-DD
    end: str
    left: float  # % of the timeline's width
    width: float


@dataclass
class Row:
    decision: Decision
    spans: list[Span] = field(default_factory=list)


@dataclass
class Timeline:
    start: str
    end: str
    rows: list[Row]


def status_changes(d: Decision, history: list[HistoryRow]) -> list[tuple[str, str]]:
    """(date, status) from creation on, oldest first; a register row without history starts at its creation."""
    out = [((d.created_at or "")[:10], "draft")]
    for h in history:
        if h.field == "status" and h.new and str(h.new) != out[-1][1]:  # creation also writes status=draft
            out.append((h.at[:10], str(h.new)))
    if out[-1][1] != d.status:  # history older than the current state (an imported register): trust the state
        out.append(((d.updated_at or d.created_at or "")[:10], d.status))
    return out


def timeline(decisions: list[Decision], history_of: Callable[[str], list[HistoryRow]],
             today: date | None = None) -> Timeline:
    """Each decision's statuses as spans on one time axis from the first creation to today."""
    newest = sorted(decisions, key=lambda d: d.created_at, reverse=True)[:TIMELINE_MAX]
    changes = {d.id: status_changes(d, history_of(d.id)) for d in newest}
    end = (today or date.today()).isoformat()
    starts = [c[0][0] for c in changes.values() if c and c[0][0]]
    if not starts:
        return Timeline(end, end, [])
    start = min(starts)
    t0, t1 = date.fromisoformat(start).toordinal(), max(date.fromisoformat(end).toordinal(), date.fromisoformat(start).toordinal() + 1)
    pos = lambda s: 100.0 * (date.fromisoformat(s).toordinal() - t0) / (t1 - t0)  # noqa: E731
    rows = []
    for d in newest:
        ch = changes[d.id]
        spans = []
        for i, (at, status) in enumerate(ch):
            until = ch[i + 1][0] if i + 1 < len(ch) else end
            final = status in ("completed", "cancelled") and i + 1 == len(ch)
            left = pos(at)
            width = max(pos(until) - left, 0.8) if not final else 0.8
            spans.append(Span(status, at, until if not final else at, round(left, 2), round(min(width, 100 - left), 2)))
        rows.append(Row(d, spans))
    return Timeline(start, end, rows)


def _projector(bounds: tuple[float, float, float, float], width: int, height: int,
               pad: int = 8) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    minx, miny, maxx, maxy = bounds
    k = float(np.cos(np.radians((miny + maxy) / 2)))
    sx, sy = max((maxx - minx) * k, 1e-6), max(maxy - miny, 1e-6)
    scale = min((width - 2 * pad) / sx, (height - 2 * pad) / sy)
    h = int(sy * scale + 2 * pad)

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([pad + (xy[:, 0] - minx) * k * scale, pad + (maxy - xy[:, 1]) * scale])

    return project, h


def _d(geom: Any, project: Callable[[np.ndarray], np.ndarray]) -> str:
    """An SVG path of polygons and lines (rings closed)."""
    parts = []
    for g in getattr(geom, "geoms", [geom]):
        if g.geom_type == "Polygon":
            for ring in (g.exterior, *g.interiors):
                pts = project(np.asarray(ring.coords)[:, :2])
                parts.append("M" + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "Z")
        elif g.geom_type == "LineString":
            pts = project(np.asarray(g.coords)[:, :2])
            parts.append("M" + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts))
    return " ".join(parts)


def map_svg(decisions: list[Decision], outlines: list[tuple[str, Any]], width: int = 640, height: int = 480) -> str:
    """Decisions (areas, lines and points, linked to their pages) over the named outlines of the hromadas."""
    geoms = [(d, shapely.from_wkt(d.geometry)) for d in decisions if d.geometry]
    if not geoms:
        return ""
    shown = [g for _, g in geoms] + [g for _, g in outlines if g is not None]
    minx, miny, maxx, maxy = shapely.total_bounds(shown)
    padx, pady = (maxx - minx) * 0.05 or 0.01, (maxy - miny) * 0.05 or 0.01
    project, h = _projector((minx - padx, miny - pady, maxx + padx, maxy + pady), width, height)
    tol = max(maxx - minx, maxy - miny) / 1500
    e = html.escape
    out = [f'<svg class="map" viewBox="0 0 {width} {h}" role="group" aria-labelledby="dmap-t" xmlns="http://www.w3.org/2000/svg">'
           '<title id="dmap-t">Рішення на карті / decisions on the map</title>']
    for name, g in outlines:
        if g is None or g.is_empty:
            continue
        out.append(f'<path d="{_d(shapely.simplify(g, tol), project)}" fill="#f4f6f8" stroke="#8c959f" stroke-width="0.8">'
                   f'<title>{e(name)}</title></path>')
    for d, g in sorted(geoms, key=lambda x: -x[1].area):  # small ones on top, so each can be clicked
        colour = STATUS_COLOURS.get(d.status, "#0b4f6c")
        label = f"{d.id}: {d.title.uk} ({STATUS_UK.get(d.status, d.status)})"
        attrs = f'data-id="{e(d.id)}" data-status="{e(d.status)}" data-kind="{e(d.kind)}" data-issuer="{e(d.issuer)}"'
        if g.geom_type in ("Point", "MultiPoint"):
            shapes = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{colour}" stroke="#1d2a33" stroke-width="1.2"/>'
                             for x, y in project(shapely.get_coordinates(g)))
        elif g.geom_type in ("LineString", "MultiLineString"):
            shapes = f'<path d="{_d(g, project)}" fill="none" stroke="{colour}" stroke-width="3"/>'
        else:
            shapes = f'<path d="{_d(g, project)}" fill="{colour}" fill-opacity="0.6" fill-rule="evenodd" stroke="#1d2a33" stroke-width="1"/>'
        out.append(f'<a href="{e(d.id)}.html" class="dec" {attrs}><title>{e(label)}</title>{shapes}</a>')
    out.append("</svg>")
    return "".join(out)


def overdue_on(due_dates: str | None, as_of: str) -> int:
    """How many of a published decision's unfinished milestones (``due_dates``, space-separated YYYY-MM-DD)
    are overdue on ``as_of``: due before that day, as :meth:`decisions.service.Register.overdue` counts."""
    return sum(1 for d in (due_dates or "").split() if d < as_of)


def network_overdue(cfg: Any, base_url: str, *, as_of: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Decisions with a milestone overdue on ``as_of`` on this node and every node reachable from it (the oblast
    sees all its hromadas), with their origin. Each node's OGC API ``decisions`` is asked ``next_due<as_of``:
    the published due dates, not a count made at the node's last build, so a milestone that fell due after it
    shows on the day it is overdue without any rebuild; only open decisions publish them, so a cancelled or
    completed one never shows. A node that does not answer is listed with its error, never left out silently."""
    import requests

    from decisions import checks
    from decisions.delivery import Directory

    day = date.fromisoformat(checks.day(as_of)).isoformat()  # a malformed day is refused, never sent as a filter
    out: list[dict[str, Any]] = []
    with requests.Session() as session:
        directory = Directory(cfg, session)
        directory._walk()
        nodes = {cfg.node.katotth: base_url.rstrip("/"), **directory.known}
        for katotth, url in sorted(nodes.items()):
            try:
                r = session.get(f"{url}/ogcapi/collections/decisions/items", timeout=timeout,
                                params={"f": "json", "filter": f"next_due<'{day}'", "limit": 1000})
                r.raise_for_status()
                feats = r.json().get("features", [])
            except (requests.RequestException, ValueError) as e:
                out.append({"node": url, "katotth": katotth, "error": f"{type(e).__name__}: {e}"[:300]})
                continue
            for f in feats:
                p = f.get("properties", {})
                out.append({"node": url, "katotth": katotth, "id": f.get("id"), "title_uk": p.get("title_uk"),
                            "issuer": p.get("issuer"), "status": p.get("status"), "as_of": day,
                            "next_due": p.get("next_due"), "milestones_overdue": overdue_on(p.get("due_dates"), day),
                            "page": p.get("page")})
    return out
