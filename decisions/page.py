"""The public page of each decision: one static, mobile-friendly HTML file (Ukrainian first, English beside
it) per decision in ``<workspace>/decisions/<id>.html``, written aside and swapped in; the lead mounts the
folder. Hidden comments are counted, never shown."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jinja2
import shapely

from decisions.model import NEXT, STATUS_UK, KIND_UK, Decision, Status
from decisions.service import agreement_state
from geoportal.model import write_atomic

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


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("decisions", "templates"), autoescape=True)


def render(d: Decision, today: date | None = None) -> str:
    today = today or date.today()
    steps = [s.value for s in NEXT if s is not Status.CANCELLED] + (["cancelled"] if d.status == "cancelled" else [])
    return _env().get_template("decision.html").render(
        d=d, kind_uk=KIND_UK.get(d.kind, d.kind), status_uk=STATUS_UK[d.status], steps=steps, svg=_svg(d.geometry),
        visible=d.visible_comments(), hidden_count=len(d.comments) - len(d.visible_comments()),
        agreement=agreement_state(d), answers_uk=ANSWERS_UK, today=today.isoformat())


def write_pages(decisions: list[Decision], folder: Path) -> list[Path]:
    out = []
    for d in decisions:
        p = folder / f"{d.id}.html"
        write_atomic(p, render(d))
        out.append(p)
    return out


def write_index(decisions: list[Decision], folder: Path, *, feeds: list[str] = (),  # type: ignore[assignment]
                names: dict[str, str] | None = None) -> Path:
    """``index.html``: the register as a list (newest first) linking each decision's page, the Atom feeds
    (the node's and, in ``feeds``, each issuing hromada's) and the OGC API collections."""
    p = folder / "index.html"
    write_atomic(p, _env().get_template("index.html").render(
        decisions=list(reversed(decisions)), status_uk=STATUS_UK, kind_uk=KIND_UK, feeds=list(feeds),
        names=names or {}))
    return p
