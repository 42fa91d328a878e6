"""The landing page at ``/``: the node's datasets with links to every way of getting them.

Generated at build time as a static, self-contained HTML file (no CDN, readable on a phone), in Ukrainian
with English alongside.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from geoportal.config import NodeConfig
from geoportal.model import Endpoints, StoredLayer, Workspace, write_atomic

TEMPLATES = Path(__file__).resolve().parent / "templates"


def page_path(ws: Workspace) -> Path:
    return ws.root / "index.html"


def render(cfg: NodeConfig, layers: dict[str, StoredLayer], ep: Endpoints) -> str:
    from metadata.records import record_id

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    rows = []
    for ds in cfg.public_datasets:
        layer = layers.get(ds.id)
        if layer is None:
            continue
        b = layer.bbox
        rows.append({
            "ds": ds,
            "layer": layer,
            "record": ep.record(record_id(cfg, ds.id)),
            "collection": ep.collection(ds.id),
            "items": ep.items(ds.id),
            "getmap": (f"{ep.ows}?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={ds.id}&STYLES="
                       f"&CRS=EPSG:4326&BBOX={b[1]},{b[0]},{b[3]},{b[2]}&WIDTH=800&HEIGHT=600&FORMAT=image/png"),
            "getfeature": (f"{ep.ows}?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={ds.id}"
                           "&OUTPUTFORMAT=geojson&COUNT=100"),
            "gpkg": ep.download(ds.id, "gpkg"),
        })
    return env.get_template("landing.html").render(cfg=cfg, node=cfg.node, rows=rows, ep=ep,
                                                   passports="hromada-passports" in layers)


def write(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints) -> Path:
    path = page_path(ws)
    write_atomic(path, render(cfg, layers, ep))
    return path
