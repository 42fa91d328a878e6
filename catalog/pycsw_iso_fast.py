"""The columns pycsw 2.6 fills for an ISO 19139 record, from pre-compiled XPath — run in the PYCSW VENV.

Why: pycsw's own ISO parser builds OWSLib's whole ``MD_Metadata`` object tree (hundreds of path
evaluations and objects per record, ~4 ms) only to copy ~35 values into its ``records`` table; at a
parent that harvests thousands of records this is most of the cost. This module reads exactly those
values, with the same rules OWSLib 0.28 + ``pycsw.core.metadata._parse_iso`` apply (first match in
document order, stripped text, ``codeListValue`` before text, the same precedence between Date and
DateTime, CharacterString and Anchor, the same bbox → WKT), so the rows are the ones pycsw would write.

Anything it was not written for (another root than ``gmd:MD_Metadata``, no identification, an
``MD_ServiceIdentification``, a value pycsw's parser would choke on) raises :class:`NotFast`, and the
caller falls back to pycsw's own parser — the same row, or the same error, as before.

Imports only pycsw (for ``bbox2wktpolygon``, the link sniffer and the column mappings), lxml and the
standard library.
"""

from __future__ import annotations

from lxml import etree

NS = {
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gco": "http://www.isotc211.org/2005/gco",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "srv": "http://www.isotc211.org/2005/srv",
    "gml": "http://www.opengis.net/gml",
    "gml32": "http://www.opengis.net/gml/3.2",
    "xlink": "http://www.w3.org/1999/xlink",
}
ROOT_TAG = "{%s}MD_Metadata" % NS["gmd"]


class NotFast(Exception):
    """This record needs pycsw's own parser (it decides the row, or the error)."""


def _x(path: str) -> etree.XPath:
    return etree.XPath(path, namespaces=NS)


# compiled once per process; each is evaluated relative to the element given (like ElementTree.find)
X = {name: _x(path) for name, path in {
    "identifier": "gmd:fileIdentifier/gco:CharacterString",
    "parent": "gmd:parentIdentifier/gco:CharacterString",
    "language": "gmd:language/gco:CharacterString",
    "dataseturi": "gmd:dataSetURI/gco:CharacterString",
    "datestamp_d": "gmd:dateStamp/gco:Date",
    "datestamp_dt": "gmd:dateStamp/gco:DateTime",
    "hierarchy": "gmd:hierarchyLevel/gmd:MD_ScopeCode",
    "contact_role": "gmd:contact/gmd:CI_ResponsibleParty/gmd:role/gmd:CI_RoleCode",
    "contact": "gmd:contact/gmd:CI_ResponsibleParty",
    "refsys": "gmd:referenceSystemInfo/gmd:MD_ReferenceSystem",
    "rs_code_cs": "gmd:referenceSystemIdentifier/gmd:RS_Identifier/gmd:code/gco:CharacterString",
    "rs_code_anchor": "gmd:referenceSystemIdentifier/gmd:RS_Identifier/gmd:code/gmx:Anchor",
    "di": "gmd:identificationInfo/gmd:MD_DataIdentification",
    "sv": "gmd:identificationInfo/srv:SV_ServiceIdentification",
    "identinfo": "gmd:identificationInfo",
    "distribution": "gmd:distributionInfo/gmd:MD_Distribution",
    # inside an identification
    "title": "gmd:citation/gmd:CI_Citation/gmd:title/gco:CharacterString",
    "alttitle": "gmd:citation/gmd:CI_Citation/gmd:alternateTitle/gco:CharacterString",
    "aggregation": "gmd:aggregationInfo",
    "abstract": "gmd:abstract/gco:CharacterString",
    "abstract_anchor": "gmd:abstract/gmx:Anchor",
    "cidate": "gmd:citation/gmd:CI_Citation/gmd:date/gmd:CI_Date",
    "cidate_d": "gmd:date/gco:Date",
    "cidate_dt": "gmd:date/gco:DateTime",
    "cidate_type": "gmd:dateType/gmd:CI_DateTypeCode",
    "uselim_legal": "gmd:resourceConstraints/gmd:MD_LegalConstraints/gmd:useLimitation/gco:CharacterString",
    "uselim_plain": "gmd:resourceConstraints/gmd:MD_Constraints/gmd:useLimitation/gco:CharacterString",
    "uselim_legal_a": "gmd:resourceConstraints/gmd:MD_LegalConstraints/gmd:useLimitation/gmx:Anchor",
    "uselim_plain_a": "gmd:resourceConstraints/gmd:MD_Constraints/gmd:useLimitation/gmx:Anchor",
    "access": "gmd:resourceConstraints/gmd:MD_LegalConstraints/gmd:accessConstraints/gmd:MD_RestrictionCode",
    "classification": "gmd:resourceConstraints/gmd:MD_LegalConstraints/gmd:accessConstraints"
                      "/gmd:MD_ClassificationCode",
    "other": "gmd:resourceConstraints/gmd:MD_LegalConstraints/gmd:otherConstraints/gco:CharacterString",
    "security": "gmd:resourceConstraints/gmd:MD_SecurityConstraints/gmd:classification"
                "/gmd:MD_ClassificationCode",
    "denominator": "gmd:spatialResolution/gmd:MD_Resolution/gmd:equivalentScale"
                   "/gmd:MD_RepresentativeFraction/gmd:denominator/gco:Integer",
    "distance": "gmd:spatialResolution/gmd:MD_Resolution/gmd:distance/gco:Distance",
    "reslang": "gmd:language/gco:CharacterString",
    "poc": "gmd:pointOfContact/gmd:CI_ResponsibleParty",
    "role": "gmd:role/gmd:CI_RoleCode",
    "org": "gmd:organisationName/gco:CharacterString",
    "desckw": "gmd:descriptiveKeywords",
    "kw_type": "gmd:MD_Keywords/gmd:type/gmd:MD_KeywordTypeCode",
    "kw": "gmd:MD_Keywords/gmd:keyword",
    "cs": "gco:CharacterString",
    "topic": "gmd:topicCategory/gmd:MD_TopicCategoryCode",
    "extent": "gmd:extent",
    "srv_extent": "srv:extent",
    "geo_el": "gmd:EX_Extent/gmd:geographicElement",
    "ex_bbox": "gmd:EX_GeographicBoundingBox",
    "ex_poly": "gmd:EX_BoundingPolygon",
    "geodesc": "gmd:EX_GeographicDescription/gmd:geographicIdentifier/gmd:MD_Identifier/gmd:code"
               "/gco:CharacterString",
    "west": "gmd:westBoundLongitude/gco:Decimal",
    "east": "gmd:eastBoundLongitude/gco:Decimal",
    "south": "gmd:southBoundLatitude/gco:Decimal",
    "north": "gmd:northBoundLatitude/gco:Decimal",
    "begin": "gmd:EX_Extent/gmd:temporalElement/gmd:EX_TemporalExtent/gmd:extent/gml:TimePeriod"
             "/gml:beginPosition",
    "begin32": "gmd:EX_Extent/gmd:temporalElement/gmd:EX_TemporalExtent/gmd:extent/gml32:TimePeriod"
               "/gml32:beginPosition",
    "end": "gmd:EX_Extent/gmd:temporalElement/gmd:EX_TemporalExtent/gmd:extent/gml:TimePeriod"
           "/gml:endPosition",
    "end32": "gmd:EX_Extent/gmd:temporalElement/gmd:EX_TemporalExtent/gmd:extent/gml32:TimePeriod"
             "/gml32:endPosition",
    # service identification
    "sv_type": "srv:serviceType/gco:LocalName",
    "sv_version": "srv:serviceTypeVersion/gco:CharacterString",
    "sv_coupling": "gmd:couplingType/gmd:SV_CouplingType",
    "sv_connect": "srv:containsOperations/srv:SV_OperationMetadata/srv:connectPoint",
    "online_res": "gmd:CI_OnlineResource",
    # distribution
    "dist_online": "gmd:transferOptions/gmd:MD_DigitalTransferOptions/gmd:onLine/gmd:CI_OnlineResource",
    "distributor_online": "gmd:distributor/gmd:MD_Distributor/gmd:distributorTransferOptions"
                          "/gmd:MD_DigitalTransferOptions/gmd:onLine/gmd:CI_OnlineResource",
    "url": "gmd:linkage/gmd:URL",
    "protocol": "gmd:protocol/gco:CharacterString",
    "name": "gmd:name/gco:CharacterString",
    "description": "gmd:description/gco:CharacterString",
}.items()}
# AnyText: every text node (plain strings: lxml's "smart" strings cost more than the join); relative, so a
# record read in place inside a CSW answer gives its own text only (for a document's root it is //text())
TEXT = etree.XPath(".//text()", smart_strings=False)


def _first(name: str, el: etree._Element) -> etree._Element | None:
    found = X[name](el)
    return found[0] if found else None


def _text(el: etree._Element | None) -> str | None:
    """OWSLib's testXMLValue: stripped text, None when there is no element or no text."""
    if el is None or not el.text:
        return None
    return el.text.strip()


def _code(el: etree._Element | None) -> str | None:
    """OWSLib's _testCodeListValue: @codeListValue (stripped), else the element's text."""
    if el is None:
        return None
    val = el.get("codeListValue")
    return val.strip() if val is not None else _text(el)


def _values(name: str, el: etree._Element, read=_text) -> list[str]:  # type: ignore[no-untyped-def]
    return [v for v in (read(e) for e in X[name](el)) if v is not None]


def _online(el: etree._Element | None) -> tuple[str | None, str | None, str | None, str | None]:
    """(name, description, protocol, url) of a CI_OnlineResource (all None for no element)."""
    if el is None:
        return None, None, None, None
    return (_text(_first("name", el)), _text(_first("description", el)), _text(_first("protocol", el)),
            _text(_first("url", el)))


def _orgs(parties: list[etree._Element]) -> str:
    # pycsw joins a set: for more than one organisation its order is Python's set order, as in pycsw
    return ";".join({o for o in (_text(_first("org", p)) for p in parties) if o is not None})


def queryables(root: etree._Element) -> dict[str, object]:
    """pycsw's queryables (``pycsw:Name`` → value) of a ``gmd:MD_Metadata`` element, as pycsw 2.6 sets
    them for the document it is the root of (it may be read in place inside a CSW answer)."""
    from pycsw.core import util
    from pycsw.core.metadata import sniff_link

    if root.tag != ROOT_TAG:
        raise NotFast("not gmd:MD_Metadata")
    q: dict[str, object] = {}
    datestamp = _text(_first("datestamp_d", root)) or _text(_first("datestamp_dt", root))
    q["pycsw:Identifier"] = _text(_first("identifier", root))
    q["pycsw:Typename"] = "gmd:MD_Metadata"
    q["pycsw:Schema"] = NS["gmd"]
    q["pycsw:MdSource"] = "local"
    q["pycsw:XML"] = etree.tostring(root, with_tail=False)  # a record inside an answer: not the text after it
    q["pycsw:AnyText"] = " ".join(map(str.strip, TEXT(root)))
    q["pycsw:Language"] = _text(_first("language", root))
    q["pycsw:Type"] = _code(_first("hierarchy", root))
    q["pycsw:ParentIdentifier"] = _text(_first("parent", root))
    q["pycsw:Date"] = datestamp
    q["pycsw:Modified"] = datestamp
    q["pycsw:Source"] = _text(_first("dataseturi", root))
    refsys = _first("refsys", root)
    if refsys is not None:
        code_el = _first("rs_code_cs", refsys)
        if code_el is None:
            code_el = _first("rs_code_anchor", refsys)
        code = _text(code_el) if code_el is not None else None
        if code is None:
            raise NotFast("reference system without a code")  # pycsw's int(None) fails: let it report
        try:
            q["pycsw:CRS"] = "urn:ogc:def:crs:EPSG::%d" % int(code)
        except ValueError:
            q["pycsw:CRS"] = code

    # the identification OWSLib calls .identification: the first MD_DataIdentification, else SV_…
    sv = _first("sv", root)
    di = _first("di", root)
    ident = di if di is not None else sv
    if ident is None:
        raise NotFast("no identification")  # pycsw fails on it: let it say so
    # .identificationinfo: every identificationInfo's first child, by local name
    services = []
    for info in X["identinfo"](root):
        if len(info) == 0:
            continue
        child = info[0]
        if not isinstance(child.tag, str):
            raise NotFast("comment first in identificationInfo")
        local = etree.QName(child).localname
        if local == "MD_ServiceIdentification":
            raise NotFast("MD_ServiceIdentification")  # pycsw reads .type of it and fails
        if local == "SV_ServiceIdentification":
            services.append(child)

    q["pycsw:Title"] = _text(_first("title", ident))
    q["pycsw:AlternateTitle"] = _text(_first("alttitle", ident))
    anchor = _first("abstract_anchor", ident)
    q["pycsw:Abstract"] = _text(anchor) if anchor is not None else _text(_first("abstract", ident))
    q["pycsw:Relation"] = _text(_first("aggregation", ident))

    # extents: OWSLib's loop over gmd:extent then srv:extent, exactly
    extents = X["extent"](ident) + X["srv_extent"](ident)
    geo = begin = end = None
    bbox_el = None
    for extent in extents:
        if geo is None:
            for e in X["geo_el"](extent):
                if X["ex_bbox"](e) or X["ex_poly"](e):
                    geo = e
                    break
            bbox_el = _first("ex_bbox", geo) if geo is not None else None
            q["pycsw:GeographicDescriptionCode"] = _text(_first("geodesc", geo)) if geo is not None else None
        if begin is None:
            begin = _first("begin", extent)
            if begin is None:
                begin = _first("begin32", extent)
            q["pycsw:TempExtent_begin"] = _text(begin)
        if end is None:
            end = _first("end", extent)
            if end is None:
                end = _first("end32", extent)
            q["pycsw:TempExtent_end"] = _text(end)

    topics = _values("topic", ident)
    if topics:
        q["pycsw:TopicCategory"] = topics[0]
    langs = _values("reslang", ident)
    if langs:
        q["pycsw:ResourceLanguage"] = langs[0]

    groups = X["desckw"](ident)
    if groups:
        words = []
        for g in groups:
            for k in X["kw"](g):
                cs = _first("cs", k)
                if cs is not None and _text(cs) is not None:
                    words.append(_text(cs))
        q["pycsw:Keywords"] = ",".join(words)
        q["pycsw:KeywordType"] = _code(_first("kw_type", groups[0]))

    parties = X["poc"](ident)
    by_role: dict[str, list[etree._Element]] = {"originator": [], "publisher": [], "author": []}
    for p in parties:
        role = _first("role", p)
        if role is not None and _code(role) in by_role:
            by_role[_code(role)].append(p)  # type: ignore[index]
    for role, name in (("originator", "pycsw:Creator"), ("publisher", "pycsw:Publisher"),
                       ("author", "pycsw:Contributor")):
        if by_role[role]:
            q[name] = _orgs(by_role[role])
    if parties:
        q["pycsw:OrganizationName"] = _orgs(parties)

    for name, key, read in (("security", "pycsw:SecurityConstraints", _code),
                            ("access", "pycsw:AccessConstraints", _code),
                            ("other", "pycsw:OtherConstraints", _text)):
        vals = _values(name, ident, read)
        if vals:
            q[key] = vals[0]

    for cd in X["cidate"](ident):
        d_el = _first("cidate_d", cd)
        if d_el is None:
            d_el = _first("cidate_dt", cd)
        kind = _code(_first("cidate_type", cd))
        key = {"revision": "pycsw:RevisionDate", "creation": "pycsw:CreationDate",
               "publication": "pycsw:PublicationDate"}.get(kind or "")
        if key:
            q[key] = _text(d_el)

    dens = _values("denominator", ident)
    if dens:
        q["pycsw:Denominator"] = dens[0]
    dist_els = X["distance"](ident)
    dists = [v for v in (_text(e) for e in dist_els) if v is not None]
    if dists:
        q["pycsw:DistanceValue"] = dists[0]
    if dist_els:
        q["pycsw:DistanceUOM"] = dist_els[0].get("uom")
    classes = _values("classification", ident, _code)
    if classes:
        q["pycsw:Classification"] = classes[0]
    # OWSLib: CharacterStrings (legal, then plain), then Anchors (legal, then plain)
    uselim = (_values("uselim_legal", ident) + _values("uselim_plain", ident)
              + _values("uselim_legal_a", ident) + _values("uselim_plain_a", ident))
    if uselim:
        q["pycsw:ConditionApplyingToAccessAndUse"] = uselim[0]

    if di is None and sv is not None:  # .serviceidentification
        q["pycsw:ServiceType"] = _text(_first("sv_type", sv))
        q["pycsw:ServiceTypeVersion"] = _text(_first("sv_version", sv))
        q["pycsw:CouplingType"] = _code(_first("sv_coupling", sv))
    q["pycsw:ServiceType"] = ",".join(t for t in (_text(_first("sv_type", s)) for s in services) if t is not None)

    contacts = X["contact"](root)
    if contacts:
        q["pycsw:ResponsiblePartyRole"] = _code(_first("role", contacts[0]))

    links = []
    dist = _first("distribution", root)
    if dist is not None:
        for ol in X["dist_online"](dist) + X["distributor_online"](dist):
            name, desc, protocol, url = _online(ol)
            if url is not None and protocol is None:
                protocol = sniff_link(url)
            links.append("%s,%s,%s,%s" % (name, desc, protocol, url))
    for s in services:
        for cp in X["sv_connect"](s):
            links.append("%s,%s,%s,%s" % _online(_first("online_res", cp)))
    if links:
        q["pycsw:Links"] = "^".join(links)

    wkt = None
    if bbox_el is not None:
        try:
            wkt = util.bbox2wktpolygon("%s,%s,%s,%s" % (
                _text(_first("west", bbox_el)), _text(_first("south", bbox_el)),
                _text(_first("east", bbox_el)), _text(_first("north", bbox_el))))
        except Exception:  # noqa: BLE001 - pycsw drops a corrupt bbox the same way
            wkt = None
    q["pycsw:BoundingBox"] = wkt
    return q
