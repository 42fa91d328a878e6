"""What a node offers for each dataset, as the metadata describes it — built from the declarations of the
publishers and the catalog (:mod:`geoportal.services`), so the ISO 19139 records (:mod:`metadata.records`),
the DCAT-AP catalog (:mod:`metadata.dcat`) and the catalog links describe exactly what the servers serve.

Titles contain no commas: pycsw 2.6 stores a record's links as one comma-separated string
(``name,description,protocol,url^…``) and splits it back on every comma, so "Shapefile (zip, UTF-8)" would
come out of CSW Dublin Core and OGC API Records as a broken title (the declarations keep to that; a test
reads the links back through CSW and OGC API Records).
"""

from __future__ import annotations

from dataclasses import dataclass

from geoportal import services as declared
from geoportal.config import Dataset, NodeConfig
from geoportal.model import Endpoints, StoredLayer

IANA = "https://www.iana.org/assignments/media-types/"
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"


@dataclass(frozen=True)
class Service:
    """One network service of the node with a record of its own (ISO 19119 / dcat:DataService)."""

    kind: str  # the declared service name: "ogcapi" | "wms" | "wfs" | "csw" | …
    title: str  # short, e.g. "WMS 1.3.0"
    long_title: str  # e.g. "Web Map Service"
    version: str
    protocol: str  # the ISO online-resource protocol (OGC:WMS, …)
    endpoint: str  # dcat:endpointURL / srv:connectPoint
    capabilities: str  # where the service describes itself to a person or client (the record's resource URL)
    description: str  # capabilities or OpenAPI document (dcat:endpointDescription)
    conforms_to: str  # the standard's IRI
    inspire_type: str  # INSPIRE spatial data service type: discovery | view | download | other
    operation: str  # the main operation (srv:operationName)
    iso_category: str  # INSPIRE classification of spatial data services (ISO 19119 service taxonomy)
    per_dataset: bool = True  # it publishes datasets (the catalog describes them instead)
    kinds: tuple[str, ...] = ("vector",)


@dataclass(frozen=True)
class Distribution:
    """One way to get a dataset: a file to download or a service that serves it."""

    key: str
    url: str
    name: str  # the link name in the ISO record (layer / file name)
    title_uk: str
    title_en: str
    protocol: str  # the ISO online-resource protocol
    function: str  # CI_OnLineFunctionCode: download | information
    media_type: str | None  # IANA media type (files and OGC API)
    file_type: str | None  # EU file-type authority code (GPKG, GEOJSON, CSV, SHP)
    format_label: str  # gmd:MD_Format name / rdfs:label of dct:format
    format_version: str | None = None
    service: str | None = None  # Service.kind when the distribution is served by one of the node's services


def node_services(cfg: NodeConfig, ep: Endpoints) -> list[Service]:
    """The node's services that have a record of their own, in the order of its publishers, the catalog last."""
    return [Service(kind=s.name, title=s.title, long_title=s.long_title, version=s.version, protocol=s.protocol,
                    endpoint=s.url(ep), capabilities=s.capabilities_url(ep), description=s.description_url(ep),
                    conforms_to=s.conforms_to,
                    inspire_type=s.service_type, operation=s.operation, iso_category=s.iso_category,
                    per_dataset=s.per_dataset, kinds=s.kinds)
            for s in declared.declared(cfg) if s.record]


def distributions(cfg: NodeConfig, ds: Dataset, layer: StoredLayer, ep: Endpoints) -> list[Distribution]:
    """Every distribution of one published dataset: its layer in each service that publishes it
    (``Dataset.services``, the kind of data it serves) and its files."""
    return [Distribution(key=d.key or d.service, url=d.url, name=d.name, title_uk=d.title_uk, title_en=d.title_en,
                         protocol=d.protocol, function=d.function, media_type=d.media_type, file_type=d.file_type,
                         format_label=d.format, format_version=d.format_version,
                         service=None if d.function == "download" and d.service == "downloads" else d.service)
            for d in declared.distributions(cfg, ds, layer, ep)]


def media_type_iri(media_type: str) -> str:
    """The IANA register's IRI of a media type; parameters (``; profile=…``) are not part of the register."""
    return IANA + media_type.split(";", 1)[0].strip()


def file_type_iri(code: str) -> str:
    return FILE_TYPE + code
