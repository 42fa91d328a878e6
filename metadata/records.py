"""ISO 19115 records, encoded as ISO 19139, for every dataset and service of a node — made with pygeometa.

The record is built as a pygeometa MCF (its neutral model) from the node config plus what the data says
(extent, feature count, lineage from the ingest report), and rendered by pygeometa's ISO 19139 schema.
Titles, abstracts and keywords are Ukrainian with English as the alternate language (PT_FreeText).

pygeometa 0.19 can only write MD_DataIdentification, so a service record is rendered as a dataset record
and its identification turned into ``srv:SV_ServiceIdentification`` with lxml (see :func:`_to_service`).

Identifiers are stable: ``<KATOTTH code>.<node id>.<dataset id>`` — readable, unique across the network
(the KATOTTH code is the territory's, the node id is unique inside it) and the same on every rebuild.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lxml import etree
from pygeometa.schemas.iso19139 import ISO19139OutputSchema

from geoportal.config import Access, Dataset, NodeConfig
from geoportal.errors import MetadataError
from geoportal.model import UKRAINE_BBOX, Endpoints, StoredLayer
from geoportal.ukrainian import DATASETS, counted
from metadata.inspire import GEMET_TITLE
from metadata.inspire_encode import Inspire, complete
from metadata.services import Service, distributions, node_services

LANG, ALT = "ukr", "eng"
NS = {
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gco": "http://www.isotc211.org/2005/gco",
    "srv": "http://www.isotc211.org/2005/srv",
    "gml": "http://www.opengis.net/gml",
    "xlink": "http://www.w3.org/1999/xlink",
}
INSPIRE_THEMES = {"name": {LANG: GEMET_TITLE, ALT: GEMET_TITLE}, "url": "http://inspire.ec.europa.eu/theme"}
LICENCES = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
    "CC-BY-IGO-3.0": "https://creativecommons.org/licenses/by/3.0/igo/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
}
GEOMTYPE = {"point": "point", "multipoint": "point", "linestring": "curve", "multilinestring": "curve",
            "polygon": "surface", "multipolygon": "surface"}


def record_id(cfg: NodeConfig, dataset_id: str) -> str:
    """The stable identifier of a dataset's (or ``service-<kind>``'s) record."""
    return f"{cfg.node.katotth}.{cfg.node.id}.{dataset_id}"


def _ml(uk: str, en: str) -> dict[str, str]:
    return {LANG: uk, ALT: en}


def _contact(cfg: NodeConfig, ep: Endpoints) -> dict[str, Any]:
    c = cfg.node.contact
    return {
        "organization": _ml(c.organisation.uk, c.organisation.en),
        "url": c.url or ep.base_url,
        "individualname": c.individual or "",
        "positionname": c.position or "",
        "phone": c.phone or "",
        "fax": "",
        "address": c.address or "",
        "city": c.city or "",
        "administrativearea": cfg.node.name.uk,
        "postalcode": "",
        "country": c.country,
        "email": c.email,
        "hoursofservice": "",
        "contactinstructions": "",
    }


def _date(s: str) -> str:
    return s[:10]


def _lineage(ds: Dataset, layer: StoredLayer) -> dict[str, str]:
    r = layer.report
    src = str(r.source or ds.source).rsplit("/", 1)[-1]
    parts_uk = [f"Джерело: {src} (sha256 {layer.checksum[:16]}…), завантажено {layer.loaded_at}, версія {layer.version}."]
    parts_en = [f"Source: {src} (sha256 {layer.checksum[:16]}…), loaded {layer.loaded_at}, version {layer.version}."]
    counts = {k: getattr(r, k) for k in ("features_read", "features_written", "geometries_repaired",
                                         "text_values_repaired", "features_rejected") if getattr(r, k)}
    if counts:
        parts_uk.append("Об’єктів прочитано/записано/виправлено геометрій/виправлено текстів/відхилено: "
                        + "/".join(str(counts.get(k, 0)) for k in ("features_read", "features_written",
                                                                   "geometries_repaired", "text_values_repaired",
                                                                   "features_rejected")) + ".")
        parts_en.append("Features read/written/geometries repaired/texts repaired/rejected: "
                        + "/".join(str(counts.get(k, 0)) for k in ("features_read", "features_written",
                                                                   "geometries_repaired", "text_values_repaired",
                                                                   "features_rejected")) + ".")
    crs = r.source_crs
    if crs:
        parts_uk.append(f"Система координат джерела: {crs}; збережено в {layer.crs}.")
        parts_en.append(f"Source coordinate system: {crs}; stored in {layer.crs}.")
    enc = r.encoding
    if enc:
        parts_uk.append(f"Кодування: {enc}.")
        parts_en.append(f"Encoding: {enc}.")
    return _ml(" ".join(parts_uk), " ".join(parts_en))


def _distribution(cfg: NodeConfig, ds: Dataset, layer: StoredLayer, ep: Endpoints) -> dict[str, Any]:
    """The record's online resources, from the one list of distributions (metadata.services)."""
    return {d.key: {"url": d.url, "type": d.protocol, "name": d.name, "description": _ml(d.title_uk, d.title_en),
                    "function": d.function} for d in distributions(cfg, ds, layer, ep)}


def _dataset_inspire(cfg: NodeConfig, ds: Dataset, layer: StoredLayer, ep: Endpoints) -> Inspire:
    public = ds.access == Access.public
    return Inspire(
        code=ds.id, codespace=f"{cfg.node.katotth}.{cfg.node.id}", access=ds.access.value,
        licence_name=ds.licence, licence_url=LICENCES.get(ds.licence, ""),
        use_text_uk=(f"Ліцензія {ds.licence}. {ds.attribution or ''}".strip() if public
                     else f"Доступ обмежено ({ds.access.value}). Ліцензія {ds.licence}."),
        use_text_en=(f"Licence {ds.licence}. {ds.attribution or ''}".strip() if public
                     else f"Restricted ({ds.access.value}). Licence {ds.licence}."),
        scale=ds.scale,
        formats=[(d.format_label, d.format_version) for d in distributions(cfg, ds, layer, ep)
                 if d.function == "download" and d.service is None and d.format_version])


def dataset_mcf(cfg: NodeConfig, ds: Dataset, layer: StoredLayer, ep: Endpoints) -> dict[str, Any]:
    """The pygeometa MCF of one dataset."""
    keywords: dict[str, Any] = {
        "default": {"keywords": {LANG: ds.keywords.uk or [ds.theme], ALT: ds.keywords.en or [ds.theme]},
                    "keywords_type": "theme"},
        "place": {"keywords": {LANG: [cfg.node.name.uk, cfg.node.katotth], ALT: [cfg.node.name.en, cfg.node.katotth]},
                  "keywords_type": "place"},
    }
    if ds.inspire_theme:
        keywords["inspire"] = {"keywords": {LANG: [ds.inspire_theme], ALT: [ds.inspire_theme]},
                               "keywords_type": "theme", "vocabulary": INSPIRE_THEMES}
    begin = ds.date or _date(layer.loaded_at)
    public = ds.access == Access.public
    lic_url = LICENCES.get(ds.licence, "")
    return {
        "mcf": {"version": "1.0"},
        "metadata": {
            "identifier": record_id(cfg, ds.id),
            "language": LANG,
            "language_alternate": ALT,
            "charset": "utf8",
            "hierarchylevel": "dataset",
            "datestamp": layer.loaded_at,
            "dataseturi": ep.collection(ds.id),
        },
        "spatial": ({"datatype": "grid"} if layer.kind == "raster" else
                    {"datatype": "vector", "geomtype": GEOMTYPE.get(layer.geometry_type.lower(), "complex")}),
        "identification": {
            "language": LANG,
            "charset": "utf8",
            "title": _ml(ds.title.uk, ds.title.en),
            "abstract": _ml(ds.abstract.uk, ds.abstract.en),
            "dates": {"creation": begin, "revision": _date(layer.loaded_at)},
            "keywords": keywords,
            "topiccategory": [ds.topic_category],
            "extents": {
                "spatial": [{"bbox": [round(b, 6) for b in layer.bbox], "crs": 4326,
                             "description": cfg.node.katotth}],
                "temporal": [{"begin": begin, "end": "now"}],
            },
            "fees": "None",
            "accessconstraints": "otherRestrictions",
            "license": {"name": ds.licence, "url": lic_url},
            "rights": _ml(
                ("Відкриті дані, без обмежень доступу. " if public else f"Доступ обмежено ({ds.access.value}). ")
                + (f"Ліцензія {ds.licence}. {ds.attribution or ''}".strip()),
                ("Open data, no limitations on public access. " if public else f"Restricted ({ds.access.value}). ")
                + (f"Licence {ds.licence}. {ds.attribution or ''}".strip())),
            "url": ep.collection(ds.id),
            "status": "onGoing",
            "maintenancefrequency": "asNeeded",
        },
        "contact": {"custodian": _contact(cfg, ep), "pointOfContact": _contact(cfg, ep),
                    "distributor": _contact(cfg, ep)},
        "distribution": _distribution(cfg, ds, layer, ep),
        "dataquality": {"scope": {"level": "dataset"}, "lineage": {"statement": _lineage(ds, layer)}},
    }


def _render(mcf: dict[str, Any]) -> bytes:
    return _serialise(_render_root(mcf))


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _render_root(mcf: dict[str, Any]) -> etree._Element:
    try:
        xml = ISO19139OutputSchema().write(mcf)
    except Exception as e:  # pygeometa raises plain exceptions on a bad MCF
        raise MetadataError(f"record {mcf['metadata']['identifier']}: pygeometa could not write it: {e}") from e
    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(remove_blank_text=True))
    _fix_geographic_description(root)
    _check_multilingual(root, mcf)
    return root


def _fix_geographic_description(root: etree._Element) -> None:
    """pygeometa 0.19 writes the territory code inside the bbox's geographicElement and without
    gmd:geographicIdentifier, which the ISO 19139 schema refuses: give it its own, valid element."""
    g = f"{{{NS['gmd']}}}"
    for desc in root.findall(".//gmd:geographicElement/gmd:EX_GeographicDescription", NS):
        holder = desc.getparent()
        holder.remove(desc)
        ident = desc.find("gmd:MD_Identifier", NS)
        if ident is not None:
            desc.remove(ident)
            wrapper = etree.SubElement(desc, g + "geographicIdentifier")
            wrapper.append(ident)
        new = etree.Element(g + "geographicElement")
        new.append(desc)
        holder.addnext(new)


def _check_multilingual(root: etree._Element, mcf: dict[str, Any]) -> None:
    """pygeometa drops a multilingual title silently when the language keys do not match: refuse that."""
    title = root.find(".//gmd:identificationInfo/*/gmd:citation/gmd:CI_Citation/gmd:title", NS)
    text = " ".join(title.itertext()) if title is not None else ""
    t = mcf["identification"]["title"]
    if t[LANG] not in text or t[ALT] not in text:
        raise MetadataError(f"record {mcf['metadata']['identifier']}: the Ukrainian or English title is missing "
                            "from the generated XML")


def dataset_record(cfg: NodeConfig, ds: Dataset, layer: StoredLayer, ep: Endpoints) -> bytes:
    """The ISO 19139 record (UTF-8 XML) of one dataset, completed with what INSPIRE requires."""
    root = _render_root(dataset_mcf(cfg, ds, layer, ep))
    complete(root, _dataset_inspire(cfg, ds, layer, ep))
    return _serialise(root)


def _union_bbox(layers: list[tuple[Dataset, StoredLayer]]) -> list[float]:
    if not layers:
        return list(UKRAINE_BBOX)
    bbs = [lyr.bbox for _, lyr in layers]
    return [round(min(b[0] for b in bbs), 6), round(min(b[1] for b in bbs), 6),
            round(max(b[2] for b in bbs), 6), round(max(b[3] for b in bbs), 6)]


def _service(cfg: NodeConfig, kind: str, ep: Endpoints) -> Service:
    offered = node_services(cfg, ep)
    for s in offered:
        if s.kind == kind:
            return s
    raise MetadataError(f"unknown service kind '{kind}' (known: {', '.join(s.kind for s in offered)})")


def _served_by(svc: Service, layers: list[tuple[Dataset, StoredLayer]]) -> list[tuple[Dataset, StoredLayer]]:
    """The datasets a service publishes (all of them for the catalog, which describes every one)."""
    if not svc.per_dataset:
        return layers
    return [(ds, lyr) for ds, lyr in layers if svc.kind in ds.services and lyr.kind in svc.kinds]


def service_mcf(cfg: NodeConfig, kind: str, ep: Endpoints, layers: list[tuple[Dataset, StoredLayer]]) -> dict[str, Any]:
    svc = _service(cfg, kind, ep)
    title_en, long_en, protocol = svc.title, svc.long_title, svc.protocol
    url = svc.capabilities  # landing page / capabilities
    layers = _served_by(svc, layers)
    now = max((lyr.loaded_at for _, lyr in layers), default=dt.datetime.now(dt.timezone.utc).isoformat())
    return {
        "mcf": {"version": "1.0"},
        "metadata": {"identifier": record_id(cfg, f"service-{kind}"), "language": LANG, "language_alternate": ALT,
                     "charset": "utf8", "hierarchylevel": "service", "datestamp": now, "dataseturi": url},
        "spatial": {"datatype": "vector", "geomtype": "complex"},
        "identification": {
            "language": LANG, "charset": "utf8",
            "title": _ml(f"{cfg.node.name.uk}: {title_en}", f"{cfg.node.name.en}: {title_en}"),
            "abstract": _ml(f"{long_en} вузла геопорталу «{cfg.node.name.uk}» ({counted(len(layers), *DATASETS)}).",
                            f"{long_en} of the geoportal node {cfg.node.name.en} ({len(layers)} datasets)."),
            "dates": {"publication": _date(now)},
            "keywords": {"default": {"keywords": {LANG: ["геопортал", "сервіс", kind.upper()],
                                                  ALT: ["geoportal", "service", kind.upper()]},
                                     "keywords_type": "theme"},
                         "place": {"keywords": {LANG: [cfg.node.name.uk, cfg.node.katotth],
                                                ALT: [cfg.node.name.en, cfg.node.katotth]},
                                   "keywords_type": "place"}},
            "topiccategory": ["boundaries"],
            "extents": {"spatial": [{"bbox": _union_bbox(layers), "crs": 4326, "description": cfg.node.katotth}],
                        "temporal": []},
            "fees": "None", "accessconstraints": "otherRestrictions",
            "license": {"name": "CC-BY-4.0", "url": LICENCES["CC-BY-4.0"]},
            "rights": _ml("Відкритий доступ.", "Open access."),
            "url": url, "status": "onGoing", "maintenancefrequency": "asNeeded",
        },
        "contact": {"custodian": _contact(cfg, ep), "pointOfContact": _contact(cfg, ep)},
        "distribution": {kind: {"url": url, "type": protocol, "name": kind,
                                "description": _ml(title_en, title_en), "function": "information"}},
    }


def _to_service(root: etree._Element, svc: Service, operates_on: list[str], ep: Endpoints) -> None:
    to_service_identification(root, svc, [(rid, ep.record(rid)) for rid in operates_on])


def to_service_identification(root: etree._Element, service: Service, operates_on: list[tuple[str, str]]) -> None:
    """Turn pygeometa's MD_DataIdentification into srv:SV_ServiceIdentification (ISO 19119 in 19139);
    ``operates_on`` is (record id, record URL) of each coupled dataset."""
    g, srv, gco = (f"{{{NS[p]}}}" for p in ("gmd", "srv", "gco"))
    info = root.find("gmd:identificationInfo", NS)
    data_id = info.find("gmd:MD_DataIdentification", NS)
    svc = etree.SubElement(info, srv + "SV_ServiceIdentification")
    keep = ("citation", "abstract", "purpose", "credit", "status", "pointOfContact", "resourceMaintenance",
            "graphicOverview", "resourceFormat", "descriptiveKeywords", "resourceSpecificUsage",
            "resourceConstraints", "aggregationInfo")
    extent = data_id.find("gmd:extent", NS)
    for name in keep:
        for el in data_id.findall(f"gmd:{name}", NS):
            svc.append(el)
    info.remove(data_id)
    st = etree.SubElement(svc, srv + "serviceType")
    etree.SubElement(st, gco + "LocalName").text = service.inspire_type
    stv = etree.SubElement(svc, srv + "serviceTypeVersion")
    etree.SubElement(stv, gco + "CharacterString").text = service.title
    if extent is not None:
        ext = etree.SubElement(svc, srv + "extent")
        for child in extent:
            ext.append(child)
    ct = etree.SubElement(svc, srv + "couplingType")
    etree.SubElement(ct, srv + "SV_CouplingType",
                     codeList="http://www.isotc211.org/2005/iso19119/resources/Codelist/gmxCodelists.xml#SV_CouplingType",
                     codeListValue="tight" if operates_on else "loose").text = "tight" if operates_on else "loose"
    co = etree.SubElement(svc, srv + "containsOperations")
    op = etree.SubElement(co, srv + "SV_OperationMetadata")
    on = etree.SubElement(op, srv + "operationName")
    etree.SubElement(on, gco + "CharacterString").text = service.operation
    dcp = etree.SubElement(op, srv + "DCP")
    etree.SubElement(dcp, srv + "DCPList",
                     codeList="http://www.isotc211.org/2005/iso19119/resources/Codelist/gmxCodelists.xml#DCPList",
                     codeListValue="WebServices").text = "WebServices"
    cp = etree.SubElement(op, srv + "connectPoint")
    res = etree.SubElement(cp, g + "CI_OnlineResource")
    link = etree.SubElement(res, g + "linkage")
    etree.SubElement(link, g + "URL").text = service.endpoint
    for rid, href in operates_on:
        etree.SubElement(svc, srv + "operatesOn", uuidref=rid, attrib={f"{{{NS['xlink']}}}href": href})


def service_record(cfg: NodeConfig, kind: str, ep: Endpoints, layers: list[tuple[Dataset, StoredLayer]]) -> bytes:
    """The ISO 19139 service record of one of the node's declared services (ogcapi, wms, wfs, csw, …)."""
    svc = _service(cfg, kind, ep)
    mcf = service_mcf(cfg, kind, ep, layers)
    root = _render_root(mcf)
    operates_on = [record_id(cfg, ds.id) for ds, _ in _served_by(svc, layers)] if svc.per_dataset else []
    _to_service(root, svc, operates_on, ep)
    complete(root, Inspire(access="public", licence_name="CC-BY-4.0", licence_url=LICENCES["CC-BY-4.0"],
                           use_text_uk="Відкритий доступ.", use_text_en="Open access.",
                           service_category=svc.iso_category, service_type=svc.inspire_type))
    return _serialise(root)


def restamp(new: bytes, previous: bytes | None) -> bytes:
    """Keep a record's dateStamp honest: the previous record when nothing but the stamp differs, else the new
    record stamped now. Harvesters take only what changed by this stamp (dct:modified in CSW)."""
    if previous is None:
        return new
    ds = "{%s}dateStamp" % NS["gmd"]

    def body(xml: bytes) -> bytes:
        root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True, resolve_entities=False,
                                                     no_network=True))
        for el in root.findall(ds):
            root.remove(el)
        return etree.tostring(root, method="c14n")

    try:
        if body(new) == body(previous):
            return previous
    except etree.XMLSyntaxError:
        pass
    root = etree.fromstring(new, etree.XMLParser(remove_blank_text=True))
    stamp = root.find(f"{ds}/{{{NS['gco']}}}DateTime")
    if stamp is not None:
        stamp.text = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
