"""The register as two published GeoPackage layers, ``decisions`` and ``projects``: one feature per decision /
project with flat columns people filter on with CQL2 (status, kind, issuer, dates) and the links a reader follows
(the decision's page, its hromada's Atom feed). Unlike :mod:`decisions.export` (an export on request), these
are written at every build and after every change, **also when the register is empty** — an empty layer with
the same schema — so the OGC API collections, the ISO records and the links to them never break.

Dates that people filter on are GeoPackage ``DATE`` columns (``filter=adopted_on>=DATE('2026-01-01')``);
the moments of change are ``DATETIME``. A project has no geometry of its own: it is drawn where the decisions
that launched it are (their union).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyogrio.raw
import shapely

from decisions.model import KIND_UK, STATUS_UK, Decision, Project
from decisions.service import OPEN, agreement_state

#: (column, numpy dtype): the order and types of the ``decisions`` layer; dates as DATE, moments as DATETIME
DECISION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "object"), ("title_uk", "object"), ("title_en", "object"), ("summary_uk", "object"),
    ("summary_en", "object"), ("kind", "object"), ("kind_uk", "object"), ("status", "object"),
    ("status_uk", "object"), ("issuer", "object"), ("issuer_name", "object"), ("created_on", "datetime64[D]"),
    ("updated_on", "datetime64[D]"), ("consultation_until", "datetime64[D]"), ("agreement_deadline", "datetime64[D]"),
    ("adopted_on", "datetime64[D]"), ("updated_at", "datetime64[s]"), ("parties", "object"),
    ("parties_agreed", "int64"), ("parties_objected", "int64"), ("comments_visible", "int64"),
    ("milestones_overdue", "int64"), ("next_due", "datetime64[D]"), ("due_dates", "object"),
    ("documents", "object"), ("adopted_text_sha256", "object"), ("page", "object"), ("feed", "object"))

PROJECT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "object"), ("title_uk", "object"), ("title_en", "object"), ("status", "object"), ("issuer", "object"),
    ("issuer_name", "object"), ("tender_id", "object"), ("decisions", "object"), ("decision_pages", "object"),
    ("budget_planned", "float64"), ("budget_actual", "float64"), ("currency", "object"),
    ("created_on", "datetime64[D]"), ("updated_on", "datetime64[D]"), ("updated_at", "datetime64[s]"),
    ("page", "object"))

#: the titles a person sees for the columns (OGC API /schema, QGIS aliases in the download)
TITLES = {
    "id": "Номер", "title_uk": "Назва", "title_en": "Назва англійською", "summary_uk": "Суть рішення",
    "summary_en": "Суть рішення англійською", "kind": "Вид (код)", "kind_uk": "Вид рішення", "status": "Стан (код)",
    "status_uk": "Стан", "issuer": "Код КАТОТТГ органу", "issuer_name": "Орган, що ухвалює",
    "created_on": "Дата створення", "updated_on": "Дата останньої зміни", "consultation_until": "Обговорення до",
    "agreement_deadline": "Погодження до", "adopted_on": "Дата прийняття", "updated_at": "Час останньої зміни",
    "parties": "Сторони погодження", "parties_agreed": "Погодили", "parties_objected": "Заперечили",
    "comments_visible": "Коментарі", "milestones_overdue": "Прострочені етапи",
    "next_due": "Найближчий строк невиконаного етапу", "due_dates": "Строки невиконаних етапів", "documents": "Документи (посилання)",
    "adopted_text_sha256": "Прийнятий текст (sha256)", "page": "Сторінка", "feed": "Стрічка Atom громади",
    "tender_id": "Ідентифікатор закупівлі", "decisions": "Рішення", "decision_pages": "Сторінки рішень",
    "budget_planned": "Бюджет плановий", "budget_actual": "Бюджет фактичний", "currency": "Валюта",
}


@dataclass(frozen=True)
class Written:
    """What a layer holds after writing: for the StoredLayer the publishers receive."""

    path: Path
    count: int
    bbox: tuple[float, float, float, float] | None  # None when there is no geometry at all
    geometry_type: str


def _day(v: str | None) -> str:
    return (v or "")[:10] or "NaT"


def _moment(v: str | None) -> str:
    return (v or "").replace("Z", "")[:19] or "NaT"


def _geometry_type(geoms: list[Any]) -> str:
    """One OGC name when every geometry has the same kind (Polygon and MultiPolygon → MultiPolygon), else
    ``Geometry``; an empty register is declared as areas (what decisions mostly are)."""
    kinds = {shapely.get_type_id(g) for g in geoms if g is not None}
    if not kinds:
        return "MultiPolygon"
    for name, ids in (("MultiPoint", {0, 4}), ("MultiLineString", {1, 5}), ("MultiPolygon", {3, 6})):
        if kinds <= ids:
            return name
    return "Geometry"


#: the columns people filter on with CQL2 (status, kind, territory, dates): indexed, so a filter over a
#: register of 100,000 decisions reads the matching rows, not all of them; the equality ones together with the
#: id, the order pages are served in, so a page is read from the index without sorting every match
INDEXED = ("id", "status", "kind", "issuer", "created_on", "updated_on", "adopted_on")
WITH_ID = ("status", "kind", "issuer")


def _index(gpkg: str, layer: str, columns: list[str]) -> None:
    import sqlite3

    db = sqlite3.connect(gpkg)
    try:
        for c in (c for c in INDEXED if c in columns):
            also = ', "id"' if c in WITH_ID and "id" in columns else ""
            db.execute(f'CREATE INDEX "{layer}_{c}" ON "{layer}" ("{c}"{also})')
        db.commit()
    finally:
        db.close()


def _write(path: Path, layer: str, columns: tuple[tuple[str, str], ...], rows: list[list[Any]],
           geoms: list[Any]) -> Written:
    """Write one layer aside and swap it in (a reader keeps the old file until its next request)."""
    data = [np.array([r[i] for r in rows], dtype=t) for i, (_, t) in enumerate(columns)]
    wkb = np.array([None if g is None else shapely.to_wkb(g) for g in geoms], dtype=object)
    gtype = _geometry_type(geoms)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".gpkg")
    os.close(fd)
    os.unlink(tmp)
    try:
        pyogrio.raw.write(tmp, wkb, field_data=data, fields=[c for c, _ in columns], layer=layer, driver="GPKG",
                          geometry_type="Unknown" if gtype == "Geometry" else gtype, crs="EPSG:4326",
                          encoding="UTF-8", promote_to_multi=gtype.startswith("Multi"),
                          dataset_options={"VERSION": "1.3"},
                          layer_options={"FID": "fid", "GEOMETRY_NAME": "geom"})
        _index(tmp, layer, [c for c, _ in columns])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    real = [g for g in geoms if g is not None]
    bbox = tuple(float(b) for b in shapely.total_bounds(real)) if real else None
    return Written(path, len(rows), bbox, gtype)  # type: ignore[arg-type]


def due_dates(d: Decision) -> list[str]:
    """The due dates (YYYY-MM-DD, earliest first) of the milestones still to be done, of an open decision only:
    a cancelled or completed decision owes nothing, whatever its milestones say."""
    if d.status not in OPEN:
        return []
    return sorted(m.due for m in d.milestones if m.done_at is None)


def write_decisions(decisions: list[Decision], path: Path, *, page_url: Callable[[str], str],
                    feed_url: Callable[[str], str], names: dict[str, str], today: str) -> Written:
    """``milestones_overdue`` counts as of ``today`` (the day of the build); what is overdue on another day is
    read from ``next_due`` / ``due_dates``, which do not go stale: ``next_due<'2026-06-01'`` asked on any day
    finds the decisions with a milestone overdue on that day (decisions.overview.network_overdue)."""
    rows, geoms = [], []
    for d in decisions:
        due = due_dates(d)
        st = agreement_state(d)
        adopted = next((x for x in d.documents if x.role == "adopted-text"), None)
        rows.append([
            d.id, d.title.uk, d.title.en, d.summary.uk, d.summary.en, d.kind, KIND_UK.get(d.kind, d.kind), d.status,
            STATUS_UK.get(d.status, d.status), d.issuer, names.get(d.issuer), _day(d.created_at), _day(d.updated_at),
            _day(d.consultation_until), _day(d.agreement_deadline), _day(adopted.added_at if adopted else None),
            _moment(d.updated_at), " ".join(d.parties), sum(v == "agree" for v in st.values()),
            sum(v == "object" for v in st.values()), len(d.visible_comments()),
            sum(1 for x in due if x < today), _day(due[0] if due else None), " ".join(due) or None,
            "; ".join(f"{x.name} ({x.role}) {_document_url(page_url(d.id), d.id, x.sha256)}" for x in d.documents),
            adopted.sha256 if adopted else None, page_url(d.id), feed_url(d.issuer)])
        geoms.append(None if d.geometry is None else shapely.from_wkt(d.geometry))
    return _write(path, "decisions", DECISION_COLUMNS, rows, geoms)


def _document_url(page: str, decision_id: str, sha256: str) -> str:
    """The URL of a document's bytes (decisions/web.py), beside the decision's page."""
    from decisions.stores import document_path

    return f"{page.rsplit('/decisions/', 1)[0]}/{document_path(decision_id, sha256)}"


def project_geometry(p: Project, by_id: dict[str, Decision]) -> Any:
    """Where a project is: the union of its decisions' geometries (None when none of them has one)."""
    shapes = [shapely.from_wkt(by_id[i].geometry) for i in p.decisions if i in by_id and by_id[i].geometry]
    return shapely.union_all(shapes) if shapes else None


def write_projects(projects: list[Project], decisions: list[Decision], path: Path, *,
                   page_url: Callable[[str], str], names: dict[str, str],
                   project_url: Callable[[str], str] | None = None) -> Written:
    """``page_url`` links a decision's page, ``project_url`` the project's own page (none: the column is empty)."""
    by_id = {d.id: d for d in decisions}
    rows, geoms = [], []
    for p in projects:
        currencies = sorted({b.currency for b in p.budget})
        rows.append([
            p.id, p.title.uk, p.title.en, p.stage, p.issuer, names.get(p.issuer), p.tender_id, " ".join(p.decisions),
            " ".join(page_url(i) for i in p.decisions if i in by_id), float(sum(b.planned for b in p.budget)),
            float(sum(b.actual for b in p.budget)), ", ".join(currencies) or None, _day(p.created_at),
            _day(p.updated_at), _moment(p.updated_at), project_url(p.id) if project_url else None])
        geoms.append(project_geometry(p, by_id))
    return _write(path, "projects", PROJECT_COLUMNS, rows, geoms)
