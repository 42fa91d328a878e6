"""The public page of each decision: one static, mobile-friendly HTML file (Ukrainian first, English beside
it) per decision in ``<workspace>/decisions/<id>.html``, written aside and swapped in, in the node's look
(geoportal.portal); and the index: filters, a map, a timeline of statuses and the list. Hidden comments are
counted, never shown. While a decision is open for comments its page carries a marked block that
:mod:`decisions.comments_web` replaces with the comment form for a logged-in caller.

The development projects have their pages beside them, in the same folder and look: ``projects.html`` (the
list, linked from the index) and ``<P-id>.html`` per project (stage, the decisions that launched it, the budget
by source, the tender, where it is, the last change) — written by :func:`write_project_pages` at the same
moments (every build and every change), so no link between the two ever points at a page not yet written."""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable

import jinja2
import shapely

from decisions.model import NEXT, STAGE_NEXT, STATUS_UK, KIND_UK, Decision, HistoryRow, Project, Stage, Status
from decisions.overview import STATUS_COLOURS, map_svg, timeline
from decisions.register_layers import project_geometry
from decisions.service import agreement_state
from geoportal.model import write_atomic
from geoportal.portal import Site, environment

DEFAULT_SITE = Site("Геопортал", "Geoportal")

ANSWERS_UK = {"agree": "погоджено", "object": "заперечення", "silence": "мовчання", "pending": "очікується"}
#: a project's stages as a reader says them (decisions.model.Stage)
STAGE_UK = {"idea": "ідея", "preparation": "підготовка", "funding": "фінансування", "procurement": "закупівля",
            "works": "роботи", "commissioning": "введення в експлуатацію", "cancelled": "скасовано"}


def money(v: float) -> str:
    """An amount as a Ukrainian reader writes it: ``1 200 000,00`` (no-break spaces between thousands)."""
    return f"{v:,.2f}".replace(",", "\u00a0").replace(".", ",")


def _svg(wkt: str | None, label: str = "територія рішення / area of the decision") -> str:
    """The geometry drawn as inline SVG (no tiles, no script: readable offline and on a phone)."""
    if not wkt:
        return ""
    g = shapely.from_wkt(wkt)
    x0, y0, x1, y1 = g.bounds
    pad = max(x1 - x0, y1 - y0, 0.01) * 0.1
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    body = g.svg(scale_factor=max(x1 - x0, y1 - y0) / 100)  # colour keywords differ by geometry type
    return (f'<svg role="img" aria-label="{html.escape(label)}" viewBox="{x0} {y0} '
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


def render(d: Decision, today: date | None = None, site: Site | None = None,
           projects: list[Project] = ()) -> str:  # type: ignore[assignment]
    """The decision's page; ``projects``: the development projects it launched (linked from the page)."""
    today = today or date.today()
    steps = [s.value for s in NEXT if s is not Status.CANCELLED] + (["cancelled"] if d.status == "cancelled" else [])
    return _env().get_template("decision.html").render(
        d=d, kind_uk=KIND_UK.get(d.kind, d.kind), status_uk=STATUS_UK[d.status], steps=steps, svg=_svg(d.geometry),
        visible=d.visible_comments(), hidden_count=len(d.comments) - len(d.visible_comments()),
        agreement=agreement_state(d), answers_uk=ANSWERS_UK, today=today.isoformat(),
        site=site or DEFAULT_SITE, open_for_comments=open_for_comments(d, today),
        projects=[p for p in projects if d.id in p.decisions], stage_uk=STAGE_UK)


def write_pages(decisions: list[Decision], folder: Path, site: Site | None = None,
                projects: list[Project] = ()) -> list[Path]:  # type: ignore[assignment]
    out = []
    for d in decisions:
        p = folder / f"{d.id}.html"
        write_atomic(p, render(d, site=site, projects=list(projects)))
        out.append(p)
    return out


def write_index(decisions: list[Decision], folder: Path, *, feeds: list[str] = (),  # type: ignore[assignment]
                names: dict[str, str] | None = None, site: Site | None = None,
                history_of: Callable[[str], list[HistoryRow]] | None = None,
                outlines: list[tuple[str, Any]] | None = None, today: date | None = None,
                projects: list[Project] | None = None) -> Path:
    """``index.html``: the register with filters (status, kind, issuing body), a map of the decisions over
    ``outlines`` (name, shapely geometry), a timeline of statuses (from ``history_of`` each decision), the list
    (newest first) linking each decision's page, the Atom feeds (the node's and, in ``feeds``, each issuing
    hromada's) and the OGC API collections. With ``projects`` (also an empty list) it links ``projects.html``,
    which the caller writes with :func:`write_project_pages`; without, no link (nothing to point at)."""
    p = folder / "index.html"
    newest = list(reversed(decisions))
    write_atomic(p, _env().get_template("index.html").render(
        decisions=newest, status_uk=STATUS_UK, kind_uk=KIND_UK, feeds=list(feeds), names=names or {},
        site=site or DEFAULT_SITE, colours=STATUS_COLOURS,
        statuses=[s for s in STATUS_UK if any(d.status == s for d in decisions)],
        kinds=sorted({d.kind for d in decisions}), bodies=sorted({d.issuer for d in decisions}),
        map_svg=map_svg(newest, outlines or []),
        timeline=timeline(decisions, history_of or (lambda _id: []), today),
        projects=projects))
    return p


@dataclass(frozen=True)
class Total:
    """The budget of a project in one currency (sources in different currencies are never added up)."""

    currency: str
    planned: float
    actual: float


def totals(p: Project) -> list[Total]:
    by: dict[str, list[float]] = {}
    for b in p.budget:
        t = by.setdefault(b.currency, [0.0, 0.0])
        t[0] += b.planned
        t[1] += b.actual
    return [Total(c, v[0], v[1]) for c, v in sorted(by.items())]


def _stages(p: Project) -> list[str]:
    route = [s.value for s in STAGE_NEXT if s is not Stage.CANCELLED]
    return route + (["cancelled"] if p.stage == "cancelled" else [])


def render_project(p: Project, by_id: dict[str, Decision], *, last_change: list[HistoryRow] = (),  # type: ignore[assignment]
                   names: dict[str, str] | None = None, site: Site | None = None) -> str:
    """One project's page; ``last_change``: the history rows of its newest change (one per changed field).
    A decision it names that this register no longer has (a withdrawn draft) is listed by its id without a
    link, so the page never links to a missing one."""
    shape = project_geometry(p, by_id)
    return _env().get_template("project.html").render(
        p=p, decisions=[(i, by_id.get(i)) for i in p.decisions], stage_uk=STAGE_UK, stages=_stages(p),
        status_uk=STATUS_UK, colours=STATUS_COLOURS, totals=totals(p), money=money, names=names or {},
        svg=_svg(shape.wkt if shape is not None else None, "територія проєкту / area of the project"),
        last_change=list(last_change), site=site or DEFAULT_SITE)


def write_project_pages(projects: list[Project], decisions: list[Decision], folder: Path, *,
                        names: dict[str, str] | None = None, site: Site | None = None,
                        history_of: Callable[[str], list[HistoryRow]] | None = None) -> list[Path]:
    """``projects.html`` (written also when there is no project, since the index links it) and one
    ``<id>.html`` per project; the page of a project no longer in the register (a deleted idea) is removed,
    not left behind. ``history_of(id)``: the project's history (oldest first), whose newest change is shown."""
    by_id = {d.id: d for d in decisions}
    out = []
    for p in projects:
        history = history_of(p.id) if history_of else []
        last = [h for h in history if h.at == history[-1].at] if history else []
        path = folder / f"{p.id}.html"
        write_atomic(path, render_project(p, by_id, last_change=last, names=names, site=site))
        out.append(path)
    index = folder / "projects.html"
    newest = sorted(projects, key=lambda p: (p.created_at, p.id), reverse=True)
    write_atomic(index, _env().get_template("projects.html").render(
        projects=newest, stage_uk=STAGE_UK, totals=totals, money=money, names=names or {},
        site=site or DEFAULT_SITE, stages=[s for s in STAGE_UK if any(p.stage == s for p in projects)]))
    keep = {p.id for p in projects}
    for old in folder.glob("P-*.html"):
        if old.stem not in keep:
            old.unlink()
    return [index, *out]
