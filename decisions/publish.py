"""The register published on every node (issue #12, the publishing part), as a stage of the build and after
every ``geoportal decision …`` change:

- ``<workspace>/decisions/``: the page of each decision, the index, the development projects' list
  (``projects.html``) and one page per project (``P-….html``), the Atom feeds (``feed.atom`` and one per
  issuing hromada) — served as ``/decisions/``;
- ``<workspace>/register/{decisions,projects}.gpkg``: the two layers of :mod:`decisions.register_layers`, and
  the two **datasets** of the node that declare them (like the passports), so the OGC API collections, the
  ISO 19139 records in the catalog (harvested by the parent), DCAT, the landing page and the downloads all
  pick them up through the same declarations. Read-only: nothing here offers OGC API Part 4.

The layers are rewritten in place (atomically) after a CLI change, and the GeoPackage provider reopens a
replaced file on its next request, so a running node serves a change at once; extents and records follow at
the next build.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from datetime import date
from pathlib import Path
from typing import Callable

from geoportal.config import Dataset, NodeConfig
from geoportal.errors import ConfigError
from geoportal.model import UKRAINE_BBOX, FieldInfo, QualityReport, StoredLayer, Workspace, write_atomic
from decisions.nodeurl import node_base_url  # noqa: F401 - re-exported: the CLI and tests import it here
from geoportal.portal import Site
from geoportal.ukrainian import clean_name
from ingest.store.gpkg import GpkgTable

DECISIONS_ID, PROJECTS_ID = "decisions", "projects"
_FIELD_TYPES = {"object": "string", "int64": "integer", "float64": "number", "datetime64[D]": "date",
                "datetime64[s]": "datetime"}


def pages_folder(ws: Workspace) -> Path:
    return ws.root / "decisions"


def register_folder(ws: Workspace) -> Path:
    return ws.root / "register"


def issuer_names(cfg: NodeConfig, ws: Workspace) -> dict[str, str]:
    """KATOTTH → the body's name, from the node's passports (every hromada of the node) and the node itself."""
    names = {cfg.node.katotth: cfg.node.name.uk}
    gpkg = ws.root / "passport" / "passports.gpkg"
    if gpkg.exists():
        from passport.store import LAYER

        db = sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True)
        try:
            names.update({k: n for k, n in db.execute(f'SELECT katotth, name_uk FROM "{LAYER}"') if k and n})
        except sqlite3.Error:
            pass  # an older passports file: names are a courtesy, the codes are still there
        finally:
            db.close()
    return names


def register_dataset(cfg: NodeConfig, id: str, path: Path, geometry_type: str) -> Dataset:
    """The register as a dataset of the node. WMS/WFS serve it while its geometries are areas (MapServer draws
    one geometry kind per layer); a register that mixes points or lines with areas is served by OGC API and
    downloads only, which read every kind."""
    node_uk, node_en = cfg.node.name.uk, cfg.node.name.en
    what = {
        DECISIONS_ID: ({"uk": f"Реєстр управлінських рішень: {node_uk}",
                        "en": f"Register of management decisions: {node_en}"},
                       {"uk": "Рішення рад, розпорядження, програми розвитку, зміни цільового призначення та детальні "
                              "плани території з їхньою територією, станом (проєкт, обговорення, погодження, "
                              "прийнято, виконання), органом, що ухвалює, датами та посиланнями на сторінку рішення.",
                        "en": "Council decisions, administration orders, development programmes, land-use changes and "
                              "detailed plans with their territory, status, issuing body, dates and a link to the "
                              "page of each decision."},
                       {"uk": ["управлінські рішення", "рішення ради", "містобудування", "КАТОТТГ"],
                        "en": ["management decisions", "council decisions", "spatial planning", "KATOTTH"]},
                       "title_uk"),
        PROJECTS_ID: ({"uk": f"Проєкти розвитку: {node_uk}", "en": f"Development projects: {node_en}"},
                      {"uk": "Проєкти розвитку (ідея, підготовка, фінансування, закупівля, роботи, введення в "
                             "експлуатацію) з бюджетом і посиланнями на рішення, що їх започаткували; територія "
                             "проєкту — територія цих рішень.",
                       "en": "Development projects (idea, preparation, funding, procurement, works, commissioning) "
                             "with their budget and links to the decisions that launched them; a project's "
                             "territory is that of those decisions."},
                      {"uk": ["проєкти розвитку", "бюджет", "КАТОТТГ"],
                       "en": ["development projects", "budget", "KATOTTH"]},
                      "title_uk"),
    }[id]
    title, abstract, keywords, label = what
    return Dataset.model_validate({
        "id": id, "source": path, "theme": "planning", "topic_category": "planningCadastre",
        "inspire_theme": "Land use", "title": title,
        # drawn on the node's own layers: as fine as the coarsest of them (1:10 000, a planning map, if none says)
        "scale": max((d.scale for d in cfg.datasets if d.scale), default=10000), "abstract": abstract, "keywords": keywords,
        "licence": "CC-BY-4.0", "label": label,
        "style": "decision-status" if id == DECISIONS_ID else None,
        "services": ["ogcapi", "wms", "wfs", "downloads"] if "Polygon" in geometry_type else ["ogcapi", "downloads"],
    })


def _signature(payload: object) -> str:
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def _node_bbox(layers: dict[str, StoredLayer]) -> tuple[float, float, float, float]:
    boxes = [lay.bbox for lay in layers.values() if lay.bbox]
    if not boxes:
        return UKRAINE_BBOX  # type: ignore[return-value]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _outlines(cfg: NodeConfig, layers: dict[str, StoredLayer]) -> list[tuple[str, object]]:
    """The node's hromada boundaries (``reference.boundaries``) with their labels, under the register's map;
    none when the node has no such layer (the map then shows the decisions alone)."""
    from decisions.features import label_column, read_features

    layer = layers.get(cfg.reference.boundaries or "")
    if layer is None or layer.kind != "vector":
        return []
    ds = next((d for d in cfg.datasets if d.id == layer.dataset_id), None)
    label = label_column(layer, ds.label if ds else None)
    feats = read_features(layer, [label] if label else [])
    names = feats.attrs.get(label, [""] * len(feats.fids)) if label else [""] * len(feats.fids)
    return [(clean_name(str(n or "")), g) for n, g in zip(names, feats.geoms)]


def publish_register(cfg: NodeConfig, ws: Workspace, *, base_url: str | None = None,
                     layers: dict[str, StoredLayer] | None = None, today: date | None = None,
                     progress: Callable[[str], None] = lambda m: None) -> list[tuple[Dataset, StoredLayer]]:
    """Write the pages, feeds and the two layers of the register; return the two datasets with their layers
    (to add to the node's). Runs in well under a second for a register of hundreds of decisions."""
    from decisions.feeds import write_feeds
    from decisions.page import write_index, write_pages, write_project_pages
    from decisions.register_layers import DECISION_COLUMNS, PROJECT_COLUMNS, TITLES, write_decisions, write_projects
    from decisions.service import Register

    for taken in (DECISIONS_ID, PROJECTS_ID):
        if any(d.id == taken for d in cfg.datasets):
            raise ConfigError(f"{cfg.config_path}: dataset id '{taken}' is the node's decision register; "
                              f"rename the dataset")
    base = (base_url or node_base_url(cfg, ws)).rstrip("/")
    built_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    reg = Register.for_node(cfg, ws)
    decisions = reg.list()
    with reg.repo.transaction(write=False) as tx:
        projects = tx.list_projects()
    names = issuer_names(cfg, ws)
    folder = pages_folder(ws)
    site = Site.of_config(cfg)
    write_pages(decisions, folder, site=site, projects=projects)
    write_project_pages(projects, decisions, folder, names=names, site=site,
                        history_of=lambda i: reg.history(i, entity="project"))
    write_index(decisions, folder, feeds=sorted({d.issuer for d in decisions}), names=names, site=site,
                history_of=reg.history, outlines=_outlines(cfg, layers or ws.read_layers()) if decisions else [],
                projects=projects)
    write_feeds(decisions, folder, node=cfg.node.id, node_name=cfg.node.name.uk, base_url=base, names=names,
                built_at=built_at)

    page_url = lambda i: f"{base}/decisions/{i}.html"  # noqa: E731
    today_s = (today or date.today()).isoformat()
    out_dir = register_folder(ws)
    written = {
        DECISIONS_ID: (write_decisions(decisions, out_dir / "decisions.gpkg", page_url=page_url, names=names,
                                       feed_url=lambda k: f"{base}/decisions/{k}.atom", today=today_s),
                       DECISION_COLUMNS),
        PROJECTS_ID: (write_projects(projects, decisions, out_dir / "projects.gpkg", page_url=page_url, names=names,
                                     project_url=page_url), PROJECT_COLUMNS),
    }
    sig = _signature({"d": [d.to_dict() for d in decisions], "p": [p.to_dict() for p in projects], "base": base})
    state_path = out_dir / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    if state.get("signature") != sig:
        state = {"signature": sig, "version": state.get("version", 0) + 1, "changed_at": built_at}
        write_atomic(state_path, json.dumps(state, indent=1))
    progress(f"decisions: {len(decisions)} decisions, {len(projects)} projects published "
             f"(register version {state['version']})")
    node_bbox = _node_bbox(layers or ws.read_layers())
    result = []
    for id, (w, columns) in written.items():
        report = QualityReport(dataset=id, source=reg.repo.describe(), features_read=w.count,
                               features_written=w.count, version=state["version"], loaded_at=state["changed_at"],
                               field_titles={c: TITLES[c] for c, _ in columns})
        layer = StoredLayer(
            dataset_id=id, location=GpkgTable(str(w.path), id), geometry_type=w.geometry_type,
            feature_count=w.count, bbox=w.bbox or node_bbox, crs="EPSG:4326",
            fields=tuple(FieldInfo(c, _FIELD_TYPES[t], TITLES[c]) for c, t in columns),
            checksum=sig, version=state["version"], loaded_at=state["changed_at"], id_column="id", report=report)
        result.append((register_dataset(cfg, id, w.path, w.geometry_type), layer))
    return result
