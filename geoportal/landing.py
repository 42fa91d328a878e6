"""The landing page at ``/``: the node's datasets with links to every way of getting them.

Generated at build time as a static, self-contained HTML file (no CDN, readable on a phone), in Ukrainian
with English alongside.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from geoportal.config import Dataset, NodeConfig
from geoportal.links import getfeature_url, getmap_url
from geoportal.model import Endpoints, StoredLayer, Workspace, write_atomic
from geoportal.services import Distribution, distributions
from geoportal.ukrainian import OBJECTS, apostrophes, counted

TEMPLATES = Path(__file__).resolve().parent / "templates"


def page_path(ws: Workspace) -> Path:
    return ws.root / "index.html"


def _env() -> Environment:
    """Jinja with undefined names failing the build: a typo in the template must not become a link."""
    from jinja2 import StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined)
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


def render(cfg: NodeConfig, layers: dict[str, StoredLayer], ep: Endpoints) -> str:
    """The page; a link appears only for a service that publishes the dataset."""
    from metadata.records import record_id

    rows = []
    for ds in cfg.public_datasets:
        layer = layers.get(ds.id)
        if layer is None:
            continue
        ogc = "ogcapi" in ds.services
        rows.append(Row(
            ds=ds, layer=layer, record=ep.record(record_id(cfg, ds.id)),
            collection=ep.collection(ds.id) if ogc else None,
            features=f"{ep.items(ds.id)}?f=html" if ogc else None,
            getmap=getmap_url(ep, ds, layer), getfeature=getfeature_url(ep, ds),
            download=next((d for d in distributions(cfg, ds, layer, ep) if d.service == "downloads"), None),
        ))
    return _env().get_template("landing.html").render(cfg=cfg, node=cfg.node, rows=rows, ep=ep,
                                                      passports="hromada-passports" in layers)


def write(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints) -> Path:
    path = page_path(ws)
    write_atomic(path, render(cfg, layers, ep))
    return path
