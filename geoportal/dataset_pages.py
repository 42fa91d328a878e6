"""A page per dataset at ``/datasets/{id}/``: what a person needs to judge and use one dataset, in Ukrainian
with English alongside — its description, a map preview, a sample of its attributes under their original
names, every download, every service with how to open it in QGIS, the quality report of the load, its version
history and lineage.

Generated at build time like the landing page, as static files that work with no internet: the preview is the
node's own WMS GetMap, the attribute sample is read by a few lines of script from the node's own OGC API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from geoportal import portal
from geoportal.config import Dataset, NodeConfig
from geoportal.links import getmap_url, map_viewer_url, wfs_typename, wms_layer
from geoportal.model import Endpoints, StoredLayer, Workspace, write_atomic
from geoportal.services import Distribution, distributions
from geoportal.ukrainian import OBJECTS, counted

TEMPLATES = Path(__file__).resolve().parent / "templates"


def page_dir(ws: Workspace) -> Path:
    return ws.root / "datasets"


@dataclass(frozen=True)
class Version:
    version: int
    loaded_at: str
    checksum: str
    current: bool
    written: Any
    rejected: Any
    kept: bool


def _history(cfg: NodeConfig, ws: Workspace, ds: Dataset, layer: StoredLayer) -> list[Version]:
    """The versions the store keeps of a vector dataset, newest first (a raster keeps its current file)."""
    if layer.kind != "vector":
        return [Version(layer.version, layer.loaded_at, layer.checksum, True, None, None, True)]
    from ingest.pipeline import storage_target
    from ingest.store import open_store

    try:
        store = open_store(storage_target(cfg, ws, ds.id), schema=cfg.storage.schema_)
        rows = store.history(store.table_for(ds.id))
    except Exception:  # noqa: BLE001 - a page without history is better than no page; the data is served anyway
        rows = []
    out = []
    for r in rows:
        rep = ((r.get("provenance") or {}).get("layer") or {}).get("report") or {}
        out.append(Version(int(r["version"]), str(r.get("loaded_at") or ""), str(r.get("checksum") or "")[:12],
                           bool(r.get("current")), rep.get("features_written"), rep.get("features_rejected"),
                           bool(r.get("file", True))))
    return sorted(out, key=lambda v: -v.version)


def _qgis(ds: Dataset, ep: Endpoints, dists: list[Distribution]) -> list[dict[str, str]]:
    """How to open the dataset in QGIS, one recipe per service that publishes it."""
    out = []
    names = {d.service for d in dists}
    if "wms" in names:
        out.append({"service": "WMS", "url": ep.ows, "name": wms_layer(ds) or "",
                    "uk": "Шар → Додати шар → Додати шар WMS/WMTS; нове з’єднання з цією адресою; шар",
                    "en": "Layer → Add Layer → Add WMS/WMTS Layer; a new connection with this URL; layer"})
    if "wfs" in names:
        out.append({"service": "WFS", "url": ep.ows, "name": wfs_typename(ds) or "",
                    "uk": "Шар → Додати шар → Додати шар WFS / OGC API - Features; нове з’єднання (WFS 2.0); тип",
                    "en": "Layer → Add Layer → Add WFS / OGC API - Features Layer; a new connection (WFS 2.0); type"})
    if "ogcapi" in names:
        out.append({"service": "OGC API - Features", "url": ep.ogcapi, "name": ds.id,
                    "uk": "Те саме вікно, тип з’єднання OGC API - Features; колекція",
                    "en": "The same dialog, connection type OGC API - Features; collection"})
    return out


def _outline(cfg: NodeConfig) -> Dataset | None:
    """The node's outline (``reference.territory``, else '<level>-boundary'), drawn under a preview."""
    wanted = cfg.reference.territory or f"{cfg.node.level.value}-boundary"
    return next((d for d in cfg.public_datasets if d.id == wanted), None)


def render(cfg: NodeConfig, ws: Workspace, ds: Dataset, layer: StoredLayer, ep: Endpoints) -> str:
    from metadata.records import record_id

    env = portal.environment(TEMPLATES)
    env.filters["objects"] = lambda n: counted(n, *OBJECTS)
    dists = distributions(cfg, ds, layer, ep)
    fields = [{"name": f.name, "title": f.label, "type": f.type} for f in layer.fields]
    return env.get_template("dataset.html").render(
        cfg=cfg, node=cfg.node, site=portal.Site.of_config(cfg), ds=ds, layer=layer, ep=ep, report=layer.report,
        record=ep.record(record_id(cfg, ds.id)), map_viewer=map_viewer_url(ep, ds),
        preview=getmap_url(ep, ds, layer, 640, 420, _outline(cfg)),
        files=[d for d in dists if d.service == "downloads"],
        services=[d for d in dists if d.service != "downloads"], qgis=_qgis(ds, ep, dists),
        fields=fields, fields_json=json.dumps(fields, ensure_ascii=False),
        items=f"{ep.items(ds.id)}?f=json&limit=10" if "ogcapi" in ds.services else None,
        history=_history(cfg, ws, ds, layer))


def write(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints) -> list[Path]:
    """One page per public dataset that has been loaded (old pages of removed datasets are removed)."""
    from access.views import anonymous_view

    out = page_dir(ws)
    written = []
    view = anonymous_view(cfg, layers)
    for ds in cfg.public_datasets:
        layer = layers.get(ds.id)
        dv = view.dataset(ds.id)
        if layer is None or dv is None:
            continue
        # attributes a rule hides from anonymous callers are not even named on the public page
        hidden = {h for _, g in dv.grants for h in g.hidden}
        layer = replace(layer, fields=tuple(f for f in layer.fields if f.name not in hidden))
        path = out / ds.id / "index.html"
        write_atomic(path, render(cfg, ws, ds, layer, ep))
        written.append(path)
    for stale in out.glob("*/index.html") if out.exists() else []:
        if stale not in written:
            stale.unlink()
    return written
