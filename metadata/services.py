"""What a node offers for each dataset — its services and the distributions of a dataset — in ONE place.

The ISO 19139 records (:mod:`metadata.records`), the DCAT-AP catalog (:mod:`metadata.dcat`) and the
catalog links all describe the same services and downloads; they take them from :func:`node_services` and
:func:`distributions` so the three never disagree. The publishers will declare their services themselves
later; these two functions are the single point that will then be fed from those declarations.

Titles contain no commas: pycsw 2.6 stores a record's links as one comma-separated string
(``name,description,protocol,url^…``) and splits it back on every comma, so "Shapefile (zip, UTF-8)" would
come out of CSW Dublin Core and OGC API Records as a broken title.
"""

from __future__ import annotations

from dataclasses import dataclass

from geoportal.model import Endpoints

IANA = "https://www.iana.org/assignments/media-types/"
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"


@dataclass(frozen=True)
class Service:
    """One network service of the node (ISO 19119 / dcat:DataService)."""

    kind: str  # "ogcapi" | "wms" | "wfs" | "csw"
    title: str  # short, e.g. "WMS 1.3.0"
    long_title: str  # e.g. "Web Map Service"
    version: str
    protocol: str  # the ISO online-resource protocol (OGC:WMS, …)
    endpoint: str  # dcat:endpointURL / srv:connectPoint
    description: str  # capabilities or OpenAPI document (dcat:endpointDescription)
    conforms_to: str  # the standard's IRI
    inspire_type: str  # INSPIRE spatial data service type: discovery | view | download | other
    operation: str  # the main operation (srv:operationName)
    iso_category: str  # INSPIRE classification of spatial data services (ISO 19119 service taxonomy)


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
    service: str | None = None  # Service.kind when the distribution is served by one of the node's services


def node_services(ep: Endpoints) -> list[Service]:
    """The node's services, in the order their records are written."""
    return [
        Service("ogcapi", "OGC API - Features", "OGC API Features", "1.0", "OGC API - Features", ep.ogcapi,
                f"{ep.ogcapi}/openapi?f=json", "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
                "download", "items", "infoFeatureAccessService"),
        Service("wms", "WMS 1.3.0", "Web Map Service", "1.3.0", "OGC:WMS", ep.ows, ep.wms,
                "http://www.opengis.net/def/serviceType/ogc/wms", "view", "GetMap", "infoMapAccessService"),
        Service("wfs", "WFS 2.0.0", "Web Feature Service", "2.0.0", "OGC:WFS", ep.ows, ep.wfs,
                "http://www.opengis.net/def/serviceType/ogc/wfs", "download", "GetFeature",
                "infoFeatureAccessService"),
        Service("csw", "CSW 2.0.2", "Catalogue Service for the Web", "2.0.2", "OGC:CSW", ep.csw,
                f"{ep.csw}?service=CSW&version=2.0.2&request=GetCapabilities",
                "http://www.opengis.net/def/serviceType/ogc/csw", "discovery", "GetRecords",
                "infoCatalogueService"),
    ]


DEFAULT_PUBLICATION = ("ogcapi", "wms", "wfs", "downloads")
#: (format name, version) of each file distribution, for gmd:distributionFormat
FORMAT_VERSIONS = {"gpkg": ("GeoPackage", "1.3"), "geojson": ("GeoJSON", "RFC 7946"), "csv": ("CSV", "RFC 4180"),
                   "shp": ("ESRI Shapefile", "1998")}


def distributions(dataset_id: str, ep: Endpoints,
                  published_by: tuple[str, ...] | list[str] = DEFAULT_PUBLICATION) -> list[Distribution]:
    """Every distribution of one published dataset: its layer in each service that publishes it
    (``Dataset.services``) and, when ``downloads`` is among them, its files."""
    d = dataset_id
    every = [
        Distribution("ogcapi", ep.collection(d), d, "Колекція OGC API Features", "OGC API Features collection",
                     "OGC API - Features", "information", "application/geo+json", "GEOJSON", "GeoJSON",
                     service="ogcapi"),
        Distribution("wms", ep.ows, d, "Шар WMS 1.3.0", "WMS 1.3.0 layer", "OGC:WMS", "information",
                     "image/png", "PNG", "PNG", service="wms"),
        Distribution("wfs", ep.ows, d, "Тип об'єктів WFS 2.0", "WFS 2.0 feature type", "OGC:WFS", "download",
                     "application/gml+xml", "GML", "GML", service="wfs"),
        Distribution("gpkg", ep.download(d, "gpkg"), f"{d}.gpkg", "GeoPackage зі стилем і метаданими",
                     "GeoPackage with style and metadata", "WWW:DOWNLOAD-1.0-http--download", "download",
                     "application/geopackage+sqlite3", "GPKG", "GeoPackage"),
        Distribution("geojson", ep.download(d, "geojson"), f"{d}.geojson", "GeoJSON", "GeoJSON",
                     "WWW:DOWNLOAD-1.0-http--download", "download", "application/geo+json", "GEOJSON", "GeoJSON"),
        Distribution("csv", ep.download(d, "csv"), f"{d}.csv", "CSV з геометрією WKT", "CSV with WKT geometry",
                     "WWW:DOWNLOAD-1.0-http--download", "download", "text/csv", "CSV", "CSV"),
        Distribution("shp", ep.download(d, "shp.zip"), f"{d}.shp.zip", "Shapefile у zip (UTF-8)",
                     "Shapefile in zip (UTF-8)", "WWW:DOWNLOAD-1.0-http--download", "download",
                     "application/zip", "SHP", "ESRI Shapefile"),
    ]
    return [x for x in every if (x.service or "downloads") in published_by]


def media_type_iri(media_type: str) -> str:
    return IANA + media_type


def file_type_iri(code: str) -> str:
    return FILE_TYPE + code
