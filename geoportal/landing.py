"""The landing page at ``/``: the node's datasets with links to every way of getting them.

Generated at build time as a static, self-contained HTML file (no CDN, readable on a phone), in Ukrainian
with English alongside.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment

from geoportal import portal

from geoportal.config import Dataset, NodeConfig
from geoportal.links import getfeature_url, getmap_url, map_viewer_url
from geoportal.model import Endpoints, StoredLayer, Workspace, write_atomic
from geoportal.services import Distribution, distributions
from geoportal.ukrainian import OBJECTS, apostrophes, counted

TEMPLATES = Path(__file__).resolve().parent / "templates"


def page_path(ws: Workspace) -> Path:
    return ws.root / "index.html"


def _env() -> Environment:
    """Jinja with undefined names failing the build (a typo in the template must not become a link) and the
    shared look of the node's pages (geoportal.portal)."""
    env = portal.environment(TEMPLATES)
    env.filters["objects"] = lambda n: counted(n, *OBJECTS)
    env.filters["uk"] = apostrophes  # titles typed with ' in the config are shown with ’
    return env


@dataclass(frozen=True)
class Row:
    """One dataset on the page with its links (None: the service does not publish it).

    A dataclass, not a dict: in Jinja ``row.items`` of a dict is the dict's own method, and that once became
    every "Features" link; a name the class does not have fails the build (StrictUndefined) instead."""

    ds: Dataset
    layer: StoredLayer
    record: str
    collection: str | None
    features: str | None
    getmap: str | None
    getfeature: str | None
    download: Distribution | None  # the richest file: the GeoPackage of a vector, the COG of a raster
    map: str | None = None  # the map viewer with this layer on


def render(cfg: NodeConfig, layers: dict[str, StoredLayer], ep: Endpoints, view: Any = None) -> str:
    """The page; a link appears only for a service that publishes the dataset. With an access ``view``
    (a logged-in caller, geoportal/views_web.py): the datasets the view holds, each with the links of the
    services the view gives it through."""
    from metadata.records import record_id

    rows = []
    shown = cfg.public_datasets if view is None else [d for d in cfg.datasets if d.id in view.visible()]
    for ds in shown:
        layer = layers.get(ds.id)
        if layer is None:
            continue

        def may(service: str, ds: Dataset = ds) -> bool:
            return view is None or view.grant(ds.id, service) is not None

        ogc = "ogcapi" in ds.services and may("ogcapi")
        rows.append(Row(
            ds=ds, layer=layer, record=ep.record(record_id(cfg, ds.id)),
            collection=ep.collection(ds.id) if ogc else None,
            features=f"{ep.items(ds.id)}?f=html" if ogc else None,
            getmap=getmap_url(ep, ds, layer) if may("wms") else None,
            getfeature=getfeature_url(ep, ds) if may("wfs") else None,
            download=next((d for d in distributions(cfg, ds, layer, ep) if d.service == "downloads"), None)
            if may("downloads") else None,
            map=map_viewer_url(ep, ds) if may("wms") else None,
        ))
    return _env().get_template("landing.html").render(cfg=cfg, node=cfg.node, rows=rows, ep=ep,
                                                      map_viewer=map_viewer_url(ep), site=portal.Site.of_config(cfg),
                                                      passports="hromada-passports" in layers)


def write(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints) -> Path:
    path = page_path(ws)
    write_atomic(path, render(cfg, layers, ep))
    return path
