"""OAI-PMH at /csw?mode=oaipmh, checked with Sickle (an independent OAI-PMH harvester) against a served node
whose pages are two records long, and the repository read directly from the node's catalog.db."""

from __future__ import annotations

import os
import sqlite3
from collections import Counter

import pytest
import requests
from lxml import etree
from sickle import Sickle
from sickle import oaiexceptions as oe
from sickle.iterator import OAIResponseIterator

from tests.conftest import OAI_PAGE as PAGE, ServedNode

OAI = "{http://www.openarchives.org/OAI/2.0/}"
GMD = "{http://www.isotc211.org/2005/gmd}"
GCO = "{http://www.isotc211.org/2005/gco}"


@pytest.fixture(scope="module")
def node(token_node: ServedNode) -> ServedNode:
    """The sample node served with OAI-PMH pages of PAGE records (tests/conftest.py token_node: the catalog
    gate's tests share it; none of them leaves a record behind)."""
    return token_node


def endpoint(node: ServedNode) -> str:
    return node.base_url + "/csw?mode=oaipmh"


def stored_ids(node: ServedNode, iso_only: bool = False) -> set[str]:
    """The records an anonymous harvester may see, read from the catalog database: public ones (the sample
    node also has a dataset for officials, whose record the catalog hides from the public)."""
    with sqlite3.connect(node.workdir / "catalog.db") as conn:
        rows = conn.execute("SELECT identifier, schema FROM records WHERE geoportal_variant = 'full' "
                            "AND geoportal_level = 'public'").fetchall()
    return {i for i, s in rows if not iso_only or s == "http://www.isotc211.org/2005/gmd"}


def get(node: ServedNode, **params: str) -> etree._Element:
    r = requests.get(endpoint(node), params=params, timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/xml")
    root = etree.fromstring(r.content)
    check_structure(root)
    return root


def check_structure(root: etree._Element) -> None:
    """The OAI-PMH.xsd envelope (no copy of the XSD is available offline): responseDate, request, then
    either errors or the one element named by the verb."""
    assert root.tag == OAI + "OAI-PMH"
    kids = [etree.QName(k).localname for k in root]
    assert kids[:2] == ["responseDate", "request"]
    rest = kids[2:]
    assert rest and (set(rest) == {"error"} or (len(rest) == 1 and rest[0] == root[1].get("verb"))), kids
    for h in root.iter(OAI + "header"):
        assert [etree.QName(k).localname for k in h][:2] == ["identifier", "datestamp"]


def test_sickle_lists_every_identifier_once_over_pages(node: ServedNode) -> None:
    headers = list(Sickle(endpoint(node), timeout=60).ListIdentifiers(metadataPrefix="oai_dc"))
    ids = Counter(h.identifier for h in headers)
    assert max(ids.values()) == 1, ids
    assert set(ids) == stored_ids(node)
    assert len(ids) > 2 * PAGE  # paging really happened
    for h in headers:
        assert len(h.datestamp) == 20 and h.datestamp.endswith("Z")


@pytest.mark.parametrize("prefix", ["oai_dc", "iso19139"])
def test_sickle_harvests_every_record_once(node: ServedNode, prefix: str) -> None:
    records = list(Sickle(endpoint(node), timeout=60).ListRecords(metadataPrefix=prefix))
    ids = Counter(r.header.identifier for r in records)
    assert max(ids.values()) == 1
    assert set(ids) == stored_ids(node, iso_only=prefix == "iso19139")
    for r in records:
        md = r.xml.find(f"{OAI}metadata")[0]
        if prefix == "iso19139":
            assert md.tag == GMD + "MD_Metadata"
            assert md.findtext(f"{GMD}fileIdentifier/{GCO}CharacterString") == r.header.identifier
        else:
            assert md.tag == "{http://www.openarchives.org/OAI/2.0/oai_dc/}dc"
            assert r.metadata["title"] and r.metadata["identifier"] == [r.header.identifier]


def test_a_complete_list_ends_with_an_empty_token(node: ServedNode) -> None:
    root = get(node, verb="ListIdentifiers", metadataPrefix="oai_dc")
    seen, pages = [], 0
    while True:
        pages += 1
        lst = root.find(OAI + "ListIdentifiers")
        seen += [h.findtext(OAI + "identifier") for h in lst.findall(OAI + "header")]
        token = lst.find(OAI + "resumptionToken")
        assert token is not None and token.get("completeListSize") == str(len(stored_ids(node)))
        if not token.text:
            break
        assert token.text != "0"
        root = get(node, verb="ListIdentifiers", resumptionToken=token.text)
    assert pages == -(-len(seen) // PAGE) and len(seen) == len(set(seen)) == len(stored_ids(node))


def test_incremental_harvest_by_datestamp(node: ServedNode) -> None:
    sickle = Sickle(endpoint(node), timeout=60)
    stamps = sorted(h.datestamp for h in sickle.ListIdentifiers(metadataPrefix="oai_dc"))
    later = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", **{"from": stamps[-1]}))
    assert later and all(h.datestamp >= stamps[-1] for h in later)
    with pytest.raises(oe.NoRecordsMatch):
        list(sickle.ListIdentifiers(metadataPrefix="oai_dc", **{"from": "2000-01-01", "until": "2000-01-02"}))


def test_identify_and_formats(node: ServedNode) -> None:
    sickle = Sickle(endpoint(node), timeout=60)
    ident = sickle.Identify()
    assert ident.protocolVersion == "2.0" and ident.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert ident.baseURL.endswith("/csw?mode=oaipmh")
    assert {f.metadataPrefix for f in sickle.ListMetadataFormats()} == {"oai_dc", "iso19139"}


@pytest.mark.parametrize("params, error", [
    ({"verb": "Frobnicate"}, oe.BadVerb),
    ({}, oe.BadVerb),
    ({"verb": "ListRecords", "metadataPrefix": "marc21"}, oe.CannotDisseminateFormat),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "no-such-record"}, oe.IdDoesNotExist),
    ({"verb": "ListMetadataFormats", "identifier": "no-such-record"}, oe.IdDoesNotExist),
    ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "from": "2001-01-01", "until": "2001-12-31"},
     oe.NoRecordsMatch),
    ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "from": "yesterday"}, oe.BadArgument),
    ({"verb": "ListIdentifiers"}, oe.BadArgument),
    ({"verb": "ListIdentifiers", "resumptionToken": "bogus"}, oe.BadResumptionToken),
    ({"verb": "ListSets"}, oe.NoSetHierarchy),
])
def test_errors_carry_the_right_code(node: ServedNode, params: dict[str, str], error: type) -> None:
    root = get(node, **params)
    codes = [e.get("code") for e in root.findall(OAI + "error")]
    assert codes == [error.__name__[0].lower() + error.__name__[1:]]
    with pytest.raises(error):  # Sickle's own reading of the error element
        OAIResponseIterator(Sickle(endpoint(node), timeout=60), dict(params))


def test_get_record_and_csw_still_pycsw(node: ServedNode) -> None:
    rid = sorted(stored_ids(node, iso_only=True))[0]
    rec = Sickle(endpoint(node), timeout=60).GetRecord(identifier=rid, metadataPrefix="iso19139")
    assert rec.header.identifier == rid
    r = requests.get(node.base_url + "/csw", params={"service": "CSW", "request": "GetCapabilities"}, timeout=60)
    assert r.status_code == 200 and b"Capabilities" in r.content


def test_production_entry_point_in_the_pycsw_venv(node: ServedNode) -> None:
    """docker-compose serves catalog.pycsw_wsgi with pycsw's own venv: the same OAI-PMH answers there."""
    import signal
    import subprocess

    from catalog.pycsw import pycsw_venv
    from geoportal.serve import free_port, wait_for
    from tests.conftest import ROOT

    port = free_port()
    env = {"PYCSW_CONFIG": str(node.workdir / "services" / "pycsw.cfg"), "PATH": os.environ.get("PATH", ""),
           "GEOPORTAL_OAI_PAGE_SIZE": str(PAGE)}
    proc = subprocess.Popen([str(pycsw_venv() / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--chdir",
                             str(ROOT), "catalog.pycsw_wsgi:application"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for("127.0.0.1", port, "/?service=CSW&version=2.0.2&request=GetCapabilities", proc=proc)
        ids = [h.identifier for h in Sickle(f"http://127.0.0.1:{port}/?mode=oaipmh", timeout=60)
               .ListIdentifiers(metadataPrefix="iso19139")]
        assert sorted(ids) == sorted(stored_ids(node, iso_only=True))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_paging_survives_a_catalog_change_between_pages(node: ServedNode, tmp_path) -> None:  # noqa: ANN001
    """A record added (sorting first) while a harvester pages: no original record repeats or goes missing."""
    import shutil

    from metadata.oaipmh import OaiPmh, Repository, Settings

    db = tmp_path / "catalog.db"
    shutil.copy(node.workdir / "catalog.db", db)
    oai = OaiPmh(Repository(db), Settings("http://x/csw?mode=oaipmh", "test", "a@b.c", page_size=PAGE))

    def page(**args: str) -> tuple[list[str], str | None]:
        root = etree.fromstring(oai.respond(list(args.items())))
        lst = root.find(OAI + "ListIdentifiers")
        token = lst.find(OAI + "resumptionToken")
        return [h.findtext(OAI + "identifier") for h in lst.findall(OAI + "header")], \
            (token.text if token is not None else None)

    seen, token = page(verb="ListIdentifiers", metadataPrefix="oai_dc")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO records (identifier, typename, schema, mdsource, insert_date, xml, anytext, "
                     "date_modified) SELECT '0-new', typename, schema, mdsource, insert_date, xml, anytext, "
                     "date_modified FROM records LIMIT 1")
    while token:
        ids, token = page(verb="ListIdentifiers", resumptionToken=token)
        seen += ids
    assert sorted(seen) == sorted(stored_ids(node))


def test_post_requests(node: ServedNode) -> None:
    ids = [h.identifier for h in Sickle(endpoint(node), http_method="POST", timeout=60)
           .ListIdentifiers(metadataPrefix="oai_dc")]
    assert sorted(ids) == sorted(stored_ids(node))
