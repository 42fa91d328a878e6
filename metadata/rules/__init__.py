"""Metadata rules beyond the XML schema: each rule names where it comes from, and each failure names the
element it concerns (its XPath and source line), so a custodian can fix a record without reading the
regulation.

Rule sets (a registry, like the readers'): ``inspire`` (metadata/rules/inspire.py — Regulation 1205/2008
and the INSPIRE metadata Technical Guidelines) and ``nsdi`` (metadata/rules/nsdi.py — Ukraine's national
geospatial data infrastructure). Adding a set is one module and one line in :data:`RULESETS`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable

from lxml import etree

from metadata.validate import parse_xml

NS = {
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gco": "http://www.isotc211.org/2005/gco",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "srv": "http://www.isotc211.org/2005/srv",
    "gml": "http://www.opengis.net/gml",
    "gml32": "http://www.opengis.net/gml/3.2",
    "xlink": "http://www.w3.org/1999/xlink",
}


@dataclass(frozen=True)
class Failure:
    """One rule a record breaks: which rule, on which element, what is wrong and what to do."""

    rule: str
    element: str  # XPath of the element concerned (or of the missing one, under its parent)
    line: int | None
    message: str
    source: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"[{self.rule}] {where}{self.element}: {self.message} ({self.source})"


class Record:
    """A parsed record with the lookups every rule needs."""

    def __init__(self, root: etree._Element):
        self.root = root
        self.tree = root.getroottree()
        level = root.find("gmd:hierarchyLevel/gmd:MD_ScopeCode", NS)
        self.level = (level.get("codeListValue") or (level.text or "")).strip() if level is not None else "dataset"
        self.ident = root.find("gmd:identificationInfo/*", NS)

    @property
    def is_service(self) -> bool:
        return self.level == "service"

    def path(self, el: etree._Element) -> str:
        return self.tree.getpath(el)

    def xpath(self, expr: str, context: etree._Element | None = None) -> list:
        return (context if context is not None else self.root).xpath(expr, namespaces=NS)


#: a check yields (element or None for the record, XPath of a missing child or "", message)
Check = Callable[[Record], Iterable[tuple[etree._Element | None, str, str]]]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    source: str
    levels: frozenset[str]  # hierarchy levels the rule applies to
    check: Check


def text(el: etree._Element | None) -> str:
    """The text of a CharacterString / Anchor / plain element, stripped."""
    if el is None:
        return ""
    inner = el.find("gco:CharacterString", NS)
    if inner is None:
        inner = el.find("gmx:Anchor", NS)
    return "".join((inner if inner is not None else el).itertext()).strip()


def run(rules: Iterable[Rule], rec: Record) -> list[Failure]:
    out: list[Failure] = []
    if rec.ident is None:
        return [Failure("ISO-IDENT", rec.path(rec.root) + "/gmd:identificationInfo", rec.root.sourceline,
                        "no identification (MD_DataIdentification or SV_ServiceIdentification): nothing to check",
                        "ISO 19115 B.2.2")]
    for rule in rules:
        if rec.level not in rule.levels:
            continue
        for el, missing, message in rule.check(rec):
            anchor = el if el is not None else (rec.ident if rec.ident is not None else rec.root)
            anchor, missing = _deepest(anchor, missing)
            element = rec.path(anchor) + (f"/{missing}" if missing else "")
            out.append(Failure(rule.id, element, anchor.sourceline, message, rule.source))
    return out


def _deepest(anchor: etree._Element, missing: str) -> tuple[etree._Element, str]:
    """Walk down the missing path while its elements exist, so the failure points at the nearest existing
    element (and its line) and names only what is really absent."""
    steps = [s for s in missing.split("/") if s]
    while len(steps) > 1:  # the last step is what is missing (others of its kind may exist)
        child = anchor.find(steps[0], NS)
        if child is None:
            break
        anchor, steps = child, steps[1:]
    return anchor, "/".join(steps)


def _rulesets() -> dict[str, list[Rule]]:
    from metadata.rules import inspire, nsdi

    return {"inspire": inspire.RULES, "nsdi": nsdi.RULES}


RULESETS = ("inspire", "nsdi")


def check_record(data: bytes, rulesets: Iterable[str], source: str = "record") -> list[Failure]:
    """Every failure of the record against the named rule sets (empty when it passes them all)."""
    sets = _rulesets()
    rec = Record(parse_xml(data, source))
    out: list[Failure] = []
    for name in dict.fromkeys(rulesets):
        if name not in sets:
            raise ValueError(f"unknown rule set '{name}' (known: {', '.join(sets)})")
        out += [f for f in run(sets[name], rec) if f not in out]
    return out


def warn_failures(data: bytes, source: str, log: "logging.Logger",
                  rulesets: Iterable[str] = RULESETS) -> list[Failure]:
    """Log (as warnings) every INSPIRE/NSDI rule a record the node publishes breaks; the build goes on —
    the rules say what a record lacks, the XML schema says whether it can be published at all."""
    failures = check_record(data, rulesets, source)
    for f in failures:
        log.warning("%s: %s", source, f)
    return failures
