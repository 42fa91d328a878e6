"""Rules of Ukraine's national geospatial data infrastructure (NSDI, «НІГД») for metadata records.

What is encoded, and from where (only what could be established from the texts themselves):
- Law of Ukraine No. 554-IX "On the national geospatial data infrastructure" (2020), Art. 1: metadata
  describe a data set and name its holder («держатель») → NSDI-HOLDER;
- Cabinet of Ministers Resolution No. 532 of 26 May 2021 (Procedure of the NSDI), §73: discovery services
  find data by the organisation's name and by the state of readiness of the data (completed, in
  production…) → NSDI-HOLDER, NSDI-STATUS; §27: geographic identifiers per ДСТУ ISO 19112:2017, which for
  administrative territory are the KATOTTH codes (Order of the Ministry for Communities and Territories
  Development No. 290 of 26.11.2020) → NSDI-KATOTTH;
- Law No. 2704-VIII on the state language (2019): public information of authorities in Ukrainian →
  NSDI-LANG (metadata language ukr, title and abstract in Ukrainian);
- ДСТУ ISO 19115 (the national adoption of ISO 19115, on which the NSDI technical requirements rest) and
  Cabinet Resolution No. 1035 of 22.09.2004 (USK-2000 as the state coordinate system): a record states the
  coordinate reference system of its data → NSDI-CRS.
Order No. 347 of 10 Nov 2021 of the Ministry of Agrarian Policy and Food (registered with the Ministry of
Justice on 12 Jan 2022, No. 21/37357) approves the "Technical requirements for metadata of geospatial data
sets and geoinformation services of the NSDI" (with the requirements for data specifications, services and
interoperability). Only its preamble could be read while this module was written — its list of metadata
elements could not — so no rule here cites a clause of it; when its text is at hand, its elements belong
here, each with its clause as ``source``.
"""

from __future__ import annotations

import re
from typing import Iterator

from metadata.rules import NS, Record, Rule, text

DATA = frozenset({"dataset", "series"})
ALL = frozenset({"dataset", "series", "service"})
UKRAINIAN = re.compile(r"[А-ЩЬЮЯҐЄІЇа-щьюяґєії]")
KATOTTH = re.compile(r"^UA\d{17}$")


def _language(rec: Record) -> Iterator[tuple]:
    lang = rec.root.find("gmd:language/gmd:LanguageCode", NS)
    value = (lang.get("codeListValue") or "") if lang is not None else ""
    if value != "ukr":
        yield (lang if lang is not None else rec.root), "" if lang is not None else "gmd:language", \
            f"the metadata language is '{value or 'missing'}'; NSDI records are in Ukrainian (ukr)"
    for name, path in (("title", "gmd:citation/gmd:CI_Citation/gmd:title"), ("abstract", "gmd:abstract")):
        el = rec.ident.find(path, NS)
        if el is not None and text(el) and not UKRAINIAN.search(text(el)):
            yield el, "", f"the {name} '{text(el)[:60]}' is not in Ukrainian (give it in Ukrainian, other languages as translations)"


def _holder(rec: Record) -> Iterator[tuple]:
    roles = rec.ident.xpath("gmd:pointOfContact/gmd:CI_ResponsibleParty[gmd:role/gmd:CI_RoleCode/@codeListValue"
                            "='custodian' or gmd:role/gmd:CI_RoleCode/@codeListValue='owner']", namespaces=NS)
    if not [r for r in roles if text(r.find("gmd:organisationName", NS))]:
        yield None, "gmd:pointOfContact", ("no data holder: give a responsible party with role custodian "
                                           "(or owner) and its organisation name")


def _status(rec: Record) -> Iterator[tuple]:
    if rec.ident.find("gmd:status/gmd:MD_ProgressCode", NS) is None:
        yield None, "gmd:status", "no state of readiness: give gmd:status/gmd:MD_ProgressCode (completed, onGoing…)"


def _katotth(rec: Record) -> Iterator[tuple]:
    codes = [text(c) for c in rec.ident.iterfind(
        ".//gmd:EX_GeographicDescription/gmd:geographicIdentifier/*/gmd:code", NS)]
    if not any(KATOTTH.match(c) for c in codes):
        yield None, "gmd:extent/gmd:EX_Extent/gmd:geographicElement/gmd:EX_GeographicDescription", (
            "no KATOTTH code of the territory: give EX_GeographicDescription/geographicIdentifier with the "
            f"code (UA + 17 digits){'; found ' + ', '.join(codes) if codes else ''}")


def _crs(rec: Record) -> Iterator[tuple]:
    if not [c for c in rec.root.iterfind("gmd:referenceSystemInfo/*/gmd:referenceSystemIdentifier/*/gmd:code", NS)
            if text(c)]:
        yield rec.root, "gmd:referenceSystemInfo", ("the coordinate reference system is not stated (e.g. "
                                                    "EPSG:5562 for USK-2000, EPSG:4326 for WGS 84)")


RULES: list[Rule] = [
    Rule("NSDI-LANG", "metadata in Ukrainian", "Law 2704-VIII (state language)", ALL, _language),
    Rule("NSDI-HOLDER", "data holder named", "Law 554-IX Art. 1; CMU Resolution 532 §73", ALL, _holder),
    Rule("NSDI-STATUS", "state of readiness", "CMU Resolution 532 §73", DATA, _status),
    Rule("NSDI-KATOTTH", "territory by its KATOTTH code", "CMU Resolution 532 §27; ДСТУ ISO 19112:2017; KATOTTH",
         ALL, _katotth),
    Rule("NSDI-CRS", "coordinate reference system stated", "ДСТУ ISO 19115; CMU Resolution 1035 (2004)", DATA,
         _crs),
]
