"""The access marker of a record: who may see the dataset an ISO 19139 record describes, in the record.

Every dataset record of a node carries one ``gmd:descriptiveKeywords`` block whose thesaurus is
:data:`THESAURUS` and whose keywords are machine-readable ``geoportal:<name>=<value>`` pairs::

    geoportal:dataset=ovrutska-hromada/cadastre    the dataset's network-wide key: origin node id / dataset id
    geoportal:access=restricted                    its level: public | officials | restricted
    geoportal:catalog=metadata                     what the catalog shows to those denied: metadata | hide
    geoportal:custodian=UA18040190000026387        the KATOTTH code of the node (body) that holds the data
    geoportal:organisation=UA18000000000000000     (repeated) bodies a restricted dataset is open to
    geoportal:role=official                        (repeated) roles a restricted dataset is open to

Why keywords: they travel with the record through every harvest (CSW, OAI-PMH, a GeoNetwork in between)
and pycsw indexes them without a profile of ours; the human-readable level stays in
``gmd:resourceConstraints`` (INSPIRE's limitations on public access). A parent reads the marker of a
harvested record and applies its own policy to it (:mod:`catalog.access_view`).

A record without a marker (a service record, one harvested from a catalog that is not a node of ours) is
public. A marker that does not parse makes the record ``restricted`` to nobody but admins (fail closed).

This module imports only lxml and the standard library: the catalog loader and the catalog process (the
pycsw venv) load it by path as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

THESAURUS = "geoportal-access"
PREFIX = "geoportal:"
G = "{http://www.isotc211.org/2005/gmd}"
GCO = "{http://www.isotc211.org/2005/gco}"
SRV = "{http://www.isotc211.org/2005/srv}"
LEVELS = ("public", "officials", "restricted")
CATALOG_MODES = ("metadata", "hide")
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}/[a-z0-9][a-z0-9_-]{0,62}$")
KATOTTH_RE = re.compile(r"^UA\d{17}$")
ROLE_RE = re.compile(r"^[a-z]{1,20}$")
CODELISTS = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
MARKER_DATE = "2026-01-01"  # the date of this keyword scheme (a thesaurus citation needs one)
#: element order inside MD_DataIdentification / SV_ServiceIdentification (gmd.xsd, srv.xsd)
IDENT_ORDER = ("citation", "abstract", "purpose", "credit", "status", "pointOfContact", "resourceMaintenance",
               "graphicOverview", "resourceFormat", "descriptiveKeywords")


@dataclass(frozen=True)
class Marker:
    """The access facts of one dataset record, as they travel with it."""

    key: str  # <origin node id>/<dataset id>
    level: str = "public"
    catalog: str = "hide"
    custodian: str = ""
    organisations: tuple[str, ...] = field(default_factory=tuple)
    roles: tuple[str, ...] = field(default_factory=tuple)

    @property
    def node(self) -> str:
        return self.key.partition("/")[0]

    @property
    def dataset(self) -> str:
        return self.key.partition("/")[2]

    def keywords(self) -> list[str]:
        out = [f"{PREFIX}dataset={self.key}", f"{PREFIX}access={self.level}", f"{PREFIX}catalog={self.catalog}"]
        if self.custodian:
            out.append(f"{PREFIX}custodian={self.custodian}")
        out += [f"{PREFIX}organisation={o}" for o in self.organisations]
        out += [f"{PREFIX}role={r}" for r in self.roles]
        return out

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "level": self.level, "catalog": self.catalog, "custodian": self.custodian,
                "organisations": list(self.organisations), "roles": list(self.roles)}

    @classmethod
    def from_dict(cls, d: dict) -> "Marker":  # type: ignore[type-arg]
        return cls(str(d["key"]), str(d.get("level", "restricted")), str(d.get("catalog", "hide")),
                   str(d.get("custodian", "")), tuple(d.get("organisations", ())), tuple(d.get("roles", ())))


def broken() -> Marker:
    """The marker of a record whose marker does not parse: restricted to nobody (admins and the harvest view
    only); its key is derived from nothing the record says."""
    return Marker(key="invalid/record", level="restricted", catalog="hide")


def _identification(root: etree._Element) -> etree._Element | None:
    for tag in (G + "MD_DataIdentification", SRV + "SV_ServiceIdentification"):
        found = root.find(f"{G}identificationInfo/{tag}")
        if found is not None:
            return found
    return None


def _marker_blocks(ident: etree._Element) -> list[etree._Element]:
    """The keyword blocks of the marker: named by the thesaurus, or holding a ``geoportal:`` keyword (a
    shortened record — pycsw's ISO summary — drops thesaurus names; such a block still counts, so that a
    marker is never mistaken for no marker)."""
    out = []
    for dk in ident.findall(G + "descriptiveKeywords"):
        title = dk.findtext(f"{G}MD_Keywords/{G}thesaurusName/{G}CI_Citation/{G}title/{GCO}CharacterString")
        words = [(w.text or "").strip() for w in dk.iterfind(f"{G}MD_Keywords/{G}keyword/{GCO}CharacterString")]
        if (title is not None and title.strip() == THESAURUS) or any(w.startswith(PREFIX) for w in words):
            out.append(dk)
    return out


def read(root: etree._Element) -> Marker | None:
    """The marker of a parsed record; None when it has none; :func:`broken` when it has one that is wrong
    (two blocks, an unknown level, a malformed key or code)."""
    ident = _identification(root)
    if ident is None:
        return None
    blocks = _marker_blocks(ident)
    if not blocks:
        return None
    if len(blocks) > 1:
        return broken()
    values: dict[str, list[str]] = {}
    for kw in blocks[0].iterfind(f"{G}MD_Keywords/{G}keyword/{GCO}CharacterString"):
        text = (kw.text or "").strip()
        if not text.startswith(PREFIX) or "=" not in text:
            return broken()
        name, _, value = text[len(PREFIX):].partition("=")
        values.setdefault(name, []).append(value)
    one = {k: v[0] for k, v in values.items() if len(v) == 1}
    key, level, catalog = one.get("dataset", ""), one.get("access", ""), one.get("catalog", "hide")
    orgs, roles = tuple(values.get("organisation", ())), tuple(values.get("role", ()))
    custodian = one.get("custodian", "")
    if (not KEY_RE.match(key) or level not in LEVELS or catalog not in CATALOG_MODES
            or any(len(values.get(k, ())) > 1 for k in ("dataset", "access", "catalog", "custodian"))
            or not all(KATOTTH_RE.match(o) for o in orgs) or not all(ROLE_RE.match(r) for r in roles)
            or (custodian and not KATOTTH_RE.match(custodian))):
        return broken()
    return Marker(key, level, catalog, custodian, orgs, roles)


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def _block(marker: Marker) -> etree._Element:
    dk = etree.Element(G + "descriptiveKeywords")
    kws = _sub(dk, G + "MD_Keywords")
    for word in marker.keywords():
        _sub(_sub(kws, G + "keyword"), GCO + "CharacterString", word)
    _sub(_sub(kws, G + "type"), G + "MD_KeywordTypeCode", "theme", codeList=f"{CODELISTS}#MD_KeywordTypeCode",
         codeListValue="theme")
    cit = _sub(_sub(kws, G + "thesaurusName"), G + "CI_Citation")
    _sub(_sub(cit, G + "title"), GCO + "CharacterString", THESAURUS)
    date = _sub(_sub(cit, G + "date"), G + "CI_Date")
    _sub(_sub(date, G + "date"), GCO + "Date", MARKER_DATE)
    _sub(_sub(date, G + "dateType"), G + "CI_DateTypeCode", "publication",
         codeList=f"{CODELISTS}#CI_DateTypeCode", codeListValue="publication")
    return dk


def stamp(xml: bytes, marker: Marker) -> bytes:
    """``xml`` with exactly one marker block, ``marker``'s (an older one, or one a custodian wrote, is
    replaced), placed where the schema orders descriptive keywords."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True)
    root = etree.fromstring(xml, parser)
    ident = _identification(root)
    if ident is None:
        raise ValueError("the record has no identificationInfo to carry its access marker")
    for old in _marker_blocks(ident):
        ident.remove(old)
    block = _block(marker)
    before = set(IDENT_ORDER)
    last = None
    for child in ident:
        if etree.QName(child).localname in before:
            last = child
    if last is None:
        ident.insert(0, block)
    else:
        last.addnext(block)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def without_data_links(root: etree._Element) -> etree._Element:
    """A copy of the record for callers who may see the record but not the data: no distribution (online
    resources, formats, transfer options), no dataset URI, no browse graphic — nothing that leads to data."""
    copy = etree.fromstring(etree.tostring(root))
    for path in (f"{G}distributionInfo", f"{G}dataSetURI"):
        for el in copy.findall(path):
            copy.remove(el)
    ident = _identification(copy)
    if ident is not None:
        for el in ident.findall(G + "graphicOverview"):
            ident.remove(el)
        for el in ident.findall(SRV + "containsOperations"):
            ident.remove(el)
    return copy
