"""ISO 19139 service records for external OGC services a node registers (``remote_services`` in its
config), made from what their capabilities say — so a user finds them in the node's catalog beside the
node's own services. The record says where it came from: the remote URL is its resource locator, the
abstract names the node that registered it, and the catalog keeps the URL as the record's origin.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from geoportal.config import NodeConfig
from metadata.records import LANG, ALT, _ml, _render_root, _serialise, to_service_identification
from metadata.services import Service

KINDS = {  # kind → (title prefix, service type, operation, protocol, conformance IRI, ISO 19119 category)
    "wms": ("WMS", "view", "GetMap", "OGC:WMS", "http://www.opengis.net/def/serviceType/ogc/wms",
            "infoMapAccessService"),
    "wfs": ("WFS", "download", "GetFeature", "OGC:WFS", "http://www.opengis.net/def/serviceType/ogc/wfs",
            "infoFeatureAccessService"),
    "ogcapi": ("OGC API - Features", "download", "items", "OGC API - Features",
               "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core", "infoFeatureAccessService"),
}


@dataclass
class RemoteServiceInfo:
    """What a remote service's capabilities say about it."""

    kind: str
    url: str
    title: str
    abstract: str = ""
    version: str = ""
    provider: str = ""
    email: str = ""
    keywords: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None  # lon/lat


def remote_record_id(cfg: NodeConfig, service_id: str) -> str:
    """Stable: the registering node's namespace plus the id it gave the service."""
    return f"{cfg.node.katotth}.{cfg.node.id}.remote-{service_id}"


def capabilities_stamp(content: bytes) -> str:
    """A change stamp of a capabilities document (remotes seldom give a usable update sequence)."""
    return hashlib.sha256(content).hexdigest()[:16]


def remote_service_record(cfg: NodeConfig, service_id: str, info: RemoteServiceInfo) -> bytes:
    prefix, stype, operation, protocol, _, category = KINDS[info.kind]
    rid = remote_record_id(cfg, service_id)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    bbox = list(info.bbox) if info.bbox else [22.0, 44.0, 40.5, 52.5]
    provider = info.provider or info.url.split("/")[2]
    note_uk = f"Зовнішній сервіс ({info.url}), зареєстрований вузлом «{cfg.node.name.uk}»."
    note_en = f"External service ({info.url}) registered by the node {cfg.node.name.en}."
    contact = {"organization": _ml(provider, provider), "url": info.url, "individualname": "", "positionname": "",
               "phone": "", "fax": "", "address": "", "city": "", "administrativearea": "", "postalcode": "",
               "country": "", "email": info.email or cfg.node.contact.email, "hoursofservice": "",
               "contactinstructions": ""}
    mcf = {
        "mcf": {"version": "1.0"},
        "metadata": {"identifier": rid, "language": LANG, "language_alternate": ALT, "charset": "utf8",
                     "hierarchylevel": "service", "datestamp": now, "dataseturi": info.url},
        "spatial": {"datatype": "vector", "geomtype": "complex"},
        "identification": {
            "language": LANG, "charset": "utf8",
            "title": _ml(info.title or f"{prefix} {info.url}", info.title or f"{prefix} {info.url}"),
            "abstract": _ml(f"{info.abstract} {note_uk}".strip(), f"{info.abstract} {note_en}".strip()),
            "dates": {"revision": now[:10]},
            "keywords": {"default": {"keywords": {LANG: info.keywords or [prefix], ALT: info.keywords or [prefix]},
                                     "keywords_type": "theme"}},
            "topiccategory": ["boundaries"],
            "extents": {"spatial": [{"bbox": bbox, "crs": 4326}], "temporal": []},
            "fees": "None", "accessconstraints": "otherRestrictions", "rights": _ml(note_uk, note_en),
            "url": info.url, "status": "onGoing", "maintenancefrequency": "asNeeded",
        },
        "contact": {"pointOfContact": contact, "custodian": contact},
        "distribution": {info.kind: {"url": info.url, "type": protocol, "name": info.kind,
                                     "description": _ml(prefix, prefix), "function": "information"}},
    }
    root = _render_root(mcf)
    svc = Service(kind=info.kind, title=f"{prefix} {info.version}".strip(), long_title=prefix, version=info.version,
                  protocol=protocol, endpoint=info.url, capabilities=info.url, description=info.url,
                  conforms_to=KINDS[info.kind][4], inspire_type=stype, operation=operation, iso_category=category)
    to_service_identification(root, svc, [])
    return _serialise(root)
