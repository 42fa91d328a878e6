"""Safe XML parsing and ISO 19139 validation, offline.

Every record the node writes is validated before the catalog sees it, and so is every record a user
supplies: a broken one is refused with a readable list ("line 12: …"). Parsing never resolves external
entities, never loads a DTD and never touches the network, so a hostile record cannot read local files
(XXE) or make the node fetch URLs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

from geoportal.errors import MetadataError

SCHEMAS = Path(__file__).resolve().parent / "schemas" / "pycsw"
ISO_19139 = SCHEMAS / "plugins/profiles/apiso/schemas/ogc/iso/19139/20060504"
_WRAPPER = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:geoportal-network:iso19139-wrapper"
  elementFormDefault="qualified">
  <xs:import namespace="http://www.isotc211.org/2005/gmd" schemaLocation="{base}/gmd/gmd.xsd"/>
  <xs:import namespace="http://www.isotc211.org/2005/srv" schemaLocation="{base}/srv/srv.xsd"/>
  <xs:import namespace="http://www.isotc211.org/2005/gmx" schemaLocation="{base}/gmx/gmx.xsd"/>
</xs:schema>
"""


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_blank_text=False)


def parse_xml(data: bytes, source: str = "record") -> etree._Element:
    """Parse untrusted XML; a DOCTYPE with entities is refused outright."""
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as e:
        raise MetadataError(f"{source}: not well-formed XML (line {e.lineno}): {e.msg}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        if b"<!ENTITY" in data:
            raise MetadataError(f"{source}: XML with entity declarations (DOCTYPE/ENTITY) is refused; "
                                "metadata records need none")
    return root


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    wrapper = _WRAPPER.format(base=ISO_19139.as_uri())
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    try:
        return etree.XMLSchema(etree.fromstring(wrapper.encode(), parser))
    except etree.XMLSchemaParseError as e:
        raise MetadataError(f"the ISO 19139 schemas in {ISO_19139} cannot be loaded: {e}") from e


def validate_iso19139(data: bytes, source: str = "record") -> list[str]:
    """Readable schema errors of an ISO 19139 record (empty when valid)."""
    root = parse_xml(data, source)
    schema = _schema()
    if schema.validate(root.getroottree()):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def check_iso19139(data: bytes, source: str = "record") -> None:
    """Raise a MetadataError listing every problem when the record is not valid ISO 19139."""
    errors = validate_iso19139(data, source)
    if errors:
        shown = "\n  - ".join(errors[:20])
        more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise MetadataError(f"{source}: not a valid ISO 19139 record ({len(errors)} problem(s)):\n  - {shown}{more}")
