"""The services a node publishes, each declared once by the stage that makes it.

A publisher module (and the catalog) has ``SERVICES``: a tuple of :class:`Service` — its name, protocol,
URL, media types — and ``distributions(ds, layer, ep)``: how one dataset is reached through them
(:class:`Distribution`). The ISO records, the DCAT catalog, the landing page and the catalog's service
records iterate over these declarations, so a new publisher appears everywhere by declaring itself, and a
URL or a protocol name is written in one place only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from geoportal.config import Dataset, NodeConfig
    from geoportal.model import Endpoints, StoredLayer

#: the catalog is a stage of its own, not a publisher, but a service all the same
CATALOG_MODULE = "catalog.pycsw"


@dataclass(frozen=True)
class Service:
    """One service of a node, as clients and metadata name it."""

    name: str  # key in a dataset's ``services:`` and in the service record id (``service-<name>``)
    title: str  # "WMS 1.3.0"
    long_title: str  # "Web Map Service"
    protocol: str  # ISO online-resource protocol / CSW link scheme, e.g. "OGC:WMS"
    service_type: str  # INSPIRE spatial data service type: view | download | discovery | other
    operation: str  # the operation a client starts with (ISO containsOperations), e.g. "GetMap"
    path: str  # under the node's base URL, e.g. "/ows"
    capabilities: str = ""  # query string of the self-description, e.g. "?SERVICE=WMS&REQUEST=GetCapabilities"
    description: str = ""  # where a machine reads the interface (dcat:endpointDescription); default: capabilities
    version: str = ""
    conforms_to: str = ""  # the standard's IRI (dct:conformsTo)
    iso_category: str = ""  # INSPIRE classification of spatial data services (ISO 19119), e.g. infoMapAccessService
    media_types: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ("vector",)  # the kinds of layer it serves: vector, raster
    per_dataset: bool = True  # datasets are published through it (the catalog describes them instead)
    record: bool = True  # has an ISO service record of its own in the catalog (plain file downloads: no)

    def url(self, ep: "Endpoints") -> str:
        """The service's endpoint (what a client is configured with)."""
        return ep.base_url + self.path

    def capabilities_url(self, ep: "Endpoints") -> str:
        """Where the service describes itself (GetCapabilities, the landing page of an API)."""
        return self.url(ep) + self.capabilities

    def description_url(self, ep: "Endpoints") -> str:
        """The machine-readable description of its interface (capabilities, OpenAPI)."""
        return self.url(ep) + (self.description or self.capabilities)


@dataclass(frozen=True)
class Distribution:
    """One way to get one dataset: a layer of a service or a file, with the names a client needs."""

    service: str  # the Service.name it belongs to
    url: str
    protocol: str  # as Service.protocol, or "WWW:DOWNLOAD-1.0-http--download" for a file
    name: str  # the layer/type/collection name in that service, or the file name
    title_uk: str
    title_en: str
    media_type: str
    format: str  # a short format name (DCAT dct:format, ISO distributionFormat): "GeoPackage", "WMS"
    function: str = "information"  # ISO CI_OnLineFunctionCode: information | download
    key: str = ""  # stable key within a dataset's distributions ("wms", "gpkg", "shp", …); default: the service
    file_type: str | None = None  # EU file-type authority code (GPKG, GEOJSON, CSV, SHP, PNG, GML, TIFF)
    format_version: str | None = None  # ISO distributionFormat version ("1.3", "RFC 7946")


def _modules(cfg: "NodeConfig") -> Iterator[object]:
    import importlib

    from geoportal import plugins

    for name in plugins.node_publishers(cfg.publisher):  # through the registry: the core imports no publisher
        yield plugins.load("publisher", name)
    yield importlib.import_module(CATALOG_MODULE)


def declared(cfg: "NodeConfig") -> list[Service]:
    """Every service the node runs, in the order of its publishers, the catalog last."""
    return [svc for module in _modules(cfg) for svc in getattr(module, "SERVICES", ())]


def dataset_services(cfg: "NodeConfig") -> set[str]:
    """The names a dataset may list in ``services:``."""
    return {s.name for s in declared(cfg) if s.per_dataset}


def distributions(cfg: "NodeConfig", ds: "Dataset", layer: "StoredLayer", ep: "Endpoints") -> list[Distribution]:
    """How a dataset is reached: every distribution of every service that publishes it."""
    out: list[Distribution] = []
    for module in _modules(cfg):
        services = {s.name: s for s in getattr(module, "SERVICES", ())}
        wanted = [s for s in services.values() if s.per_dataset and s.name in ds.services and layer.kind in s.kinds]
        if wanted and hasattr(module, "distributions"):
            out.extend(d for d in module.distributions(ds, layer, ep) if d.service in {s.name for s in wanted})
    return out


def service(cfg: "NodeConfig", name: str) -> Service:
    for s in declared(cfg):
        if s.name == name:
            return s
    raise KeyError(f"no service '{name}' on this node (declared: {', '.join(s.name for s in declared(cfg))})")
