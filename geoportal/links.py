"""The names and URLs by which a client asks the node's services for one dataset: one place for all of them.

The mapfile (:mod:`publishers.mapserver`) names its layers with these functions, and every document that
sends a person or a client to a layer — the landing page, the ISO records, the DCAT catalog, the passports —
takes its links from here too, so a link can never name a layer the server does not have.

Two rules a client depends on:

- a WMS/WFS link exists only when the dataset is published by that service (``Dataset.services``);
- a WFS feature type is always named with the namespace prefix MapServer advertises (``gp:roads``): QGIS
  3.22 fails on a bare ``TYPENAMES=roads`` that MapServer itself accepts.
"""

from __future__ import annotations

from urllib.parse import urlencode

from geoportal.config import Dataset
from geoportal.model import Endpoints, StoredLayer

#: the namespace prefix of the node's WFS feature types (MapServer ``wfs_namespace_prefix``)
WFS_PREFIX = "gp"


def wfs_namespace_uri(ep: Endpoints) -> str:
    """The namespace URI of the node's feature types (MapServer ``wfs_namespace_uri``)."""
    return f"{ep.base_url}/ows/ns"


def in_mapserver(ds: Dataset) -> bool:
    """Whether the dataset is a LAYER of the node's mapfile (it is, when WMS or WFS publishes it)."""
    return "wms" in ds.services or "wfs" in ds.services


def wms_layer(ds: Dataset) -> str | None:
    """The WMS layer name of a dataset, or None when WMS does not publish it."""
    return ds.id if "wms" in ds.services else None


def wfs_typename(ds: Dataset) -> str | None:
    """The namespaced WFS feature type (``gp:<id>``) of a dataset, or None when WFS does not publish it."""
    return f"{WFS_PREFIX}:{ds.id}" if "wfs" in ds.services else None


def getmap_url(ep: Endpoints, ds: Dataset, layer: StoredLayer, width: int = 800, height: int = 600,
               under: Dataset | None = None) -> str | None:
    """A WMS 1.3.0 GetMap of the whole dataset (EPSG:4326, so the BBOX is lat/lon), or None without WMS;
    ``under``: a dataset drawn beneath it for context (e.g. the node's outline)."""
    name = wms_layer(ds)
    if name is None:
        return None
    base = wms_layer(under) if under is not None and under.id != ds.id else None
    if base:
        name = f"{base},{name}"
    b = layer.bbox
    return f"{ep.ows}?" + urlencode({
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": name, "STYLES": "",
        "CRS": "EPSG:4326", "BBOX": f"{b[1]},{b[0]},{b[3]},{b[2]}", "WIDTH": width, "HEIGHT": height,
        "FORMAT": "image/png"}, safe=":,/")


def getfeature_url(ep: Endpoints, ds: Dataset, count: int = 100) -> str | None:
    """A WFS 2.0 GetFeature of the dataset as GeoJSON (namespaced type name), or None without WFS."""
    name = wfs_typename(ds)
    if name is None:
        return None
    return f"{ep.ows}?" + urlencode({
        "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": name,
        "OUTPUTFORMAT": "geojson", "COUNT": count}, safe=":,/")


def map_viewer_url(ep: Endpoints, ds: Dataset | None = None) -> str | None:
    """The node's map viewer (``/map/``), with the dataset's WMS layer turned on; None when a dataset is
    given that WMS does not publish. The layer goes in the URL hash, where the viewer keeps its state."""
    if ds is None:
        return f"{ep.base_url}/map/"
    name = wms_layer(ds)
    return f"{ep.base_url}/map/#layers={name}" if name else None
