"""INSPIRE metadata rules for ISO 19139 records.

Sources, cited on every rule:
- "Reg. 1205/2008 B.x": Commission Regulation (EC) No 1205/2008 (INSPIRE metadata), Annex Part B — the
  metadata elements and their numbering (1.1 title … 10.3 metadata language);
- "Reg. 1089/2010 Art. 13": Commission Regulation (EU) No 1089/2010 (interoperability), the metadata for
  interoperability (coordinate reference system, encoding);
- "TG MD 2.0": Technical Guidance for INSPIRE dataset and service metadata based on ISO/TS 19139:2007,
  version 2.0.1 — how each element is encoded (code lists as gmx:Anchor, the GEMET thesaurus citation, the
  metadata point of contact role, multilingual locales).
"""

from __future__ import annotations

import re
from typing import Iterator

from metadata.inspire import LIMITATIONS_ON_PUBLIC_ACCESS, SPATIAL_DATA_SERVICE_CATEGORY, THEMES
from metadata.rules import NS, Record, Rule, text

DATA = frozenset({"dataset", "series"})
ALL = frozenset({"dataset", "series", "service"})
SERVICE = frozenset({"service"})
SERVICE_TYPES = {"discovery", "view", "download", "transformation", "invoke", "other"}
SERVICE_CATEGORIES = {  # Reg. 1205/2008 Part D.4 (ISO 19119 8.3)
    "humanInteractionService", "humanCatalogueViewer", "humanGeographicViewer", "humanGeographicSpreadsheetViewer",
    "humanServiceEditor", "humanChainDefinitionEditor", "humanWorkflowEnactmentManager",
    "humanGeographicFeatureEditor", "humanGeographicSymbolEditor", "humanFeatureGeneralizationEditor",
    "humanGeographicDataStructureViewer", "infoManagementService", "infoFeatureAccessService",
    "infoMapAccessService", "infoCoverageAccessService", "infoSensorDescriptionService",
    "infoProductAccessService", "infoFeatureTypeService", "infoCatalogueService", "infoRegistryService",
    "infoGazetteerService", "infoOrderHandlingService", "infoStandingOrderService", "taskManagementService",
    "chainDefinitionService", "workflowEnactmentService", "subscriptionService", "spatialProcessingService",
    "spatialCoordinateConversionService", "spatialCoordinateTransformationService",
    "spatialCoverageVectorConversionService", "spatialImageCoordinateConversionService",
    "spatialRectificationService", "spatialOrthorectificationService",
    "spatialSensorGeometryModelAdjustmentService", "spatialImageGeometryModelConversionService",
    "spatialSubsettingService", "spatialSamplingService", "spatialTilingChangeService",
    "spatialDimensionMeasurementService", "spatialFeatureManipulationService", "spatialFeatureMatchingService",
    "spatialFeatureGeneralizationService", "spatialRouteDeterminationService", "spatialPositioningService",
    "spatialProximityAnalysisService", "thematicProcessingService", "thematicGoparameterCalculationService",
    "thematicClassificationService", "thematicFeatureGeneralizationService", "thematicSubsettingService",
    "thematicSpatialCountingService", "thematicChangeDetectionService",
    "thematicGeographicInformationExtractionService", "thematicImageProcessingService",
    "thematicReducedResolutionGenerationService", "thematicImageManipulationService",
    "thematicImageUnderstandingService", "thematicImageSynthesisService", "thematicMultibandImageManipulationService",
    "thematicObjectDetectionService", "thematicGeoparsingService", "thematicGeocodingService",
    "temporalProcessingService", "temporalReferenceSystemTransformationService", "temporalSubsettingService",
    "temporalSamplingService", "temporalProximityAnalysisService", "metadataProcessingService",
    "metadataStatisticalCalculationService", "metadataGeographicAnnotationService", "comService",
    "comEncodingService", "comTransferService", "comGeographicCompressionService",
    "comGeographicFormatConversionService", "comMessagingService", "comRemoteFileAndExecutableManagement",
}
Findings = Iterator[tuple]
ROLE = "gmd:CI_ResponsibleParty/gmd:role/gmd:CI_RoleCode/@codeListValue"


def _title(rec: Record) -> Findings:
    if not text(rec.ident.find("gmd:citation/gmd:CI_Citation/gmd:title", NS)):
        yield None, "gmd:citation/gmd:CI_Citation/gmd:title", "no resource title: give gmd:title"


def _abstract(rec: Record) -> Findings:
    if not text(rec.ident.find("gmd:abstract", NS)):
        yield None, "gmd:abstract", "no resource abstract: give gmd:abstract"


def _type(rec: Record) -> Findings:
    if rec.level not in ALL:
        el = rec.root.find("gmd:hierarchyLevel", NS)
        yield el, "" if el is not None else "gmd:hierarchyLevel", \
            f"resource type '{rec.level}' is none of dataset, series, service"


def _locator(rec: Record) -> Findings:
    urls = [u for u in rec.xpath("gmd:distributionInfo//gmd:onLine/gmd:CI_OnlineResource/gmd:linkage/gmd:URL/text()")
            + rec.xpath("gmd:identificationInfo/*/srv:containsOperations//gmd:linkage/gmd:URL/text()") if u.strip()]
    if not urls:
        yield rec.root, "gmd:distributionInfo/gmd:MD_Distribution/gmd:transferOptions", \
            "no resource locator: give an online resource (gmd:onLine/gmd:CI_OnlineResource/gmd:linkage)"


def _identifier(rec: Record) -> Findings:
    ids = rec.ident.findall("gmd:citation/gmd:CI_Citation/gmd:identifier/*", NS)
    if not ids:
        yield None, "gmd:citation/gmd:CI_Citation/gmd:identifier", \
            "no unique resource identifier: give gmd:identifier/gmd:RS_Identifier with gmd:code and gmd:codeSpace"
        return
    problems = []
    for el in ids:  # one identifier with code and namespace is enough
        code = text(el.find("gmd:code", NS))
        if not code:
            problems.append((el, "gmd:code", "the unique resource identifier has no code"))
        elif not text(el.find("gmd:codeSpace", NS)) and not re.match(r"^(https?://|urn:)\S+[/:#]\S+", code):
            problems.append((el, "gmd:codeSpace", f"identifier '{code}' has no namespace: give gmd:RS_Identifier/"
                                                  "gmd:codeSpace, or a code that is a URI"))
        else:
            return
    yield from problems


def _language(rec: Record) -> Findings:
    lang = rec.ident.find("gmd:language/gmd:LanguageCode", NS)
    value = (lang.get("codeListValue") or lang.text or "").strip() if lang is not None else text(
        rec.ident.find("gmd:language", NS))
    if not re.fullmatch(r"[a-z]{3}", value):
        yield (lang, "", f"resource language '{value}' is not an ISO 639-2 code") if lang is not None else \
            (None, "gmd:language/gmd:LanguageCode", "no resource language: give gmd:language/gmd:LanguageCode")


def _topic(rec: Record) -> Findings:
    if not [t for t in rec.xpath("gmd:topicCategory/gmd:MD_TopicCategoryCode/text()", rec.ident) if t.strip()]:
        yield None, "gmd:topicCategory", "no topic category: give gmd:topicCategory/gmd:MD_TopicCategoryCode"


def _service_type(rec: Record) -> Findings:
    st = rec.ident.find("srv:serviceType/gco:LocalName", NS)
    if st is None or (st.text or "").strip() not in SERVICE_TYPES:
        yield (st, "", f"spatial data service type '{(st.text or '').strip()}' is none of "
               f"{', '.join(sorted(SERVICE_TYPES))}") if st is not None else \
            (None, "srv:serviceType/gco:LocalName", "no spatial data service type")


def _is_gemet(citation) -> bool:  # noqa: ANN001
    return "GEMET - INSPIRE themes" in text(citation.find("gmd:title", NS))


def _inspire_theme(rec: Record) -> Findings:
    """The theme's English name (or an Anchor to the theme register); in a record whose metadata language is
    not English, TG 2.0 lets the name be in that language, which is not checked against a list here."""
    names = {n.lower() for n in THEMES}
    lang = rec.root.find("gmd:language/gmd:LanguageCode", NS)
    english = lang is None or lang.get("codeListValue") == "eng"
    for kw in rec.ident.findall("gmd:descriptiveKeywords/gmd:MD_Keywords", NS):
        citation = kw.find("gmd:thesaurusName/gmd:CI_Citation", NS)
        if citation is None or not _is_gemet(citation):
            continue
        for k in kw.findall("gmd:keyword", NS):
            anchor = k.find("gmx:Anchor", NS)
            href = anchor.get(f"{{{NS['xlink']}}}href", "") if anchor is not None else ""
            if text(k).lower() in names or re.search(r"inspire\.ec\.europa\.eu/theme/[a-z]{2}$", href):
                return
            if text(k) and not english and not any(text(k).isascii() and text(k).lower() == n for n in names):
                return
        yield kw, "gmd:keyword", "none of these keywords is an INSPIRE theme name from GEMET"
        return
    yield None, "gmd:descriptiveKeywords", ("no keyword from 'GEMET - INSPIRE themes, version 1.0': give one "
                                            "INSPIRE theme (e.g. 'Administrative units') with that thesaurus")


def _thesaurus_dates(rec: Record) -> Findings:
    for citation in rec.root.iterfind(".//gmd:thesaurusName/gmd:CI_Citation", NS):
        ok = [d for d in citation.findall("gmd:date/gmd:CI_Date", NS)
              if rec.xpath("gmd:date/gco:Date/text() | gmd:date/gco:DateTime/text()", d)
              and d.find("gmd:dateType/gmd:CI_DateTypeCode", NS) is not None]
        if not ok:
            yield citation, "gmd:date", (f"thesaurus '{text(citation.find('gmd:title', NS))}' has no date: give its "
                                         "publication, revision or creation date (CI_Date with dateType)")


def _service_category(rec: Record) -> Findings:
    for k in rec.ident.findall("gmd:descriptiveKeywords/gmd:MD_Keywords/gmd:keyword", NS):
        anchor = k.find("gmx:Anchor", NS)
        href = anchor.get(f"{{{NS['xlink']}}}href", "") if anchor is not None else ""
        if text(k) in SERVICE_CATEGORIES or href.startswith(SPATIAL_DATA_SERVICE_CATEGORY + "/"):
            return
    yield None, "gmd:descriptiveKeywords", ("no keyword from the classification of spatial data services "
                                            "(e.g. infoMapAccessService)")


def _bbox(rec: Record) -> Findings:
    boxes = rec.ident.findall(".//gmd:EX_GeographicBoundingBox", NS)
    if not boxes:
        yield None, "gmd:extent/gmd:EX_Extent/gmd:geographicElement/gmd:EX_GeographicBoundingBox", \
            "no geographic bounding box"
    for b in boxes:
        try:
            w, e, s, n = (float(text(b.find(f"gmd:{k}/gco:Decimal", NS)) or "nan")
                          for k in ("westBoundLongitude", "eastBoundLongitude", "southBoundLatitude",
                                    "northBoundLatitude"))
        except ValueError:
            yield b, "", "the bounding box coordinates are not decimal numbers"
            continue
        if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
            yield b, "", f"bounding box W {w} E {e} S {s} N {n} is outside WGS 84 limits or inverted"


def _temporal(rec: Record) -> Findings:
    dates = rec.xpath("gmd:citation/gmd:CI_Citation/gmd:date/gmd:CI_Date[gmd:dateType/gmd:CI_DateTypeCode"
                      "/@codeListValue='creation' or gmd:dateType/gmd:CI_DateTypeCode/@codeListValue='publication'"
                      " or gmd:dateType/gmd:CI_DateTypeCode/@codeListValue='revision']", rec.ident)
    extents = rec.ident.findall(".//gmd:EX_TemporalExtent", NS)
    if not dates and not extents:
        yield None, "gmd:citation/gmd:CI_Citation/gmd:date", \
            "no temporal reference: give a creation, publication or revision date or a temporal extent"


def _lineage(rec: Record) -> Findings:
    if not [s for s in rec.root.iterfind("gmd:dataQualityInfo/*/gmd:lineage/gmd:LI_Lineage/gmd:statement", NS)
            if text(s)]:
        yield rec.root, "gmd:dataQualityInfo/gmd:DQ_DataQuality/gmd:lineage", "no lineage statement"


def _resolution(rec: Record) -> Findings:
    res = rec.xpath("gmd:spatialResolution/gmd:MD_Resolution/gmd:equivalentScale//gco:Integer/text() | "
                    "gmd:spatialResolution/gmd:MD_Resolution/gmd:distance/gco:Distance/text()", rec.ident)
    if not res:
        yield None, "gmd:spatialResolution", ("no spatial resolution: give an equivalent scale "
                                              "(MD_RepresentativeFraction/denominator) or a distance")


def _conformity(rec: Record) -> Findings:
    results = rec.root.findall("gmd:dataQualityInfo/*/gmd:report/*/gmd:result/gmd:DQ_ConformanceResult", NS)
    if not results:
        yield rec.root, "gmd:dataQualityInfo/gmd:DQ_DataQuality/gmd:report", \
            "no conformity statement (DQ_DomainConsistency/DQ_ConformanceResult with the specification cited)"
    for r in results:
        spec = r.find("gmd:specification/gmd:CI_Citation", NS)
        if spec is None or not text(spec.find("gmd:title", NS)):
            yield r, "gmd:specification", "the conformity statement cites no specification title"
        elif not rec.xpath("gmd:date/gmd:CI_Date[gmd:date/gco:Date or gmd:date/gco:DateTime]", spec):
            yield spec, "gmd:date", "the specification of the conformity statement has no date"
        p = r.find("gmd:pass", NS)
        if p is None or (p.find("gco:Boolean", NS) is None and not p.get(f"{{{NS['gco']}}}nilReason")):
            yield r, "gmd:pass", "the conformity statement has no degree (gco:Boolean, or nilReason for not evaluated)"


def _conditions(rec: Record) -> Findings:
    for c in rec.ident.findall("gmd:resourceConstraints/*", NS):
        if text(c.find("gmd:useLimitation", NS)) or (
                c.find("gmd:useConstraints", NS) is not None and text(c.find("gmd:otherConstraints", NS))):
            return
    yield None, "gmd:resourceConstraints", ("no conditions applying to access and use: give gmd:useLimitation "
                                            "or gmd:useConstraints with gmd:otherConstraints (e.g. the licence)")


def _public_access(rec: Record) -> Findings:
    legal = [c for c in rec.ident.findall("gmd:resourceConstraints/gmd:MD_LegalConstraints", NS)
             if c.find("gmd:accessConstraints", NS) is not None]
    if not legal:
        yield None, "gmd:resourceConstraints/gmd:MD_LegalConstraints/gmd:accessConstraints", \
            "no limitations on public access: give MD_LegalConstraints with accessConstraints"
        return
    for c in legal:
        for other in c.findall("gmd:otherConstraints", NS):
            a = other.find("gmx:Anchor", NS)
            if a is not None and a.get(f"{{{NS['xlink']}}}href", "").startswith(LIMITATIONS_ON_PUBLIC_ACCESS + "/"):
                return
    yield legal[0], "gmd:otherConstraints", ("limitations on public access are not encoded with the INSPIRE "
                                             f"code list: give gmx:Anchor xlink:href='{LIMITATIONS_ON_PUBLIC_ACCESS}"
                                             "/noLimitations' (or the Article 13 ground)")


def _party(el, who: str) -> list[str]:  # noqa: ANN001
    problems = []
    if not text(el.find("gmd:organisationName", NS)):
        problems.append(f"the {who} has no organisation name")
    if not text(el.find("gmd:contactInfo/gmd:CI_Contact/gmd:address/gmd:CI_Address/gmd:electronicMailAddress",
                        NS)):
        problems.append(f"the {who} has no e-mail address")
    return problems


def _responsible(rec: Record) -> Findings:
    parties = rec.ident.findall("gmd:pointOfContact/gmd:CI_ResponsibleParty", NS)
    if not parties:
        yield None, "gmd:pointOfContact", "no responsible organisation of the resource"
    for p in parties:
        for problem in _party(p, "responsible organisation"):
            yield p, "", problem


def _metadata_contact(rec: Record) -> Findings:
    contacts = rec.root.findall("gmd:contact/gmd:CI_ResponsibleParty", NS)
    poc = [c for c in contacts if c.find("gmd:role/gmd:CI_RoleCode", NS) is not None
           and c.find("gmd:role/gmd:CI_RoleCode", NS).get("codeListValue") == "pointOfContact"]
    if not poc:
        role = contacts[0].find("gmd:role/gmd:CI_RoleCode", NS) if contacts else None
        yield (role if role is not None else rec.root), "" if role is not None else "gmd:contact", (
            f"the metadata contact's role is '{role.get('codeListValue') if role is not None else 'missing'}'; "
            "TG 2.0 requires pointOfContact")
    for c in poc:
        for problem in _party(c, "metadata point of contact"):
            yield c, "", problem


def _metadata_date(rec: Record) -> Findings:
    if not rec.xpath("gmd:dateStamp/gco:Date/text() | gmd:dateStamp/gco:DateTime/text()"):
        yield rec.root, "gmd:dateStamp", "no metadata date"


def _metadata_language(rec: Record) -> Findings:
    lang = rec.root.find("gmd:language/gmd:LanguageCode", NS)
    if lang is None or not re.fullmatch(r"[a-z]{3}", (lang.get("codeListValue") or "").strip()):
        yield rec.root, "gmd:language/gmd:LanguageCode", "no metadata language as an ISO 639-2 code"


def _locales(rec: Record) -> Findings:
    declared = {loc.get("id") for loc in rec.root.iterfind("gmd:locale/gmd:PT_Locale", NS)}
    for el in rec.root.iter(f"{{{NS['gmd']}}}LocalisedCharacterString"):
        ref = (el.get("locale") or "").lstrip("#")
        if ref not in declared:
            yield el, "", (f"translation points to locale '#{ref}' but the record declares "
                           f"{', '.join('#' + d for d in sorted(x for x in declared if x)) or 'no locale'}: "
                           f"give gmd:locale/gmd:PT_Locale id='{ref}'")
            return


def _encoding(rec: Record) -> Findings:
    formats = rec.root.findall("gmd:distributionInfo/gmd:MD_Distribution/gmd:distributionFormat/gmd:MD_Format", NS)
    if not formats:
        yield rec.root, "gmd:distributionInfo/gmd:MD_Distribution/gmd:distributionFormat", \
            "no distribution format (encoding): give MD_Format with name and version"
    for f in formats:
        if not text(f.find("gmd:name", NS)):
            yield f, "gmd:name", "the distribution format has no name"
        v = f.find("gmd:version", NS)
        if v is None or (not text(v) and not v.get(f"{{{NS['gco']}}}nilReason")):
            yield f, "gmd:version", "the distribution format has no version (or nilReason)"


def _crs(rec: Record) -> Findings:
    if not [c for c in rec.root.iterfind("gmd:referenceSystemInfo/*/gmd:referenceSystemIdentifier/*/gmd:code", NS)
            if text(c)]:
        yield rec.root, "gmd:referenceSystemInfo", "no coordinate reference system identified"


def _r(id_: str, title: str, source: str, levels: frozenset[str], check) -> Rule:  # noqa: ANN001
    return Rule(id_, title, source, levels, check)


RULES: list[Rule] = [
    _r("INSPIRE-1.1", "resource title", "Reg. 1205/2008 B.1.1", ALL, _title),
    _r("INSPIRE-1.2", "resource abstract", "Reg. 1205/2008 B.1.2", ALL, _abstract),
    _r("INSPIRE-1.3", "resource type", "Reg. 1205/2008 B.1.3", frozenset({"dataset", "series", "service", "",
                                                                           "nonGeographicDataset"}), _type),
    _r("INSPIRE-1.4", "resource locator", "Reg. 1205/2008 B.1.4", ALL, _locator),
    _r("INSPIRE-1.5", "unique resource identifier", "Reg. 1205/2008 B.1.5; TG MD 2.0 Req 1.3", DATA, _identifier),
    _r("INSPIRE-1.7", "resource language", "Reg. 1205/2008 B.1.7", DATA, _language),
    _r("INSPIRE-2.1", "topic category", "Reg. 1205/2008 B.2.1", DATA, _topic),
    _r("INSPIRE-2.2", "spatial data service type", "Reg. 1205/2008 B.2.2", SERVICE, _service_type),
    _r("INSPIRE-3.1", "INSPIRE theme keyword", "Reg. 1205/2008 B.3.1; TG MD 2.0 Req 1.4", DATA, _inspire_theme),
    _r("INSPIRE-3.2", "thesaurus citation with a date", "Reg. 1205/2008 B.3.2; TG MD 2.0 Req 1.5", ALL,
       _thesaurus_dates),
    _r("INSPIRE-3.3", "spatial data service category keyword", "Reg. 1205/2008 B.3.1, D.4; TG MD 2.0 Req 3.7",
       SERVICE, _service_category),
    _r("INSPIRE-4.1", "geographic bounding box", "Reg. 1205/2008 B.4.1", ALL, _bbox),
    _r("INSPIRE-5", "temporal reference", "Reg. 1205/2008 B.5", ALL, _temporal),
    _r("INSPIRE-6.1", "lineage", "Reg. 1205/2008 B.6.1", DATA, _lineage),
    _r("INSPIRE-6.2", "spatial resolution", "Reg. 1205/2008 B.6.2", DATA, _resolution),
    _r("INSPIRE-7", "conformity", "Reg. 1205/2008 B.7; TG MD 2.0 Req C.21", ALL, _conformity),
    _r("INSPIRE-8.1", "conditions for access and use", "Reg. 1205/2008 B.8.1; TG MD 2.0 Req C.17", ALL,
       _conditions),
    _r("INSPIRE-8.2", "limitations on public access", "Reg. 1205/2008 B.8.2; TG MD 2.0 Req C.18", ALL,
       _public_access),
    _r("INSPIRE-9", "responsible organisation", "Reg. 1205/2008 B.9", ALL, _responsible),
    _r("INSPIRE-10.1", "metadata point of contact", "Reg. 1205/2008 B.10.1; TG MD 2.0 Req C.6", ALL,
       _metadata_contact),
    _r("INSPIRE-10.2", "metadata date", "Reg. 1205/2008 B.10.2", ALL, _metadata_date),
    _r("INSPIRE-10.3", "metadata language", "Reg. 1205/2008 B.10.3", ALL, _metadata_language),
    _r("INSPIRE-ML", "translations point to declared locales", "TG MD 2.0 multilingual text (PT_Locale)", ALL,
       _locales),
    _r("INSPIRE-ENC", "encoding (distribution format)", "Reg. 1089/2010 Art. 13; TG MD 2.0 Req 2.x", DATA,
       _encoding),
    _r("INSPIRE-CRS", "coordinate reference system", "Reg. 1089/2010 Art. 13", DATA, _crs),
]
