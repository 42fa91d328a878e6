"""The investment map at ``/invest/``: the sites of every public dataset declared with the target schema
``investment-sites`` (config/schemas/investment-sites.yaml), with filters (type, area, distance to power and
to a road), a map, and a page per site at ``/invest/<site id>/``.

Generated at build time like the landing page, from the stored layer (whatever store holds it), so the
pages say exactly what the node's OGC API, WMS and downloads publish. The filters work in the page's script
over the rendered list; without script every site is listed. A node without such a dataset still gets the
page (saying there are no sites), so the menu link never breaks.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geoportal import portal
from geoportal.config import Dataset, NodeConfig
from geoportal.model import Endpoints, StoredLayer, Workspace, write_atomic

SCHEMA = "investment-sites"
TEMPLATES = Path(__file__).resolve().parent / "templates"
LEAFLET = Path(__file__).resolve().parent.parent / "node_modules" / "leaflet" / "dist" / "leaflet.js"
#: the columns of the schema a page shows, in order (the titles come from the stored layer)
DETAILS = ("site_type", "area_ha", "ownership", "land_use", "status", "dist_power_km", "power_kw", "dist_gas_km",
           "dist_water_km", "dist_road_km", "dist_rail_km", "contact", "phone", "email")
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def page_dir(ws: Workspace) -> Path:
    return ws.root / "invest"


def is_invest(ds: Dataset) -> bool:
    """Whether a dataset is declared with the investment-site schema (by name or as a path to it)."""
    return bool(ds.schema_) and Path(str(ds.schema_)).stem == SCHEMA


@dataclass(frozen=True)
class Site:
    """One site as the pages show it."""

    slug: str  # the folder of its page
    dataset: str
    fid: int
    lon: float
    lat: float
    values: dict[str, Any]
    hromada: str

    def number(self, column: str) -> float | None:
        v = self.values.get(column)
        return None if v is None else float(v)


def _slug(site_id: Any, fid: int, taken: set[str]) -> str:
    """The site's code when it makes a clean path segment and is unique, else ``site-<fid>``."""
    s = str(site_id or "")
    slug = s if SAFE_ID.match(s) and s not in taken else f"site-{fid}"
    taken.add(slug)
    return slug


def read_sites(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer]) -> tuple[list[Site], dict[str, str]]:
    """Every site of the node's investment-site datasets, and the titles of their columns."""
    import numpy as np
    import shapely

    from decisions.features import read_features
    from decisions.publish import issuer_names

    names = issuer_names(cfg, ws)
    sites: list[Site] = []
    titles: dict[str, str] = {}
    taken: set[str] = set()
    for ds in cfg.public_datasets:
        layer = layers.get(ds.id)
        if layer is None or not is_invest(ds) or layer.kind != "vector":
            continue
        columns = [f.name for f in layer.fields]
        titles.update({f.name: f.label for f in layer.fields})
        feats = read_features(layer, columns)
        points = shapely.point_on_surface(feats.geoms)
        xy = shapely.get_coordinates(points)
        for i, fid in enumerate(feats.fids):
            values = {c: _plain(feats.attrs[c][i]) for c in columns}
            if not np.isfinite(xy[i]).all():
                continue
            sites.append(Site(_slug(values.get("site_id"), fid, taken), ds.id, fid, float(xy[i][0]), float(xy[i][1]),
                              values, names.get(str(values.get("katotth_hromada") or ""), "")))
    return sites, titles


def _plain(v: Any) -> Any:
    """numpy scalars as Python values (for JSON and templates)."""
    return v.item() if hasattr(v, "item") else v


def _tiles(cfg: NodeConfig, ep: Endpoints) -> str | None:
    """The node's own basemap tiles (no internet); None when the node has no boundary layers to draw."""
    from publishers.pygeoapi import basemap

    url = basemap(cfg, ep)["url"]
    return url if url.startswith(ep.base_url) else None


def render(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints) -> dict[str, str]:
    """The pages, relative path → HTML: ``index.html`` and ``<slug>/index.html`` per site."""
    sites, titles = read_sites(cfg, ws, layers)
    env = portal.environment(TEMPLATES)
    env.filters["num"] = lambda v: "—" if v is None else (f"{v:,.2f}".rstrip("0").rstrip(".").replace(",", "\u202f"))
    datasets = [ds for ds in cfg.public_datasets if is_invest(ds) and ds.id in layers]
    root = ep.base_url + "/"
    common = {"site": portal.Site.of_config(cfg), "root": root, "titles": titles, "datasets": datasets,
              "example": any("ПРИКЛАД" in ds.title.uk for ds in datasets), "ep": ep,
              "leaflet": LEAFLET.exists(), "tiles": _tiles(cfg, ep), "details": DETAILS}
    types = sorted({str(s.values.get("site_type")) for s in sites if s.values.get("site_type")})
    data = [{"slug": s.slug, "name": s.values.get("name_uk") or s.slug, "lon": s.lon, "lat": s.lat,
             "status": s.values.get("status")} for s in sites]
    pages = {"index.html": env.get_template("invest.html").render(
        **common, sites=sites, types=types, data=data)}
    for s in sites:
        pages[f"{s.slug}/index.html"] = env.get_template("invest_site.html").render(
            **common, s=s, item=f"{ep.items(s.dataset)}/{s.fid}?f=html",
            ogcapi=any(ds.id == s.dataset and "ogcapi" in ds.services for ds in datasets),
            data=[d for d in data if d["slug"] == s.slug])
    return pages


def write(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints) -> list[Path]:
    """Write the pages; pages of sites no longer in the data are removed."""
    out = page_dir(ws)
    pages = render(cfg, ws, layers, ep)
    written = []
    for rel, html in pages.items():
        path = out / rel
        write_atomic(path, html)
        written.append(path)
    for stale in out.glob("*/index.html") if out.exists() else []:
        if stale not in written:
            shutil.rmtree(stale.parent)
    return written
