"""DCAT-AP catalog of a node, as JSON-LD: what a CKAN portal (ckanext-dcat's harvester, e.g. the national
open-data portal data.gov.ua) reads to list the node's open datasets.

One ``dcat:Dataset`` per public dataset with Ukrainian and English literals, keywords, the ISO record
identifier, spatial extent (WKT and the KATOTTH code), licence, and a ``dcat:Distribution`` per download
and service, each with its media type.
"""

from __future__ import annotations

from typing import Any

from shapely import box

from geoportal.config import Dataset, NodeConfig
from geoportal.links import wfs_typename, wms_layer
from geoportal.model import Endpoints, StoredLayer
from metadata.records import LICENCES, record_id

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "locn": "http://www.w3.org/ns/locn#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
}
DOWNLOADS = {
    "gpkg": ("application/geopackage+sqlite3", "GeoPackage"),
    "geojson": ("application/geo+json", "GeoJSON"),
    "csv": ("text/csv", "CSV"),
    "shp.zip": ("application/zip", "Shapefile (zip)"),
}


def _lit(uk: str, en: str) -> list[dict[str, str]]:
    return [{"@value": uk, "@language": "uk"}, {"@value": en, "@language": "en"}]


def _dataset(cfg: NodeConfig, ds: Dataset, layer: StoredLayer, ep: Endpoints) -> dict[str, Any]:
    rid = record_id(cfg, ds.id)
    dists = [{
        "@id": ep.download(ds.id, fmt), "@type": "dcat:Distribution",
        "dct:title": title, "dcat:downloadURL": {"@id": ep.download(ds.id, fmt)},
        "dcat:accessURL": {"@id": ep.download(ds.id, fmt)}, "dcat:mediaType": media,
        "dct:format": title,
    } for fmt, (media, title) in DOWNLOADS.items()]
    dists += [
        {"@id": ep.collection(ds.id), "@type": "dcat:Distribution", "dct:title": "OGC API Features",
         "dcat:accessURL": {"@id": ep.collection(ds.id)}, "dcat:mediaType": "application/geo+json",
         "dct:conformsTo": {"@id": "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"}},
    ]
    wms, wfs = wms_layer(ds), wfs_typename(ds)  # only the services that publish the dataset
    if wms:
        dists.append({"@id": f"{ep.wms}#{wms}", "@type": "dcat:Distribution", "dct:title": f"WMS ({wms})",
                      "dcat:accessURL": {"@id": ep.wms}, "dct:format": "WMS",
                      "dct:conformsTo": {"@id": "http://www.opengis.net/def/serviceType/ogc/wms"}})
    if wfs:
        dists.append({"@id": f"{ep.wfs}#{wfs}", "@type": "dcat:Distribution", "dct:title": f"WFS ({wfs})",
                      "dcat:accessURL": {"@id": ep.wfs}, "dct:format": "WFS",
                      "dct:conformsTo": {"@id": "http://www.opengis.net/def/serviceType/ogc/wfs"}})
    out: dict[str, Any] = {
        "@id": ep.collection(ds.id),
        "@type": "dcat:Dataset",
        "dct:identifier": rid,
        "dct:title": _lit(ds.title.uk, ds.title.en),
        "dct:description": _lit(ds.abstract.uk, ds.abstract.en),
        "dcat:keyword": ([{"@value": k, "@language": "uk"} for k in ds.keywords.uk]
                         + [{"@value": k, "@language": "en"} for k in ds.keywords.en]),
        "dct:issued": {"@value": layer.loaded_at[:10], "@type": "xsd:date"},
        "dct:modified": {"@value": layer.loaded_at, "@type": "xsd:dateTime"},
        "dct:spatial": {"@type": "dct:Location", "locn:geometry": {
            "@value": box(*layer.bbox).wkt, "@type": "gsp:wktLiteral"},
            "dct:identifier": cfg.node.katotth},
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": _lit(cfg.node.contact.organisation.uk,
                                                                           cfg.node.contact.organisation.en)},
        "dcat:contactPoint": {"@type": "vcard:Organization", "vcard:fn": cfg.node.contact.organisation.uk,
                              "vcard:hasEmail": {"@id": f"mailto:{cfg.node.contact.email}"}},
        "dcat:landingPage": {"@id": f"{ep.base_url}/#{ds.id}"},
        "foaf:page": {"@id": ep.record(rid)},
        "dcat:distribution": dists,
    }
    if ds.licence in LICENCES:
        out["dct:license"] = {"@id": LICENCES[ds.licence]}
    return out


def dcat_catalog(cfg: NodeConfig, items: list[tuple[Dataset, StoredLayer]], ep: Endpoints) -> dict[str, Any]:
    """The node's DCAT catalog (JSON-LD) of its public datasets."""
    return {
        "@context": CONTEXT,
        "@id": f"{ep.base_url}/dcat.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": _lit(f"Геопортал: {cfg.node.name.uk}", f"Geoportal: {cfg.node.name.en}"),
        "dct:description": _lit(cfg.node.description.uk if cfg.node.description else cfg.node.name.uk,
                                cfg.node.description.en if cfg.node.description else cfg.node.name.en),
        "dct:language": [{"@id": "http://publications.europa.eu/resource/authority/language/UKR"},
                         {"@id": "http://publications.europa.eu/resource/authority/language/ENG"}],
        "foaf:homepage": {"@id": f"{ep.base_url}/"},
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": _lit(cfg.node.contact.organisation.uk,
                                                                           cfg.node.contact.organisation.en)},
        "dcat:dataset": [_dataset(cfg, ds, layer, ep) for ds, layer in items],
    }
