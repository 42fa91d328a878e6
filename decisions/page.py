"""The public page of each decision: one static, mobile-friendly HTML file (Ukrainian first, English beside
it) per decision in ``<workspace>/decisions/<id>.html``, written aside and swapped in, in the node's look
(geoportal.portal); and the index: filters, a map, a timeline of statuses and the list. Hidden comments are
counted, never shown. While a decision is open for comments its page carries a marked block that
:mod:`decisions.comments_web` replaces with the comment form for a logged-in caller."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any, Callable

import jinja2
import shapely

from decisions.model import NEXT, STATUS_UK, KIND_UK, Decision, HistoryRow, Status
from decisions.overview import STATUS_COLOURS, map_svg, timeline
from decisions.service import agreement_state
from geoportal.model import write_atomic
from geoportal.portal import Site, environment

DEFAULT_SITE = Site("Геопортал", "Geoportal")

ANSWERS_UK = {"agree": "погоджено", "object": "заперечення", "silence": "мовчання", "pending": "очікується"}


def _svg(wkt: str | None) -> str:
    """The geometry drawn as inline SVG (no tiles, no script: readable offline and on a phone)."""
    if not wkt:
        return ""
    g = shapely.from_wkt(wkt)
    x0, y0, x1, y1 = g.bounds
    pad = max(x1 - x0, y1 - y0, 0.01) * 0.1
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    body = g.svg(scale_factor=max(x1 - x0, y1 - y0) / 100)  # colour keywords differ by geometry type
    return (f'<svg role="img" aria-label="територія рішення / area of the decision" viewBox="{x0} {y0} '
            f'{x1 - x0} {y1 - y0}" preserveAspectRatio="xMidYMid meet" width="480" height="300">'
            f'<g transform="matrix(1,0,0,-1,0,{y0 + y1})">{body}</g></svg>')


TEMPLATES = Path(__file__).resolve().parent / "templates"


@functools.lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    """One environment per process: templates are compiled once, not per page."""
    return environment(TEMPLATES)


def open_for_comments(d: Decision, today: date) -> bool:
    """Whether citizens may comment now: in consultation and not past its last day."""
    return d.status == "consultation" and (not d.consultation_until or d.consultation_until >= today.isoformat())


def render(d: Decision, today: date | None = None, site: Site | None = None) -> str:
    today = today or date.today()
    steps = [s.value for s in NEXT if s is not Status.CANCELLED] + (["cancelled"] if d.status == "cancelled" else [])
    return _env().get_template("decision.html").render(
        d=d, kind_uk=KIND_UK.get(d.kind, d.kind), status_uk=STATUS_UK[d.status], steps=steps, svg=_svg(d.geometry),
        visible=d.visible_comments(), hidden_count=len(d.comments) - len(d.visible_comments()),
        agreement=agreement_state(d), answers_uk=ANSWERS_UK, today=today.isoformat(),
        site=site or DEFAULT_SITE, open_for_comments=open_for_comments(d, today))


def write_pages(decisions: list[Decision], folder: Path, site: Site | None = None) -> list[Path]:
    out = []
    for d in decisions:
        p = folder / f"{d.id}.html"
        write_atomic(p, render(d, site=site))
        out.append(p)
    return out


def write_index(decisions: list[Decision], folder: Path, *, feeds: list[str] = (),  # type: ignore[assignment]
                names: dict[str, str] | None = None, site: Site | None = None,
                history_of: Callable[[str], list[HistoryRow]] | None = None,
                outlines: list[tuple[str, Any]] | None = None, today: date | None = None) -> Path:
    """``index.html``: the register with filters (status, kind, issuing body), a map of the decisions over
    ``outlines`` (name, shapely geometry), a timeline of statuses (from ``history_of`` each decision), the list
    (newest first) linking each decision's page, the Atom feeds (the node's and, in ``feeds``, each issuing
    hromada's) and the OGC API collections."""
    p = folder / "index.html"
    newest = list(reversed(decisions))
    write_atomic(p, _env().get_template("index.html").render(
        decisions=newest, status_uk=STATUS_UK, kind_uk=KIND_UK, feeds=list(feeds), names=names or {},
        site=site or DEFAULT_SITE, colours=STATUS_COLOURS,
        statuses=[s for s in STATUS_UK if any(d.status == s for d in decisions)],
        kinds=sorted({d.kind for d in decisions}), bodies=sorted({d.issuer for d in decisions}),
        map_svg=map_svg(newest, outlines or []),
        timeline=timeline(decisions, history_of or (lambda _id: []), today)))
    return p
