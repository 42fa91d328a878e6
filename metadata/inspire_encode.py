"""What pygeometa 0.19 cannot write and the INSPIRE metadata Technical Guidelines (TG Metadata 2.0.1, ISO
19139 encoding) require, added to its output with lxml — one function per element, each inserting at the
position the ISO 19139 schema orders it, so the record stays valid against the XSDs.

- metadata point of contact with role ``pointOfContact`` (pygeometa writes its ``custodian``), the data
  holder kept as a ``custodian`` responsible party of the resource (NSDI: «держатель даних»);
- the English locale declared with the id the translations point to (``#eng``; pygeometa writes
  ``locale-fr``) and no repeated ``id`` attributes on contacts (invalid xs:ID in a CSW response);
- the unique resource identifier (code + namespace), the GEMET thesaurus with its date, limitations on
  public access as an Anchor into the INSPIRE code list, conditions for access and use, the spatial
  resolution, distribution formats, a conformity statement (Regulation 1089/2010 for data, 976/2009 for
  services) and, for services, the spatial data service category keyword and INSPIRE service type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from metadata.inspire import (
    ACCESS_GROUNDS,
    GEMET_DATE,
    GEMET_TITLE,
    INTEROPERABILITY_REGULATION,
    INTEROPERABILITY_REGULATION_DATE,
    LIMITATIONS_ON_PUBLIC_ACCESS,
    NETWORK_SERVICES_REGULATION,
    NETWORK_SERVICES_REGULATION_DATE,
    SPATIAL_DATA_SERVICE_CATEGORY,
)

NS = {
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gco": "http://www.isotc211.org/2005/gco",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "srv": "http://www.isotc211.org/2005/srv",
    "xlink": "http://www.w3.org/1999/xlink",
}
G, GCO, GMX, XLINK = (f"{{{NS[p]}}}" for p in ("gmd", "gco", "gmx", "xlink"))
ISO_CODELISTS = "http://www.isotc211.org/2005/resources/Codelist/gmxCodelists.xml"
#: element order inside MD_DataIdentification / SV_ServiceIdentification (ISO 19139 gmd.xsd, srv.xsd)
IDENT_ORDER = ("citation", "abstract", "purpose", "credit", "status", "pointOfContact", "resourceMaintenance",
               "graphicOverview", "resourceFormat", "descriptiveKeywords", "resourceSpecificUsage",
               "resourceConstraints", "aggregationInfo", "spatialRepresentationType", "spatialResolution",
               "language", "characterSet", "topicCategory", "environmentDescription", "extent",
               "supplementalInformation")
CITATION_ORDER = ("title", "alternateTitle", "date", "edition", "editionDate", "identifier",
                  "citedResponsibleParty", "presentationForm", "series", "otherCitationDetails",
                  "collectiveTitle", "ISBN", "ISSN")


@dataclass
class Inspire:
    """What the encoder needs to know about one record beyond pygeometa's MCF."""

    code: str | None = None  # unique resource identifier: code …
    codespace: str | None = None  # … and its namespace
    access: str = "public"  # geoportal.config.Access value
    licence_name: str = ""
    licence_url: str = ""
    use_text_uk: str = ""
    use_text_en: str = ""
    scale: int | None = None  # equivalent scale denominator
    formats: list[tuple[str, str]] = field(default_factory=list)  # (name, version)
    service_category: str | None = None  # services: SpatialDataServiceCategory value
    service_type: str | None = None  # services: discovery | view | download | other


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def _cs(parent: etree._Element, tag: str, text: str) -> etree._Element:
    el = _sub(parent, tag)
    _sub(el, GCO + "CharacterString", text)
    return el


def _free(parent: etree._Element, tag: str, uk: str, en: str) -> etree._Element:
    """A PT_FreeText element: Ukrainian text, English translation at #eng."""
    el = _sub(parent, tag)
    el.set("{http://www.w3.org/2001/XMLSchema-instance}type", "gmd:PT_FreeText_PropertyType")
    _sub(el, GCO + "CharacterString", uk)
    group = _sub(_sub(el, G + "PT_FreeText"), G + "textGroup")
    _sub(group, G + "LocalisedCharacterString", en, locale="#eng")
    return el


def _anchor(parent: etree._Element, tag: str, href: str, text: str) -> etree._Element:
    el = _sub(parent, tag)
    _sub(el, GMX + "Anchor", text, **{XLINK + "href": href})
    return el


def _code(parent: etree._Element, tag: str, codelist: str, value: str) -> etree._Element:
    el = _sub(parent, tag)
    _sub(el, G + codelist, value, codeList=f"{ISO_CODELISTS}#{codelist}", codeListValue=value)
    return el


def _date(parent: etree._Element, date: str, kind: str) -> etree._Element:
    ci = _sub(_sub(parent, G + "date"), G + "CI_Date")
    _sub(_sub(ci, G + "date"), GCO + "Date", date)
    _code(ci, G + "dateType", "CI_DateTypeCode", kind)
    return ci


def _insert(parent: etree._Element, el: etree._Element, order: tuple[str, ...]) -> None:
    """Put ``el`` after the last child that comes before it in the schema's order."""
    name = etree.QName(el).localname
    before = set(order[:order.index(name) + 1])
    last = None
    for child in parent:
        if etree.QName(child).localname in before:
            last = child
    if last is None:
        parent.insert(0, el)
    else:
        last.addnext(el)


def _ident(root: etree._Element) -> etree._Element:
    return root.find("gmd:identificationInfo/*", NS)


def fix_locale_and_ids(root: etree._Element) -> None:
    for loc in root.findall("gmd:locale/gmd:PT_Locale", NS):
        code = loc.find("gmd:languageCode/gmd:LanguageCode", NS)
        if code is not None and code.get("codeListValue"):
            loc.set("id", code.get("codeListValue"))
    for party in root.iter(G + "CI_ResponsibleParty"):
        party.attrib.pop("id", None)


def metadata_point_of_contact(root: etree._Element) -> None:
    """MD_Metadata/contact → role pointOfContact; the custodian stays, as a party of the resource."""
    ident = _ident(root)
    for contact in root.findall("gmd:contact", NS):
        role = contact.find("gmd:CI_ResponsibleParty/gmd:role/gmd:CI_RoleCode", NS)
        if role is None or role.get("codeListValue") == "pointOfContact":
            continue
        if role.get("codeListValue") == "custodian" and ident is not None:
            holder = etree.Element(G + "pointOfContact")
            holder.append(etree.fromstring(etree.tostring(contact[0])))
            _insert(ident, holder, IDENT_ORDER)
        role.set("codeListValue", "pointOfContact")
        role.text = "pointOfContact"


def resource_identifier(root: etree._Element, code: str, codespace: str) -> None:
    citation = root.find("gmd:identificationInfo/*/gmd:citation/gmd:CI_Citation", NS)
    ident = etree.Element(G + "identifier")
    rs = _sub(ident, G + "RS_Identifier")
    _cs(rs, G + "code", code)
    _cs(rs, G + "codeSpace", codespace)
    _insert(citation, ident, CITATION_ORDER)


def gemet_date(root: etree._Element) -> None:
    """The INSPIRE theme thesaurus cited with its publication date (pygeometa leaves it nil)."""
    for title in root.iter(G + "title"):
        if "".join(title.itertext()).strip() != GEMET_TITLE:
            continue
        citation = title.getparent()
        for d in citation.findall("gmd:date", NS):
            citation.remove(d)
        ci = _date(citation, GEMET_DATE, "publication").getparent()
        citation.remove(ci)
        title.addnext(ci)


def constraints(root: etree._Element, info: Inspire) -> None:
    """Two MD_LegalConstraints, as TG 2.0 asks: limitations on public access (an Anchor into the INSPIRE
    code list) and conditions for access and use (the licence)."""
    ident = _ident(root)
    for old in ident.findall("gmd:resourceConstraints", NS):
        ident.remove(old)
    code, label = ACCESS_GROUNDS.get(info.access, ACCESS_GROUNDS["restricted"])
    access = etree.Element(G + "resourceConstraints")
    legal = _sub(access, G + "MD_LegalConstraints")
    _code(legal, G + "accessConstraints", "MD_RestrictionCode", "otherRestrictions")
    _anchor(legal, G + "otherConstraints", f"{LIMITATIONS_ON_PUBLIC_ACCESS}/{code}", label)
    use = etree.Element(G + "resourceConstraints")
    legal = _sub(use, G + "MD_LegalConstraints")
    if info.use_text_uk:
        _free(legal, G + "useLimitation", info.use_text_uk, info.use_text_en or info.use_text_uk)
    _code(legal, G + "useConstraints", "MD_RestrictionCode", "otherRestrictions")
    if info.licence_url:
        _anchor(legal, G + "otherConstraints", info.licence_url, info.licence_name)
    else:
        _cs(legal, G + "otherConstraints", info.licence_name or "conditions unknown")
    _insert(ident, access, IDENT_ORDER)
    _insert(ident, use, IDENT_ORDER)


def spatial_resolution(root: etree._Element, scale: int) -> None:
    el = etree.Element(G + "spatialResolution")
    frac = _sub(_sub(_sub(el, G + "MD_Resolution"), G + "equivalentScale"), G + "MD_RepresentativeFraction")
    _sub(_sub(frac, G + "denominator"), GCO + "Integer", str(scale))
    _insert(_ident(root), el, IDENT_ORDER)


def distribution_formats(root: etree._Element, formats: list[tuple[str, str]]) -> None:
    dist = root.find("gmd:distributionInfo/gmd:MD_Distribution", NS)
    for old in dist.findall("gmd:distributionFormat", NS):
        dist.remove(old)
    for i, (name, version) in enumerate(formats):
        el = etree.Element(G + "distributionFormat")
        fmt = _sub(el, G + "MD_Format")
        _cs(fmt, G + "name", name)
        _cs(fmt, G + "version", version)
        dist.insert(i, el)


def _data_quality(root: etree._Element, level: str) -> etree._Element:
    """The record's DQ_DataQuality (made, after distributionInfo, when pygeometa wrote none)."""
    dq = root.find("gmd:dataQualityInfo/gmd:DQ_DataQuality", NS)
    if dq is not None:
        return dq
    info = etree.Element(G + "dataQualityInfo")
    dq = _sub(info, G + "DQ_DataQuality")
    scope = _sub(_sub(dq, G + "scope"), G + "DQ_Scope")
    _code(scope, G + "level", "MD_ScopeCode", level)
    if level == "service":  # ISO 19115: a scope other than dataset/series needs its description
        _cs(_sub(scope, G + "levelDescription"), G + "MD_ScopeDescription", "").getparent()
        desc = scope.find("gmd:levelDescription/gmd:MD_ScopeDescription", NS)
        desc.remove(desc[0])
        _cs(desc, G + "other", "service")
    after = root.findall("gmd:distributionInfo", NS) or root.findall("gmd:identificationInfo", NS)
    after[-1].addnext(info)
    return dq


def conformity(root: etree._Element, service: bool) -> None:
    """A conformity statement: the data are NOT claimed conformant to the INSPIRE data specifications
    (they follow the node's own models), so degree = not evaluated (``pass`` nil, as TG 2.0 encodes it);
    services are declared against the network-services regulation likewise."""
    dq = _data_quality(root, "service" if service else "dataset")
    report = etree.Element(G + "report")
    cons = _sub(_sub(report, G + "DQ_DomainConsistency"), G + "result")
    res = _sub(cons, G + "DQ_ConformanceResult")
    spec = _sub(_sub(res, G + "specification"), G + "CI_Citation")
    title, date = ((NETWORK_SERVICES_REGULATION, NETWORK_SERVICES_REGULATION_DATE) if service
                   else (INTEROPERABILITY_REGULATION, INTEROPERABILITY_REGULATION_DATE))
    _cs(spec, G + "title", title)
    _date(spec, date, "publication")
    _cs(res, G + "explanation", "See the referenced specification")
    _sub(res, G + "pass", **{GCO + "nilReason": "unknown"})
    scope = dq.find("gmd:scope", NS)
    scope.addnext(report)


def service_category(root: etree._Element, category: str) -> None:
    """TG 2.0: at least one keyword from the classification of spatial data services."""
    el = etree.Element(G + "descriptiveKeywords")
    kw = _sub(el, G + "MD_Keywords")
    _anchor(kw, G + "keyword", f"{SPATIAL_DATA_SERVICE_CATEGORY}/{category}", category)
    _insert(_ident(root), el, IDENT_ORDER)


def complete(root: etree._Element, info: Inspire) -> None:
    """Everything above that applies to this record (dataset or service)."""
    fix_locale_and_ids(root)
    metadata_point_of_contact(root)
    if info.code and info.codespace:
        resource_identifier(root, info.code, info.codespace)
    gemet_date(root)
    constraints(root, info)
    if info.scale:
        spatial_resolution(root, info.scale)
    if info.formats:
        distribution_formats(root, info.formats)
    if info.service_category:
        service_category(root, info.service_category)
    conformity(root, service=info.service_category is not None)
