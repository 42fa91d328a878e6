"""DCAT-AP 3.0 catalog of a node, as JSON-LD: what a CKAN portal (ckanext-dcat's RDF harvester with the
``euro_dcat_ap`` profiles, e.g. the national open-data portal data.gov.ua) reads to list the node's open
datasets, valid against the DCAT-AP 3.0.0 SHACL shapes (checked in tests/metadata/test_dcat.py).

The graph, and why it is shaped so:

- every resource has its own IRI: the catalog is ``<base>/dcat.jsonld``, a dataset ``…/dcat.jsonld#<id>``,
  a distribution ``…#<id>/<kind>``, a service ``…#service-<kind>`` — a dataset is never one of its own
  distributions (that merged their titles into one node with three titles);
- the node's APIs are ``dcat:DataService`` s (endpoint URL, endpoint description, the datasets they serve),
  and each service distribution points to its service with ``dcat:accessService``;
- formats and media types are IRIs of the EU file-type authority list and of IANA, typed as DCAT-AP's range
  shapes require (``dct:MediaTypeOrExtent``, ``dct:MediaType``); the format node is also a ``dct:IMT`` with
  ``rdf:value``/``rdfs:label``, which is how ckanext-dcat reads a format's media type and label;
- themes: the EU data theme (DCAT-AP's mandatory vocabulary for data.europa.eu) from the ISO topic category,
  and the INSPIRE theme IRI (GeoDCAT-AP), both ``skos:Concept`` s in their schemes;
- the licence is on each distribution (where DCAT-AP puts it, and where ckanext-dcat takes the CKAN licence
  from); publisher, contact point and landing page are typed (``foaf:Agent``, ``vcard:Kind``,
  ``foaf:Document``) so the shapes' class constraints hold without inference.
"""

from __future__ import annotations

from typing import Any

from shapely import box

from geoportal.config import Dataset, NodeConfig
from geoportal.model import Endpoints, StoredLayer
from metadata.inspire import INSPIRE_THEME_SCHEME, inspire_theme_iri
from metadata.records import LICENCES, record_id
from metadata.services import Distribution, file_type_iri, media_type_iri, node_services, distributions

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "locn": "http://www.w3.org/ns/locn#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "adms": "http://www.w3.org/ns/adms#",
    "dcatap": "http://data.europa.eu/r5r/",
}
DATA_THEME = "http://publications.europa.eu/resource/authority/data-theme/"
#: ISO 19115 topic category → EU data theme (the GeoDCAT-AP alignment)
TOPIC_TO_THEME = {
    "farming": "AGRI", "biota": "ENVI", "boundaries": "REGI", "climatologyMeteorologyAtmosphere": "ENVI",
    "economy": "ECON", "elevation": "ENVI", "environment": "ENVI", "geoscientificInformation": "TECH",
    "health": "HEAL", "imageryBaseMapsEarthCover": "ENVI", "intelligenceMilitary": "JUST",
    "inlandWaters": "ENVI", "location": "REGI", "oceans": "ENVI", "planningCadastre": "REGI",
    "society": "SOCI", "structure": "REGI", "transportation": "TRAN", "utilitiesCommunication": "ENER",
}
THEME_LABELS = {"AGRI": "Agriculture, fisheries, forestry and food", "ECON": "Economy and finance",
                "EDUC": "Education, culture and sport", "ENER": "Energy", "ENVI": "Environment",
                "GOVE": "Government and public sector", "HEAL": "Health", "INTR": "International issues",
                "JUST": "Justice, legal system and public safety", "REGI": "Regions and cities",
                "SOCI": "Population and society", "TECH": "Science and technology", "TRAN": "Transport"}
LANGUAGE = "http://publications.europa.eu/resource/authority/language/"
STABLE = "http://publications.europa.eu/resource/authority/planned-availability/STABLE"
ATTRIBUTION = "http://purl.org/adms/licencetype/Attribution"
PUBLISHER_TYPE = {"hromada": "LocalAuthority", "raion": "RegionalAuthority", "oblast": "RegionalAuthority"}
ACCESS_RIGHT = "http://publications.europa.eu/resource/authority/access-right/"


def _lit(uk: str, en: str) -> list[dict[str, str]]:
    return [{"@value": uk, "@language": "uk"}, {"@value": en, "@language": "en"}]


def _doc(url: str) -> dict[str, Any]:
    return {"@id": url, "@type": "foaf:Document"}


def _agent(cfg: NodeConfig, ep: Endpoints) -> dict[str, Any]:
    c = cfg.node.contact
    kind = PUBLISHER_TYPE.get(cfg.node.level.value, "RegionalAuthority")
    return {"@id": c.url or ep.base_url, "@type": ["foaf:Agent", "foaf:Organization"],
            "foaf:name": _lit(c.organisation.uk, c.organisation.en),
            "foaf:mbox": {"@id": f"mailto:{c.email}"},
            "dct:type": {"@id": f"http://purl.org/adms/publishertype/{kind}", "@type": "skos:Concept",
                         "skos:prefLabel": {"@value": kind, "@language": "en"}}}


def _theme(code: str) -> dict[str, Any]:
    return {"@id": DATA_THEME + code, "@type": "skos:Concept", "skos:inScheme": {"@id": DATA_THEME[:-1]},
            "skos:prefLabel": {"@value": THEME_LABELS[code], "@language": "en"}}


def _location(cfg: NodeConfig, bbox: tuple[float, float, float, float] | None) -> dict[str, Any]:
    loc: dict[str, Any] = {"@type": "dct:Location", "dct:identifier": cfg.node.katotth}
    if bbox is not None:
        b = box(*bbox)
        wkt = {"@value": b.wkt, "@type": "gsp:wktLiteral"}
        loc.update({"locn:geometry": wkt, "dcat:bbox": wkt,
                    "dcat:centroid": {"@value": b.centroid.wkt, "@type": "gsp:wktLiteral"}})
    return loc


def _contact(cfg: NodeConfig) -> dict[str, Any]:
    c = cfg.node.contact
    return {"@type": ["vcard:Kind", "vcard:Organization"], "vcard:fn": c.organisation.uk,
            "vcard:hasEmail": {"@id": f"mailto:{c.email}"}}


def _languages() -> list[dict[str, Any]]:
    return [{"@id": LANGUAGE + code, "@type": "dct:LinguisticSystem"} for code in ("UKR", "ENG")]


def _licence(ds: Dataset) -> dict[str, Any] | None:
    url = LICENCES.get(ds.licence)
    return _licence_doc(url, ds.licence) if url else None


def _licence_doc(url: str, name: str) -> dict[str, Any]:
    return {"@id": url, "@type": "dct:LicenseDocument", "rdfs:label": name,
            "dct:type": {"@id": ATTRIBUTION, "@type": "skos:Concept",
                         "skos:prefLabel": {"@value": "Attribution", "@language": "en"}}}


def _themes(ds: Dataset) -> list[dict[str, Any]]:
    code = TOPIC_TO_THEME.get(ds.topic_category, "REGI")
    out = [_theme(code)]
    if ds.inspire_theme and inspire_theme_iri(ds.inspire_theme):
        out.append({"@id": inspire_theme_iri(ds.inspire_theme), "@type": "skos:Concept",
                    "skos:prefLabel": {"@value": ds.inspire_theme, "@language": "en"},
                    "skos:inScheme": {"@id": INSPIRE_THEME_SCHEME}})
    return out


def _distribution(ds: Dataset, d: Distribution, catalog: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@id": f"{catalog}#{ds.id}/{d.key}", "@type": "dcat:Distribution",
        "dct:title": _lit(d.title_uk, d.title_en),
        "dct:description": _lit(f"{ds.title.uk}: {d.title_uk}", f"{ds.title.en}: {d.title_en}"),
        "dcat:accessURL": {"@id": d.url},
        "dct:identifier": d.name,  # the layer / feature type / file a client asks the service for (gp:roads)
        "dcatap:availability": {"@id": STABLE, "@type": "skos:Concept",
                                "skos:prefLabel": {"@value": "stable", "@language": "en"}},
    }
    if d.service is None:
        out["dcat:downloadURL"] = {"@id": d.url}
    else:
        out["dcat:accessService"] = {"@id": f"{catalog}#service-{d.service}"}
    if d.media_type:
        out["dcat:mediaType"] = {"@id": media_type_iri(d.media_type), "@type": "dct:MediaType"}
    if d.file_type:
        out["dct:format"] = {"@id": file_type_iri(d.file_type), "@type": ["dct:MediaTypeOrExtent", "dct:IMT"],
                             "rdfs:label": d.format_label, "rdf:value": d.media_type or d.format_label}
    licence = _licence(ds)
    if licence:
        out["dct:license"] = licence
    return out


def _dataset(cfg: NodeConfig, ds: Dataset, layer: StoredLayer, ep: Endpoints, catalog: str) -> dict[str, Any]:
    rid = record_id(cfg, ds.id)
    out: dict[str, Any] = {
        "@id": f"{catalog}#{ds.id}",
        "@type": "dcat:Dataset",
        "dct:identifier": rid,
        "dct:title": _lit(ds.title.uk, ds.title.en),
        "dct:description": _lit(ds.abstract.uk, ds.abstract.en),
        "dcat:keyword": ([{"@value": k, "@language": "uk"} for k in ds.keywords.uk]
                         + [{"@value": k, "@language": "en"} for k in ds.keywords.en]),
        "dcat:theme": _themes(ds),
        "dct:language": _languages(),
        "dct:issued": {"@value": (ds.date or layer.loaded_at)[:10], "@type": "xsd:date"},
        "dct:modified": {"@value": layer.loaded_at, "@type": "xsd:dateTime"},
        "dct:spatial": _location(cfg, layer.bbox),
        "dct:temporal": {"@type": "dct:PeriodOfTime",
                         "dcat:startDate": {"@value": (ds.date or layer.loaded_at)[:10], "@type": "xsd:date"}},
        "dct:publisher": _agent(cfg, ep),
        "dcat:contactPoint": _contact(cfg),
        "dct:accessRights": {"@id": ACCESS_RIGHT + "PUBLIC", "@type": "dct:RightsStatement"},
        "dcat:landingPage": _doc(f"{ep.base_url}/#{ds.id}"),
        "foaf:page": _doc(ep.record(rid)),
        "adms:identifier": {"@type": "adms:Identifier", "skos:notation": rid},
        "dcat:distribution": [_distribution(ds, d, catalog) for d in distributions(cfg, ds, layer, ep)],
    }
    return out


def _services(cfg: NodeConfig, ep: Endpoints, catalog: str, served: list[Dataset]) -> list[dict[str, Any]]:
    out = []
    for s in node_services(cfg, ep):
        svc: dict[str, Any] = {
            "@id": f"{catalog}#service-{s.kind}", "@type": "dcat:DataService",
            "dct:identifier": record_id(cfg, f"service-{s.kind}"),
            "dct:title": _lit(f"{cfg.node.name.uk}: {s.title}", f"{cfg.node.name.en}: {s.title}"),
            "dct:description": _lit(f"{s.long_title} вузла геопорталу «{cfg.node.name.uk}».",
                                    f"{s.long_title} of the geoportal node {cfg.node.name.en}."),
            "dcat:endpointURL": {"@id": s.endpoint},
            "dcat:endpointDescription": {"@id": s.description, "@type": "rdfs:Resource"},
            "dct:conformsTo": {"@id": s.conforms_to, "@type": "dct:Standard"},
            "dct:publisher": _agent(cfg, ep),
            "dcat:contactPoint": _contact(cfg),
            "dcat:theme": _theme("REGI"),
            "dcat:keyword": [{"@value": "геопортал", "@language": "uk"}, {"@value": "geoportal", "@language": "en"},
                             {"@value": s.kind.upper(), "@language": "en"}],
            "dct:accessRights": {"@id": ACCESS_RIGHT + "PUBLIC", "@type": "dct:RightsStatement"},
            "dct:license": _licence_doc(LICENCES["CC-BY-4.0"], "CC-BY-4.0"),
            "foaf:page": _doc(ep.record(record_id(cfg, f"service-{s.kind}"))),
        }
        if s.per_dataset:
            svc["dcat:servesDataset"] = [{"@id": f"{catalog}#{ds.id}"} for ds in served if s.kind in ds.services]
        out.append(svc)
    return out


def _union(items: list[tuple[Dataset, StoredLayer]]) -> tuple[float, float, float, float] | None:
    if not items:
        return None
    bbs = [layer.bbox for _, layer in items]
    return (min(b[0] for b in bbs), min(b[1] for b in bbs), max(b[2] for b in bbs), max(b[3] for b in bbs))


def dcat_catalog(cfg: NodeConfig, items: list[tuple[Dataset, StoredLayer]], ep: Endpoints) -> dict[str, Any]:
    """The node's DCAT-AP catalog (JSON-LD) of its public datasets and its data services."""
    catalog = f"{ep.base_url}/dcat.jsonld"
    modified = max((layer.loaded_at for _, layer in items), default=None)
    out: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": catalog,
        "@type": "dcat:Catalog",
        "dct:title": _lit(f"Геопортал: {cfg.node.name.uk}", f"Geoportal: {cfg.node.name.en}"),
        "dct:description": _lit(cfg.node.description.uk if cfg.node.description else cfg.node.name.uk,
                                cfg.node.description.en if cfg.node.description else cfg.node.name.en),
        "dct:language": _languages(),
        "foaf:homepage": _doc(f"{ep.base_url}/"),
        "dct:publisher": _agent(cfg, ep),
        "dcat:themeTaxonomy": {"@id": DATA_THEME[:-1], "@type": "skos:ConceptScheme",
                               "dct:title": {"@value": "Data theme", "@language": "en"}},
        "dct:license": _licence_doc(LICENCES["CC-BY-4.0"], "CC-BY-4.0"),
        "dct:spatial": _location(cfg, _union(items)),
        "dcat:dataset": [_dataset(cfg, ds, layer, ep, catalog) for ds, layer in items],
        "dcat:service": _services(cfg, ep, catalog, [ds for ds, _ in items]),
    }
    if modified:
        out["dct:modified"] = {"@value": modified, "@type": "xsd:dateTime"}
        out["dct:issued"] = {"@value": min(layer.loaded_at for _, layer in items)[:10], "@type": "xsd:date"}
    return out


def dcat_restricted(cfg: NodeConfig, items: list[tuple[Dataset, StoredLayer]], ep: Endpoints) -> dict[str, Any]:
    """The DCAT entries of the node's non-public datasets, each twice — in full, and without anything that
    leads to the data (no distributions, no landing page) — keyed by the dataset's key
    ``<node id>/<dataset id>``: the node serves each caller the one its policy allows, or none
    (:mod:`metadata.dcat_serve`)."""
    catalog = f"{ep.base_url}/dcat.jsonld"
    out: dict[str, Any] = {}
    for ds, layer in items:
        full = _dataset(cfg, ds, layer, ep, catalog)
        full["dct:accessRights"] = {"@id": ACCESS_RIGHT + "RESTRICTED", "@type": "dct:RightsStatement"}
        meta = {k: v for k, v in full.items() if k not in ("dcat:distribution", "dcat:landingPage")}
        out[f"{cfg.node.id}/{ds.id}"] = {"id": ds.id, "full": full, "metadata": meta}
    return out
