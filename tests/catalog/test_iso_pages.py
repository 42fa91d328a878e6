"""GetRecords pages of whole ISO records answered from the stored XML (catalog/pycsw_process/iso_pages.py)
give what pycsw gives, to every caller — read through the real node.

One built hromada (a restricted dataset hidden from others, an officials-only one shown to others without
data links) is served twice from the same workspace by the real node behind the test front
(``tests/catalog/principal_front.py``): once as shipped, once with ``GEOPORTAL_CATALOG_ISO_PAGES=0`` (every
request to pycsw). The same requests go to both: the same counts, the same identifiers in the same order and
XML-equal records, page by page, for the public, officials here and elsewhere, an admin and a harvesting
parent; odd requests get the same kind of answer (never a 500). The answers are checked against the CSW
2.0.2 and ISO 19139 schemas pycsw ships and read by OWSLib.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
import requests
from lxml import etree

from geoportal.serve import free_port, stop
from tests.catalog.test_catalog_access import (HIDDEN, META, PRINCIPALS, PUBLISHER, SECRET_EN, SECRET_TITLE, auth,
                                               restricted_config, start_front)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CSW = "http://www.opengis.net/cat/csw/2.0.2"
GMD = "http://www.isotc211.org/2005/gmd"
GCO = "http://www.isotc211.org/2005/gco"
HARVEST = "harvest-token-of-iso-pages"
PAGE = {"service": "CSW", "version": "2.0.2", "request": "GetRecords", "typeNames": "csw:Record",
        "resultType": "results", "elementSetName": "full", "outputSchema": GMD}
CALLERS = [None, "official-here", "official-elsewhere", "citizen", "admin", "harvester"]
PYCSW_MARK = b"<!-- pycsw "  # pycsw's answers carry it; the stored-XML answers do not


@pytest.fixture(scope="module")
def fronts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(the node as shipped, the same node with every request to pycsw)."""
    base = tmp_path_factory.mktemp("isopages")
    cfg = restricted_config(base / "hromada.yaml")
    work, port = base / "ws", free_port()
    env = {"GEOPORTAL_CSW_TOKENS": PUBLISHER, "GEOPORTAL_HARVEST_TOKENS": HARVEST}
    subprocess.run([sys.executable, "-m", "geoportal.cli", "build", str(cfg), "--workdir", str(work), "--port",
                    str(port)], cwd=ROOT, check=True, capture_output=True, env={**os.environ, **env})
    fast, fast_url = start_front(work, PRINCIPALS, env, port)
    try:
        slow, slow_url = start_front(work, PRINCIPALS, {**env, "GEOPORTAL_CATALOG_ISO_PAGES": "0"})
        try:
            yield fast_url, slow_url
        finally:
            stop(slow, timeout=20)
    finally:
        stop(fast, timeout=20)


def headers(who: str | None) -> dict[str, str]:
    return {"X-Geoportal-Harvest": HARVEST} if who == "harvester" else auth(who)


def get(url: str, who: str | None = None, **params: str) -> requests.Response:
    return requests.get(url + "/csw", params={**PAGE, **params}, headers=headers(who), timeout=120)


def results(r: requests.Response) -> tuple[dict[str, str], list[str], list[bytes]]:
    """(SearchResults attributes, record identifiers, each record in exclusive C14N)."""
    assert r.status_code == 200, r.text[:500]
    found = etree.fromstring(r.content).find(f"{{{CSW}}}SearchResults")
    assert found is not None, r.text[:500]
    ids = [md.findtext(f"{{{GMD}}}fileIdentifier/{{{GCO}}}CharacterString") for md in found]
    return dict(found.attrib), ids, [etree.tostring(md, method="c14n", exclusive=True) for md in found]


def walk(url: str, who: str | None, size: int) -> list[tuple[dict[str, str], list[str], list[bytes]]]:
    """Every page of ``size`` records, following nextRecord, and one past the end."""
    pages, start = [], 1
    while True:
        pages.append(results(get(url, who, startPosition=str(start), maxRecords=str(size))))
        nxt = int(pages[-1][0]["nextRecord"])
        if nxt == 0:
            break
        assert nxt == start + size and len(pages) < 200
        start = nxt
    pages.append(results(get(url, who, startPosition=str(start + size + 3), maxRecords=str(size))))
    return pages


@pytest.mark.parametrize("who", CALLERS)
def test_every_page_equals_pycsws_for_every_caller(fronts: tuple[str, str], who: str | None) -> None:
    fast, slow = fronts
    for size in (1, 4, 1000):
        ours, theirs = walk(fast, who, size), walk(slow, who, size)
        assert [p[0] for p in ours] == [p[0] for p in theirs]  # matched, returned, nextRecord, schema, set
        assert [p[1] for p in ours] == [p[1] for p in theirs]  # the same records in the same order
        assert [p[2] for p in ours] == [p[2] for p in theirs]  # XML-equal
    every = [i for page in ours for i in page[1]]
    assert len(every) == len(set(every)) == int(ours[0][0]["numberOfRecordsMatched"]) > 3


def test_the_pages_are_answered_from_the_stored_xml(fronts: tuple[str, str]) -> None:
    fast, slow = fronts
    ours, theirs = get(fast, maxRecords="5"), get(slow, maxRecords="5")
    assert PYCSW_MARK not in ours.content and PYCSW_MARK in theirs.content
    assert ours.headers["Content-Type"] == theirs.headers["Content-Type"]
    assert ours.headers["Cache-Control"] == theirs.headers["Cache-Control"] == "private, no-cache"
    # a request the module does not claim (a constraint) is pycsw's, on the shipped node too
    claimed = get(fast, maxRecords="5", constraintLanguage="CQL_TEXT", constraint="dc:type = 'dataset'")
    assert PYCSW_MARK in claimed.content


def urls(r: requests.Response, ident: str) -> list[str] | None:
    """The data links of record ``ident`` in a GetRecords answer (None: not in it)."""
    for md in etree.fromstring(r.content).find(f"{{{CSW}}}SearchResults"):
        if md.findtext(f"{{{GMD}}}fileIdentifier/{{{GCO}}}CharacterString") == ident:
            return [u.text for u in md.iterfind(f".//{{{GMD}}}distributionInfo//{{{GMD}}}URL")]
    return None


def text(r: requests.Response) -> str:
    """Every text of an answer, parsed (the stored XML writes non-ASCII letters as character references)."""
    root = etree.fromstring(r.content)
    return " ".join([*root.itertext(), *(v for el in root.iter() for v in el.attrib.values())])


def test_a_restricted_record_never_appears_to_those_it_is_not_open_to(fronts: tuple[str, str]) -> None:
    fast, _ = fronts
    for who in (None, "citizen", "official-elsewhere"):
        r = get(fast, who, maxRecords="1000")
        assert HIDDEN not in text(r) and SECRET_TITLE not in text(r) and SECRET_EN not in text(r)
        assert urls(r, META) == ([] if who != "official-elsewhere" else urls(get(fast, "admin", maxRecords="1000"),
                                                                           META))
    for who in ("official-here", "admin", "harvester"):
        r = get(fast, who, maxRecords="1000")
        assert HIDDEN in text(r) and SECRET_TITLE in text(r) and urls(r, HIDDEN) and urls(r, META), who
    # one record a page: the hidden one is in none of the public's pages either
    assert all(HIDDEN not in p[1] for p in walk(fast, None, 1))


def _csw_schema() -> etree.XMLSchema:
    """CSW 2.0.2 discovery, from the schemas pycsw ships (offline)."""
    from catalog.pycsw import pycsw_venv

    found = sorted(pycsw_venv().glob("lib/python3*/site-packages/pycsw/core/schemas/ogc/csw/2.0.2"))
    assert found, "pycsw is not installed in its venv"
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(found[0] / "CSW-discovery.xsd"), parser))


def test_the_answer_is_a_valid_csw_response_that_owslib_reads(fronts: tuple[str, str]) -> None:
    """The answer against the CSW 2.0.2 schema (its records taken out: the ISO schemas' GML and the
    filter's GML 3.1.1 cannot be loaded together) and each record against ISO 19139; then read by OWSLib."""
    from owslib.csw import CatalogueServiceWeb

    from metadata.validate import validate_iso19139

    fast, slow = fronts
    schema = _csw_schema()
    for who in (None, "admin"):
        ours = get(fast, who, maxRecords="1000")
        doc = etree.fromstring(ours.content)
        records = doc.find(f"{{{CSW}}}SearchResults")
        assert int(records.get("numberOfRecordsReturned")) == len(records) > 3
        for md in records:
            assert validate_iso19139(etree.tostring(md)) == []
        for md in list(records):
            records.remove(md)
        assert schema.validate(doc), schema.error_log.filter_from_errors()[:5]
        # OWSLib's reading of a GetRecords answer, with its own parser of the results (its getrecords2
        # sends a POST, which pycsw answers: the answer of the GET is handed to the same parser)
        read = {}
        for url, content in ((fast, ours.content), (slow, get(slow, who, maxRecords="1000").content)):
            c = CatalogueServiceWeb(url + "/csw", skip_caps=True)
            c._exml, c.records = etree.fromstring(content), {}
            c._parserecords(outputschema=GMD, esn="full")
            found = c._exml.find(f"{{{CSW}}}SearchResults")
            c.results = {k: int(found.get(a)) for k, a in (("matches", "numberOfRecordsMatched"),
                                                           ("returned", "numberOfRecordsReturned"),
                                                           ("nextrecord", "nextRecord"))}
            read[url] = (c.results, {k: (r.identification[0].title, r.dataseturi, r.datestamp)
                                     for k, r in c.records.items()})
        assert read[fast] == read[slow] and read[fast][0]["returned"] == len(read[fast][1]) > 3


def report(r: requests.Response) -> tuple[str, str | None] | None:
    """(exceptionCode, locator) of an ExceptionReport, None for any other answer."""
    try:
        root = etree.fromstring(r.content)
    except etree.XMLSyntaxError:
        return None
    if etree.QName(root).localname != "ExceptionReport":
        return None
    ex = next(e for e in root if etree.QName(e).localname == "Exception")  # OWS 1.0 or 2.0
    return ex.get("exceptionCode"), ex.get("locator")


@pytest.mark.parametrize("params", [
    {"startPosition": "1199"}, {"startPosition": "99999"}, {"startPosition": ""}, {"maxRecords": "0"},
    {"maxRecords": ""}, {"maxRecords": "9" * 30}, {"maxRecords": "1000000"},
    {"typeNames": "gmd:MD_Metadata"}, {"typeNames": "csw:Record,gmd:MD_Metadata"},
    {"outputSchema": "urn:unknown"}, {"elementSetName": "everything"}, {"typeNames": "csw:Nothing"},
    {"resultType": "hits"}, {"resultType": "validate"}, {"version": "2.0.1"}, {"service": "WMS"},
])
def test_other_and_odd_pages_answer_as_pycsw(fronts: tuple[str, str], params: dict[str, str]) -> None:
    fast, slow = fronts
    ours, theirs = get(fast, **params), get(slow, **params)
    assert ours.status_code == theirs.status_code < 500
    if report(theirs) is not None:
        assert report(ours) == report(theirs)
    elif etree.fromstring(theirs.content).tag == f"{{{CSW}}}GetRecordsResponse":
        assert results(ours) == results(theirs)
    else:  # resultType=validate: an acknowledgement
        assert etree.fromstring(ours.content).tag == etree.fromstring(theirs.content).tag


@pytest.mark.parametrize("params", [
    {"startPosition": "abc"}, {"startPosition": "0"}, {"startPosition": "-3"}, {"startPosition": "9" * 30},
    {"maxRecords": "abc"}, {"maxRecords": "-1"}, {"maxRecords": "1.5"},
])
def test_an_unusable_start_or_count_is_an_exception_report(fronts: tuple[str, str], params: dict[str, str]) -> None:
    """pycsw answers some of these with an ExceptionReport, others with a 500 (maxRecords=abc), with every
    record and 'returned -1' (maxRecords=-1) or with the record before the first (startPosition=0); the
    stored-XML answer is a 400 ExceptionReport naming the parameter."""
    fast, _ = fronts
    ours = get(fast, **params)
    assert ours.status_code == 400
    assert report(ours) == ("InvalidParameterValue", next(iter(params)))


def test_requests_the_front_refuses_are_refused_alike(fronts: tuple[str, str]) -> None:
    body = (f'<csw:GetRecords xmlns:csw="{CSW}" service="CSW" version="2.0.2" resultType="results" '
            f'outputSchema="{GMD}"><csw:Query typeNames="csw:Record"><csw:ElementSetName>full'
            '</csw:ElementSetName></csw:Query></csw:GetRecords>').encode()
    answers = []
    for url in fronts:
        mismatched = requests.post(url + "/csw", params={**PAGE, "request": "GetCapabilities"}, data=body,
                                   headers={"Content-Type": "application/xml"}, timeout=60)
        twice = requests.get(url + "/csw?" + "&".join(f"{k}={v}" for k, v in PAGE.items()) + "&startPosition=1"
                             "&STARTPOSITION=3", timeout=60)
        posted = requests.post(url + "/csw", params=PAGE, data=body, headers={"Content-Type": "application/xml"},
                               timeout=60)  # the body is what is executed (a GetRecords): pycsw's answer
        answers.append((mismatched.status_code, report(mismatched), twice.status_code, report(twice),
                        posted.status_code, results(posted)[:2]))
    assert answers[0] == answers[1]
    assert answers[0][0] == answers[0][2] == 400 and answers[0][1] and answers[0][3]


def test_a_page_holding_a_record_pycsw_builds_is_pycsws(fronts: tuple[str, str]) -> None:
    """A record stored in Dublin Core (inserted by CSW-T) has no stored ISO document: pycsw makes one from
    its columns, so every page holding it is left to pycsw — and still equals pycsw's."""
    fast, slow = fronts
    rid = "dc-record-of-iso-pages"
    insert = (f'<csw:Transaction xmlns:csw="{CSW}" xmlns:dc="http://purl.org/dc/elements/1.1/" service="CSW" '
              f'version="2.0.2"><csw:Insert><csw:Record><dc:identifier>{rid}</dc:identifier><dc:title>Запис '
              'Dublin Core</dc:title><dc:type>dataset</dc:type></csw:Record></csw:Insert></csw:Transaction>')
    delete = (f'<csw:Transaction xmlns:csw="{CSW}" xmlns:ogc="http://www.opengis.net/ogc" service="CSW" '
              f'version="2.0.2"><csw:Delete><csw:Constraint version="1.1.0"><ogc:Filter><ogc:PropertyIsEqualTo>'
              f'<ogc:PropertyName>dc:identifier</ogc:PropertyName><ogc:Literal>{rid}</ogc:Literal>'
              '</ogc:PropertyIsEqualTo></ogc:Filter></csw:Constraint></csw:Delete></csw:Transaction>')
    write = {"Content-Type": "application/xml", "Authorization": f"Bearer {PUBLISHER}"}
    r = requests.post(fast + "/csw", data=insert.encode("utf-8"), headers=write, timeout=60)
    assert re.search(r"totalInserted>1<", r.text), r.text[:500]
    try:
        pages = {url: walk(url, None, 4) for url in fronts}
        assert pages[fast] == pages[slow]
        holding = [i for i, p in enumerate(pages[fast]) if rid in p[1]]
        assert len(holding) == 1
        start = str(1 + 4 * holding[0])
        assert PYCSW_MARK in get(fast, startPosition=start, maxRecords="4").content
        assert PYCSW_MARK not in get(fast, startPosition=str(int(start) + 4 if holding[0] == 0 else 1),
                                     maxRecords="4").content
    finally:
        r = requests.post(fast + "/csw", data=delete.encode("utf-8"), headers=write, timeout=60)
        assert re.search(r"totalDeleted>1<", r.text), r.text[:500]
