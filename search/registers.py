"""The node's decision register as documents of the search: one ``decision`` per decision and one ``project``
per development project (:mod:`decisions`), cancelled ones included — their status is searchable text and a
facet, so "скасовано" finds them and ``status=cancelled`` filters them.

Read from the register itself (the repository of :mod:`decisions.stores`, one read-only transaction), not
from the published layers: the build indexes right after it publishes the register, and the register is the
source the pages and layers are written from. A node whose register was never opened has no
``decisions.gpkg``; it is not created here (the search only reads).

Links are root-relative, as the passports' are: ``/decisions/<id>.html`` (decisions.page) and the OGC API item
of the published ``decisions`` / ``projects`` collections (decisions.publish); a parent that takes these
documents from a child makes them absolute (:mod:`search.network`).
"""

from __future__ import annotations

from typing import Any, Iterator

from geoportal.config import NodeConfig
from geoportal.model import Workspace
from search.doc import Doc, level_of

#: the published register datasets (decisions.publish.DECISIONS_ID / PROJECTS_ID): the access key of a
#: decision or project is that dataset's, so an access rule hiding the dataset hides its documents too
DECISIONS_DATASET, PROJECTS_DATASET = "decisions", "projects"
LICENCE = "CC-BY-4.0"  # the register datasets' licence (decisions.publish.register_dataset)
FORMATS = ["HTML", "OGC API Features"]


def _register(cfg: NodeConfig, ws: Workspace) -> tuple[list[Any], list[Any]] | None:
    """(decisions, projects) of the node's register; None when the node has none yet."""
    from decisions.repo_gpkg import GpkgRepository
    from decisions.stores import open_repository

    repo = open_repository(cfg, ws.root)
    if isinstance(repo, GpkgRepository) and not repo.path.exists():
        return None
    with repo.transaction(write=False) as tx:
        return tx.list_decisions(), tx.list_projects()


def _names(cfg: NodeConfig, ws: Workspace) -> dict[str, str]:
    from decisions.publish import issuer_names

    return issuer_names(cfg, ws)


def _bbox(wkts: list[str]) -> tuple[float, float, float, float] | None:
    import shapely

    shapes = [shapely.from_wkt(w) for w in wkts if w]
    if not shapes:
        return None
    x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(shapes))
    return (x0, y0, x1, y1)


def _item(collection: str, id: str) -> dict[str, str]:
    return {"href": f"/ogcapi/collections/{collection}/items/{id}", "title": "OGC API Features (GeoJSON)",
            "protocol": "OGC API - Features"}


def _page(id: str, title: str) -> dict[str, str]:
    return {"href": f"/decisions/{id}.html", "title": title, "protocol": "WWW:LINK"}


def decisions(cfg: NodeConfig, ws: Workspace) -> Iterator[Doc]:
    """One document per decision of the node's register."""
    from decisions.model import KIND_UK, STATUS_UK

    register = _register(cfg, ws)
    if register is None:
        return
    names = _names(cfg, ws)
    for d in register[0]:
        issuer = names.get(d.issuer, "")
        yield Doc(
            id=f"decision:{cfg.node.id}/{d.id}", type="decision", title_uk=d.title.uk, title_en=d.title.en,
            summary=d.summary.uk,
            text=" ".join(filter(None, [d.id, d.summary.en, d.kind, KIND_UK.get(d.kind, ""), d.status,
                                        STATUS_UK.get(d.status, ""), "рішення decision"])),
            node=cfg.node.id, level=level_of(d.issuer), theme="planning", organisation=issuer,
            territory=[d.issuer], formats=list(FORMATS), licence=LICENCE, access="public",
            key=f"{cfg.node.id}/{DECISIONS_DATASET}", updated=(d.updated_at or d.created_at)[:10],
            bbox=_bbox([d.geometry] if d.geometry else []), status=d.status,
            links=[_page(d.id, "Сторінка рішення / decision page"), _item(DECISIONS_DATASET, d.id)])


def projects(cfg: NodeConfig, ws: Workspace) -> Iterator[Doc]:
    """One document per development project; it lies where the decisions that launched it do, and links its
    own page when the node has written one, else the pages of those decisions."""
    from decisions.page import STAGE_UK

    register = _register(cfg, ws)
    if register is None:
        return
    by_id = {d.id: d for d in register[0]}
    names = _names(cfg, ws)
    for p in register[1]:
        launched = [by_id[i] for i in p.decisions if i in by_id]
        own_page = (ws.root / "decisions" / f"{p.id}.html").exists()
        pages = ([_page(p.id, "Сторінка проєкту / project page")] if own_page else
                 [_page(d.id, f"Рішення / decision {d.id}") for d in launched])
        yield Doc(
            id=f"project:{cfg.node.id}/{p.id}", type="project", title_uk=p.title.uk, title_en=p.title.en,
            text=" ".join(filter(None, [p.id, p.stage, STAGE_UK.get(p.stage, ""), p.tender_id or "",
                                        *(b.source for b in p.budget), *(d.title.uk for d in launched),
                                        "проєкт розвитку development project"])),
            node=cfg.node.id, level=level_of(p.issuer), theme="planning",
            organisation=names.get(p.issuer, ""),
            territory=[p.issuer], formats=list(FORMATS), licence=LICENCE, access="public",
            key=f"{cfg.node.id}/{PROJECTS_DATASET}", updated=(p.updated_at or p.created_at)[:10],
            bbox=_bbox([d.geometry for d in launched if d.geometry]), status=p.stage,
            links=[*pages, _item(PROJECTS_DATASET, p.id)])
