"""The catalog's own full-text search folds Cyrillic case: CSW ``csw:AnyText`` (OWSLib, FES), ``AnyText``
unprefixed (CQL text, GET) and OGC API Records ``q=`` find "овруцька" where the records say "Овруцька"
(SQLite's LIKE folded ASCII only: lower case found nothing)."""

from __future__ import annotations

import pytest
import requests
from owslib.csw import CatalogueServiceWeb
from owslib.fes import PropertyIsLike

from tests.conftest import ServedNode

pytestmark = pytest.mark.slow


def csw_matches(node: ServedNode, pattern: str) -> int:
    csw = CatalogueServiceWeb(node.base_url + "/csw", timeout=60)
    csw.getrecords2(constraints=[PropertyIsLike("csw:AnyText", pattern)], maxrecords=0)
    return int(csw.results["matches"])


def cql_matches(node: ServedNode, word: str) -> int:
    r = requests.get(node.base_url + "/csw", timeout=60, params={
        "service": "CSW", "version": "2.0.2", "request": "GetRecords", "typeNames": "csw:Record",
        "resultType": "hits", "elementSetName": "brief", "constraintLanguage": "CQL_TEXT", "constraint_language_version": "1.1.0",
        "constraint": f"AnyText like '%{word}%'"})  # pycsw 2.6's CQL knows the operator in lower case only
    assert r.status_code == 200, r.text[:300]
    from lxml import etree

    root = etree.fromstring(r.content, etree.XMLParser(resolve_entities=False, no_network=True))
    found = root.find(".//{http://www.opengis.net/cat/csw/2.0.2}SearchResults")
    assert found is not None, r.text[:300]
    return int(found.get("numberOfRecordsMatched"))


def records_matched(node: ServedNode, q: str) -> int:
    r = requests.get(node.base_url + "/ogcapi/collections/catalog/items",
                     params={"q": q, "f": "json", "limit": 100}, timeout=60)
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    return int(body.get("numberMatched", len(body["features"])))


@pytest.mark.parametrize("lower, upper", [("овруцька", "Овруцька"), ("ОВРУЦЬКА", "Овруцька")])
def test_csw_anytext_ignores_cyrillic_case(ovruch_node, lower: str, upper: str) -> None:
    expected = csw_matches(ovruch_node, f"%{upper}%")
    assert expected >= 2  # the node's datasets and services
    assert csw_matches(ovruch_node, f"%{lower}%") == expected
    assert cql_matches(ovruch_node, lower) == cql_matches(ovruch_node, upper) == expected


def test_ogc_api_records_q_ignores_cyrillic_case(ovruch_node) -> None:
    expected = records_matched(ovruch_node, "Овруцька")
    assert expected >= 2
    assert records_matched(ovruch_node, "овруцька") == expected


def test_case_folding_on_the_demo_node(demo_node) -> None:
    """Capitalised only in its title: "Межа Житомирської області"."""
    assert csw_matches(demo_node, "%межа житомирської%") == csw_matches(demo_node, "%Межа Житомирської%") >= 1
    assert cql_matches(demo_node, "МЕЖА") == cql_matches(demo_node, "Межа") >= 1
    assert records_matched(demo_node, "межа житомирської") == records_matched(demo_node, "Межа Житомирської") >= 1


def test_case_sensitive_properties_still_match_exact_text(ovruch_node) -> None:
    """The Unicode LIKE keeps SQL's wildcards: '_' one character, '%' any run, nothing else special."""
    assert csw_matches(ovruch_node, "%овруцьк_%") == csw_matches(ovruch_node, "%Овруцька%")
    assert csw_matches(ovruch_node, "%овр%цька%") >= csw_matches(ovruch_node, "%Овруцька%")
    assert csw_matches(ovruch_node, "%овруцька[%") == 0
