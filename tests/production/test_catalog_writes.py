"""One catalog in production: a record a publisher inserts, changes and deletes with CSW-T (through the
gate, with a publisher token) is listed, changed and gone at once for every reader of the catalog — CSW
(OWSLib), OAI-PMH (Sickle, an independent harvester following resumption tokens: pages are four records
long here), OGC API Records and, after its rebuild in the background, the node's /search — all reading the
PostgreSQL repository that CSW-T wrote to. A record of the officials' dataset written the same way never
shows to an anonymous caller on any of them, and does show to an official.

Deleted records are not tracked by the node's OAI-PMH (``deletedRecord=no``, as on a built node): a record
deleted with CSW-T leaves every list and is ``idDoesNotExist`` to GetRecord."""

from __future__ import annotations

import base64
import random
import string
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest
import requests
from lxml import etree
from owslib.csw import CatalogueServiceWeb
from sickle import Sickle
from sickle import oaiexceptions

from tests.conftest import ROOT
from tests.production.conftest import OAI_PAGE_SIZE, TOKEN

pytestmark = [pytest.mark.production, pytest.mark.slow, pytest.mark.timeout(900)]

CSW = "http://www.opengis.net/cat/csw/2.0.2"
GMD = "http://www.isotc211.org/2005/gmd"
GCO = "http://www.isotc211.org/2005/gco"
NS = {"gmd": GMD, "gco": GCO}
OFFICIAL = ("catalog-official", "an official of the oblast, for the catalog test")
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def word() -> str:
    """A word found in no record: the unique title word a search is made by."""
    return "zond" + "".join(random.choices(string.ascii_lowercase, k=10))


def record(workdir: Path, dataset: str, identifier: str, title: str, stamp: str) -> bytes:
    """One of the node's own records as a new one: its identifier, title and date stamp replaced."""
    path = next((workdir / "records").glob(f"*.{dataset}.xml"))
    md = etree.parse(str(path), PARSER).getroot()
    md.find("gmd:fileIdentifier/gco:CharacterString", NS).text = identifier
    md.find("gmd:dateStamp/gco:DateTime", NS).text = stamp
    md.find("gmd:identificationInfo//gmd:citation//gmd:title/gco:CharacterString", NS).text = title
    return etree.tostring(md)


def transact(base: str, operation: bytes) -> etree._Element:
    doc = (f'<csw:Transaction xmlns:csw="{CSW}" xmlns:ogc="http://www.opengis.net/ogc" service="CSW" '
           'version="2.0.2">').encode() + operation + b"</csw:Transaction>"
    r = requests.post(base + "/csw", data=doc, timeout=120,
                      headers={"Content-Type": "application/xml", "Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and b"ExceptionReport" not in r.content, r.text[:500]
    return etree.fromstring(r.content)


def total(answer: etree._Element, what: str) -> int:
    return int(answer.findtext(f".//{{{CSW}}}{what}") or 0)


def insert(base: str, xml: bytes) -> None:
    assert total(transact(base, b"<csw:Insert>" + xml + b"</csw:Insert>"), "totalInserted") == 1


def update(base: str, xml: bytes) -> None:
    assert total(transact(base, b"<csw:Update>" + xml + b"</csw:Update>"), "totalUpdated") == 1


def delete(base: str, identifier: str) -> None:
    op = ('<csw:Delete><csw:Constraint version="1.1.0"><ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>'
          f"apiso:Identifier</ogc:PropertyName><ogc:Literal>{identifier}</ogc:Literal></ogc:PropertyIsEqualTo>"
          "</ogc:Filter></csw:Constraint></csw:Delete>")
    assert total(transact(base, op.encode()), "totalDeleted") == 1


def basic(who: tuple[str, str] | None) -> dict[str, str]:
    if who is None:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(f"{who[0]}:{who[1]}".encode()).decode()}


# -- the readers -----------------------------------------------------------------------------------------

def oai_identifiers(base: str, who: tuple[str, str] | None = None) -> list[str]:
    """Every identifier an OAI-PMH harvester lists (Sickle follows the resumption tokens)."""
    sickle = Sickle(base + "/csw?mode=oaipmh", timeout=60, headers=basic(who))
    return [h.identifier for h in sickle.ListIdentifiers(metadataPrefix="oai_dc")]


def oai_record(base: str, identifier: str, who: tuple[str, str] | None = None) -> tuple[str, str] | None:
    """(title, datestamp) of the ISO record GetRecord gives; None when the repository does not know it."""
    sickle = Sickle(base + "/csw?mode=oaipmh", timeout=60, headers=basic(who))
    try:
        rec = sickle.GetRecord(identifier=identifier, metadataPrefix="iso19139")
    except oaiexceptions.IdDoesNotExist:
        return None
    title = rec.xml.find(".//gmd:identificationInfo//gmd:citation//gmd:title/gco:CharacterString", NS)
    return title.text, rec.header.datestamp


def csw_title(base: str, identifier: str, who: tuple[str, str] | None = None) -> str | None:
    csw = CatalogueServiceWeb(base + "/csw", timeout=60, skip_caps=True, headers=basic(who))
    csw.getrecordbyid([identifier])
    return csw.records[identifier].title if identifier in csw.records else None


def records_title(base: str, identifier: str, who: tuple[str, str] | None = None) -> str | None:
    r = requests.get(f"{base}/ogcapi/collections/catalog/items/{identifier}", params={"f": "json"},
                     headers=basic(who), timeout=60)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text[:300]
    return str(r.json()["properties"]["title"])


def search_ids(base: str, q: str, who: tuple[str, str] | None = None) -> list[str]:
    r = requests.get(base + "/search", params={"f": "json", "q": q}, headers=basic(who), timeout=60)
    assert r.status_code == 200, r.text[:300]
    return [h["id"] for h in r.json()["hits"]]


def eventually(what: str, ok: Callable[[], bool], timeout: float = 90) -> None:
    """The search index is rebuilt in the background after a transaction: wait for it (a second or two)."""
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, f"{what}: not after {timeout:.0f} s"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def official(production) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    state = production.state
    subprocess.run([sys.executable, "-m", "geoportal.cli", "users", "add", OFFICIAL[0], "--role", "official",
                    "--org", "UA18000000000041385", "--config", state["config"], "--workdir", state["workdir"]],
                   input=OFFICIAL[1] + "\n", text=True, capture_output=True, check=True, cwd=ROOT, timeout=120)
    return OFFICIAL


def test_insert_update_delete_reach_every_reader(production) -> None:  # type: ignore[no-untyped-def]
    base, workdir = production.base_url, production.node.workdir
    before = oai_identifiers(base)
    assert len(before) > OAI_PAGE_SIZE  # the harvest spans several pages
    rid, first, second = f"csw-t-{uuid.uuid4()}", word(), word()

    insert(base, record(workdir, "hromadas", rid, f"Громади {first}", "2025-03-01T10:00:00Z"))
    assert oai_identifiers(base) == sorted([*before, rid])  # ordered by identifier, one page after another
    assert oai_record(base, rid) == (f"Громади {first}", "2025-03-01T10:00:00Z")
    assert csw_title(base, rid) == f"Громади {first}"
    assert records_title(base, rid) == f"Громади {first}"
    eventually("/search lists the inserted record", lambda: search_ids(base, first) == [rid])

    update(base, record(workdir, "hromadas", rid, f"Громади {second}", "2025-04-02T11:30:00Z"))
    assert oai_record(base, rid) == (f"Громади {second}", "2025-04-02T11:30:00Z")
    assert rid in oai_identifiers(base)
    assert csw_title(base, rid) == f"Громади {second}"
    assert records_title(base, rid) == f"Громади {second}"
    eventually("/search follows the update", lambda: search_ids(base, second) == [rid]
               and search_ids(base, first) == [])

    delete(base, rid)
    assert oai_record(base, rid) is None
    assert oai_identifiers(base) == before
    assert csw_title(base, rid) is None
    assert records_title(base, rid) is None
    eventually("/search forgets the deleted record", lambda: search_ids(base, second) == [])


def test_a_restricted_record_never_reaches_an_anonymous_reader(production, official) -> None:  # type: ignore[no-untyped-def]
    base, workdir = production.base_url, production.node.workdir
    rid, secret = f"csw-t-{uuid.uuid4()}", word()
    insert(base, record(workdir, "nature-protection-register", rid, f"Реєстр {secret}", "2025-05-01T09:00:00Z"))
    try:
        # at once, before anything derived from the catalog has followed
        assert oai_record(base, rid) is None and rid not in oai_identifiers(base)
        assert csw_title(base, rid) is None and records_title(base, rid) is None
        # the official sees it: the access level of the written row was read from PostgreSQL
        assert oai_record(base, rid, official) == (f"Реєстр {secret}", "2025-05-01T09:00:00Z")
        assert rid in oai_identifiers(base, official)
        assert csw_title(base, rid, official) == f"Реєстр {secret}"
        eventually("/search lists it for the official", lambda: search_ids(base, secret, official) == [rid])
        assert search_ids(base, secret) == []
        assert oai_record(base, rid) is None and rid not in oai_identifiers(base)
        dcat = requests.get(base + "/dcat.jsonld", timeout=60).text
        assert "nature-protection-register" not in dcat and rid not in dcat
    finally:
        delete(base, rid)
    assert oai_record(base, rid, official) is None
    eventually("/search forgets it for the official too", lambda: search_ids(base, secret, official) == [])
