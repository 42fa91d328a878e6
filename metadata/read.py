"""What a person reads of a dataset's ISO 19139 record, read back from the record itself.

A dataset page shows the record's own words — title, abstract, lineage, the responsible organisation and the
metadata date, in Ukrainian and in English (``PT_FreeText``) — not the node config's: a custodian may supply
the official record (``datasets[i].record``), and then the record, not the config, is what the catalog and
every harvester see. The XML is parsed with entities and the network off.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

GMD = "{http://www.isotc211.org/2005/gmd}"
GCO = "{http://www.isotc211.org/2005/gco}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class Bilingual:
    uk: str = ""
    en: str = ""

    def __bool__(self) -> bool:
        return bool(self.uk or self.en)


@dataclass(frozen=True)
class RecordText:
    """The readable part of one ISO 19139 record."""

    identifier: str
    title: Bilingual
    abstract: Bilingual
    lineage: Bilingual
    organisation: Bilingual
    date_stamp: str


def _text(el: etree._Element | None) -> Bilingual:
    """A character string and its English ``LocalisedCharacterString`` (locale ``#eng``/``#EN``/…)."""
    if el is None:
        return Bilingual()
    uk = (el.findtext(f"{GCO}CharacterString") or "").strip()
    en = ""
    for loc in el.iter(f"{GMD}LocalisedCharacterString"):
        if (loc.get("locale") or "").lstrip("#").lower().startswith("en"):
            en = (loc.text or "").strip()
            break
    return Bilingual(uk, en)


def read_record(path: Path) -> RecordText | None:
    """The record's readable text; None when there is no readable record at ``path``."""
    try:
        root = etree.parse(str(path), _PARSER).getroot()
    except (OSError, etree.XMLSyntaxError):
        return None
    ident = root.find(f"{GMD}identificationInfo/*")
    cite = ident.find(f"{GMD}citation/{GMD}CI_Citation") if ident is not None else None
    party = ident.find(f".//{GMD}pointOfContact/{GMD}CI_ResponsibleParty") if ident is not None else None
    stamp = root.find(f"{GMD}dateStamp")
    return RecordText(
        identifier=(root.findtext(f"{GMD}fileIdentifier/{GCO}CharacterString") or "").strip(),
        title=_text(cite.find(f"{GMD}title") if cite is not None else None),
        abstract=_text(ident.find(f"{GMD}abstract") if ident is not None else None),
        lineage=_text(root.find(f"{GMD}dataQualityInfo/{GMD}DQ_DataQuality/{GMD}lineage/{GMD}LI_Lineage/"
                                f"{GMD}statement")),
        organisation=_text(party.find(f"{GMD}organisationName") if party is not None else None),
        date_stamp=("".join(stamp.itertext()).strip() if stamp is not None else ""),
    )
