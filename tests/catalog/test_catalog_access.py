"""The catalog follows access levels, per caller, on every protocol — read by real clients.

A hromada node whose ``nature-sites`` is restricted to one organisation (catalog mode ``hide``) and whose
``geographic-names`` is open to officials (catalog mode ``metadata``), built for real and served by the
real node (pycsw, pygeoapi, the OAI-PMH responder, DCAT, search) behind a test front that names the caller
(``tests/catalog/principal_front.py``). OWSLib reads CSW, Sickle harvests OAI-PMH, requests reads OGC API
Records and search, rdflib parses DCAT; and an attacker tries the hidden record's id, ElementSetName full,
a POST constraint, OAI ``identifier=``, another caller's resumption token and ``q=`` of its title.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
import requests
import yaml
from lxml import etree

from geoportal.config import absolutize
from geoportal.serve import free_port, stop, wait_for

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
HROMADA = ROOT / "config" / "nodes" / "ovrutska-hromada.yaml"
NODE_ORG = "UA18060170000069581"  # the hromada's own KATOTTH code
SECRET_TITLE = "Заповідні урочища під охороною"
SECRET_EN = "Protected tracts under guard"
PREFIX = f"{NODE_ORG}.ovrutska-hromada."
HIDDEN = PREFIX + "nature-sites"
META = PREFIX + "geographic-names"
PRINCIPALS = {
    "official-here": {"roles": ["official"], "organisation": NODE_ORG},
    "official-elsewhere": {"roles": ["official"], "organisation": "UA18000000000000000"},
    "citizen": {"roles": ["citizen"]},
    "admin": {"roles": ["admin"]},
}
OAI = "{http://www.openarchives.org/OAI/2.0/}"
PUBLISHER = "publisher-token-of-this-test"
GMD = "http://www.isotc211.org/2005/gmd"


def restricted_config(path: Path, base: Path = HROMADA) -> Path:
    """The hromada with one restricted and one officials-only dataset."""
    raw = absolutize(yaml.safe_load(base.read_text(encoding="utf-8")), base.parent)
    for d in raw["datasets"]:
        if d["id"] == "nature-sites":
            d["access"] = "restricted"
            d["title"] = {"uk": SECRET_TITLE, "en": SECRET_EN}
        elif d["id"] == "geographic-names":
            d["access"] = "officials"
    datasets = raw.setdefault("access", {}).setdefault("datasets", {})  # added to what the node says
    datasets.update({"nature-sites": {"organisations": [NODE_ORG], "catalog": "hide"},
                     "geographic-names": {"catalog": "metadata"}})
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def start_front(workdir: Path, principals: dict, env: dict[str, str] | None = None,
                port: int | None = None) -> tuple[subprocess.Popen, str]:
    """The node's NodeApp (and a catalog process) behind the test front, on ``port`` (the one its build
    advertised) or a free one."""
    port = port or free_port()
    spec = workdir.parent / f"{workdir.name}-principals.json"
    spec.write_text(json.dumps(principals), encoding="utf-8")
    log = open(workdir.parent / f"{workdir.name}-front.log", "ab")
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "catalog" / "principal_front.py"), str(workdir),
                             str(port), str(spec)], stdout=log, stderr=log, start_new_session=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    wait_for("127.0.0.1", port, "/csw?service=CSW&request=GetCapabilities", timeout=120, proc=proc)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("catalogaccess")
    cfg = restricted_config(base / "hromada.yaml")
    work, port = base / "ws", free_port()
    subprocess.run([sys.executable, "-m", "geoportal.cli", "build", str(cfg), "--workdir", str(work), "--port",
                    str(port)], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "GEOPORTAL_CSW_TOKENS": PUBLISHER})
    proc, url = start_front(work, PRINCIPALS, {"GEOPORTAL_OAI_PAGE_SIZE": "2", "GEOPORTAL_CSW_TOKENS": PUBLISHER},
                            port)
    try:
        yield url
    finally:
        stop(proc, timeout=20)


def auth(who: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {who}"} if who else {}


# -- CSW (OWSLib) --------------------------------------------------------------------------------------

def csw(url: str, who: str | None):  # type: ignore[no-untyped-def]
    from owslib.csw import CatalogueServiceWeb

    return CatalogueServiceWeb(url + "/csw", headers=auth(who), timeout=60)


def all_ids(url: str, who: str | None) -> tuple[int, set[str]]:
    c = csw(url, who)
    c.getrecords2(esn="brief", maxrecords=100, resulttype="results")
    return c.results["matches"], set(c.records)


def test_csw_counts_and_lists_only_what_the_caller_may_see(node: str) -> None:
    anon_n, anon = all_ids(node, None)
    here_n, here = all_ids(node, "official-here")
    other_n, other = all_ids(node, "official-elsewhere")
    admin_n, admin = all_ids(node, "admin")
    assert HIDDEN not in anon and anon_n == len(anon)
    assert META in anon  # the 'metadata' mode: the record is found ...
    assert HIDDEN in here and here == admin and here_n == admin_n == anon_n + 1
    assert HIDDEN not in other and META in other and other_n == anon_n
    assert all_ids(node, "citizen") == (anon_n, anon)


def online_resources(url: str, who: str | None, ident: str) -> list[str] | None:
    """The data links of a record by GetRecordById in ISO 19139 (None: no such record for this caller)."""
    r = requests.get(url + "/csw", params={"service": "CSW", "version": "2.0.2", "request": "GetRecordById",
                                            "id": ident, "outputSchema": GMD, "elementSetName": "full"},
                     headers=auth(who), timeout=60)
    assert r.status_code == 200
    root = etree.fromstring(r.content)
    md = root.find(f"{{{GMD}}}MD_Metadata")
    if md is None:
        return None
    return [u.text for u in md.iterfind(f".//{{{GMD}}}distributionInfo//{{{GMD}}}URL")]


def test_getrecordbyid_of_a_hidden_record_is_empty_and_metadata_mode_has_no_links(node: str) -> None:
    assert online_resources(node, None, HIDDEN) is None
    assert online_resources(node, "official-elsewhere", HIDDEN) is None
    assert online_resources(node, "official-here", HIDDEN)  # in full, data links included
    assert online_resources(node, None, META) == []  # the record, but nothing leading to the data
    assert online_resources(node, "official-elsewhere", META)
    c = csw(node, None)
    c.getrecordbyid([HIDDEN, META], esn="full")
    assert list(c.records) == [META]


def test_the_record_carries_its_access_level_and_custodian(node: str) -> None:
    r = requests.get(node + "/csw", params={"service": "CSW", "version": "2.0.2", "request": "GetRecordById",
                                            "id": HIDDEN, "outputSchema": GMD}, headers=auth("admin"), timeout=60)
    words = etree.fromstring(r.content).xpath("//gmd:keyword/gco:CharacterString/text()", namespaces={
        "gmd": GMD, "gco": "http://www.isotc211.org/2005/gco"})
    assert {"geoportal:access=restricted", "geoportal:catalog=hide", f"geoportal:custodian={NODE_ORG}",
            f"geoportal:organisation={NODE_ORG}", "geoportal:dataset=ovrutska-hromada/nature-sites"} <= set(words)


def test_post_constraints_never_find_a_hidden_record(node: str) -> None:
    from owslib.fes import PropertyIsEqualTo, PropertyIsLike

    for constraint in (PropertyIsLike("csw:AnyText", "%Заповідні%"), PropertyIsEqualTo("dc:identifier", HIDDEN),
                       PropertyIsLike("dc:title", "%урочища%"), PropertyIsLike("csw:AnyText", "%protected tracts%")):
        for who, expected in ((None, 0), ("official-elsewhere", 0), ("official-here", 1)):
            c = csw(node, who)
            c.getrecords2(constraints=[constraint], esn="full", resulttype="results")
            assert c.results["matches"] == expected, (constraint, who)
            assert (HIDDEN in c.records) == bool(expected)


def test_getdomain_does_not_leak_a_hidden_title(node: str) -> None:
    r = requests.get(node + "/csw", params={"service": "CSW", "version": "2.0.2", "request": "GetDomain",
                                            "propertyname": "dc:title"}, timeout=60)
    assert r.status_code == 200 and SECRET_TITLE not in r.text


def test_catalog_answers_are_private(node: str) -> None:
    for path in ("/csw?service=CSW&request=GetCapabilities", "/csw?mode=oaipmh&verb=Identify", "/dcat.jsonld",
                 "/search?f=json", "/ogcapi/collections/catalog/items?f=json"):
        r = requests.get(node + path, timeout=60)
        assert r.status_code == 200, path
        assert "private" in r.headers.get("Cache-Control", ""), path
        assert {"Authorization", "Cookie"} <= {v.strip() for v in r.headers.get("Vary", "").split(",")}, path


# -- OAI-PMH (Sickle) ----------------------------------------------------------------------------------

def harvest_oai(url: str, who: str | None, verb: str = "ListIdentifiers") -> list[str]:
    from sickle import Sickle

    s = Sickle(url + "/csw?mode=oaipmh", headers=auth(who), timeout=60)
    items = getattr(s, verb)(metadataPrefix="iso19139")
    return [(i.identifier if verb == "ListIdentifiers" else i.header.identifier) for i in items]


def test_oai_harvest_as_anonymous_and_as_official(node: str) -> None:
    anon = harvest_oai(node, None)
    here = harvest_oai(node, "official-here", "ListRecords")
    assert HIDDEN not in anon and META in anon
    assert sorted(here) == sorted([*anon, HIDDEN])
    assert len(anon) > 2  # several pages (page size 2): the tokens are exercised


def oai(url: str, who: str | None, **args: str) -> etree._Element:
    r = requests.get(url + "/csw", params={"mode": "oaipmh", **args}, headers=auth(who), timeout=60)
    assert r.status_code == 200
    return etree.fromstring(r.content)


def test_oai_identifier_of_a_hidden_record_does_not_exist(node: str) -> None:
    for verb in ("GetRecord", "ListMetadataFormats"):
        root = oai(node, None, verb=verb, identifier=HIDDEN,
                   **({"metadataPrefix": "iso19139"} if verb == "GetRecord" else {}))
        assert root.find(OAI + "error").get("code") == "idDoesNotExist"
    root = oai(node, None, verb="GetRecord", identifier=META, metadataPrefix="iso19139")
    assert not root.findall(f".//{{{GMD}}}distributionInfo")
    root = oai(node, "official-here", verb="GetRecord", identifier=HIDDEN, metadataPrefix="iso19139")
    assert root.findall(f".//{{{GMD}}}distributionInfo")


def test_a_resumption_token_of_another_caller_is_refused(node: str) -> None:
    first = oai(node, "official-here", verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = first.find(f"{OAI}ListIdentifiers/{OAI}resumptionToken").text
    assert token
    stolen = oai(node, None, verb="ListIdentifiers", resumptionToken=token)
    assert stolen.find(OAI + "error").get("code") == "badResumptionToken"
    assert HIDDEN.encode() not in etree.tostring(stolen)
    own = oai(node, "official-here", verb="ListIdentifiers", resumptionToken=token)
    assert own.find(OAI + "error") is None


# -- OGC API Records -----------------------------------------------------------------------------------

def records(url: str, who: str | None, **params: str) -> dict:
    r = requests.get(url + "/ogcapi/collections/catalog/items", params={"f": "json", "limit": "100", **params},
                     headers=auth(who), timeout=60)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def test_records_q_and_item_follow_the_caller(node: str) -> None:
    for q in ("Заповідні", SECRET_EN.split()[0]):
        assert records(node, None, q=q)["features"] == []
        assert [f["id"] for f in records(node, "official-here", q=q)["features"]] == [HIDDEN]
    anon = records(node, None)
    assert HIDDEN not in [f["id"] for f in anon["features"]] and anon["numberMatched"] == len(anon["features"])
    item = f"{node}/ogcapi/collections/catalog/items/{HIDDEN}?f=json"
    assert requests.get(item, timeout=60).status_code == 404
    assert requests.get(item, headers=auth("official-here"), timeout=60).status_code == 200


# -- DCAT (rdflib) -------------------------------------------------------------------------------------

def dcat_datasets(url: str, who: str | None) -> dict[str, int]:
    """Dataset identifier → number of distributions, from the DCAT graph."""
    import rdflib

    g = rdflib.Graph().parse(data=requests.get(url + "/dcat.jsonld", headers=auth(who), timeout=60).text,
                             format="json-ld")
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    dct = rdflib.Namespace("http://purl.org/dc/terms/")
    return {str(g.value(ds, dct.identifier)): len(list(g.objects(ds, dcat.distribution)))
            for ds in g.subjects(rdflib.RDF.type, dcat.Dataset)}


def test_dcat_follows_the_caller(node: str) -> None:
    anon, here = dcat_datasets(node, None), dcat_datasets(node, "official-here")
    assert HIDDEN not in anon and anon[META] == 0
    assert here[HIDDEN] > 0 and here[META] > 0
    assert set(here) == set(anon) | {HIDDEN}


# -- search --------------------------------------------------------------------------------------------

def search(url: str, who: str | None, **params: str) -> dict:
    r = requests.get(url + "/search", params={"f": "json", **params}, headers=auth(who), timeout=60)
    assert r.status_code == 200
    return r.json()


def test_search_hits_follow_the_caller(node: str) -> None:
    for q in ("заповідні урочища", "protected tracts", "zapovidni"):
        assert search(node, None, q=q)["total"] == 0, q
        assert [h["id"] for h in search(node, "official-here", q=q)["hits"]] == [HIDDEN], q
    assert search(node, None, access="restricted")["total"] == 0
    anon = {h["id"]: h for h in search(node, None, limit="100")["hits"]}
    assert META in anon and anon[META]["links"] == [] and HIDDEN not in anon
    here = {h["id"]: h for h in search(node, "official-here", limit="100")["hits"]}
    assert here[META]["links"] and HIDDEN in here
    page = requests.get(node + "/search", params={"q": "заповідні"}, timeout=60).text
    assert SECRET_TITLE not in page


# -- CSW-T: what a publisher writes follows its marker ---------------------------------------------------

def test_a_record_inserted_by_csw_t_follows_its_marker(node: str) -> None:
    import re
    import uuid

    r = requests.get(node + "/csw", params={"service": "CSW", "version": "2.0.2", "request": "GetRecordById",
                                            "id": HIDDEN, "outputSchema": GMD}, headers=auth("admin"), timeout=60)
    md = etree.fromstring(r.content).find(f"{{{GMD}}}MD_Metadata")
    rid = f"csw-t-{uuid.uuid4()}"
    md.find(f"{{{GMD}}}fileIdentifier/{{http://www.isotc211.org/2005/gco}}CharacterString").text = rid
    csw_ns = "http://www.opengis.net/cat/csw/2.0.2"
    body = (f'<csw:Transaction xmlns:csw="{csw_ns}" service="CSW" version="2.0.2"><csw:Insert>'
            f'{etree.tostring(md, encoding="unicode")}</csw:Insert></csw:Transaction>')
    headers = {"Content-Type": "application/xml", "Authorization": f"Bearer {PUBLISHER}"}
    r = requests.post(node + "/csw", data=body.encode("utf-8"), headers=headers, timeout=60)
    assert r.status_code == 200 and re.search(r"totalInserted>1<", r.text), r.text[:500]
    assert online_resources(node, None, rid) is None  # restricted by its marker: hidden from the public
    assert online_resources(node, "official-elsewhere", rid) is None
    assert online_resources(node, "admin", rid)
    delete = (f'<csw:Transaction xmlns:csw="{csw_ns}" xmlns:ogc="http://www.opengis.net/ogc" service="CSW" '
              f'version="2.0.2"><csw:Delete><csw:Constraint version="1.1.0"><ogc:Filter><ogc:PropertyIsEqualTo>'
              f'<ogc:PropertyName>apiso:Identifier</ogc:PropertyName><ogc:Literal>{rid}</ogc:Literal>'
              '</ogc:PropertyIsEqualTo></ogc:Filter></csw:Constraint></csw:Delete></csw:Transaction>')
    r = requests.post(node + "/csw", data=delete.encode("utf-8"), headers=headers, timeout=60)
    assert re.search(r"totalDeleted>1<", r.text), r.text[:500]
    assert online_resources(node, "admin", rid) is None


@pytest.mark.parametrize("query", [
    {"service": "CSW", "version": "2.0.2", "request": "GetRepositoryItem", "id": HIDDEN},
    {"service": "CSW", "version": "3.0.0", "request": "GetRecordById", "id": HIDDEN, "elementSetName": "full"},
    {"service": "CSW", "version": "2.0.2", "request": "GetRecords", "typeNames": "csw:Record",
     "resultType": "results", "elementSetName": "full", "constraintLanguage": "CQL_TEXT",
     "constraint_language_version": "1.1.0", "constraint": f"dc:identifier = '{HIDDEN}'"},
    {"mode": "sru", "operation": "searchRetrieve", "query": "Заповідні"},
    {"mode": "opensearch", "service": "CSW", "version": "3.0.0", "request": "GetRecords", "q": "Заповідні"},
])
def test_other_ways_into_pycsw_never_reach_a_hidden_record(node: str, query: dict) -> None:
    r = requests.get(node + "/csw", params=query, timeout=60)
    assert r.status_code < 500
    assert SECRET_TITLE not in r.text and SECRET_EN not in r.text
    assert HIDDEN not in r.text.replace(f"'{HIDDEN}'", "")  # an echoed constraint is not a record
    allowed = requests.get(node + "/csw", params=query, headers=auth("official-here"), timeout=60)
    if query.get("mode") == "sru":  # a count only: 0 for the public, 1 for the allowed
        assert "numberOfRecords>0<" in r.text and "numberOfRecords>1<" in allowed.text
    elif "mode" not in query:  # the control: the same request finds it for a caller allowed to see it
        assert SECRET_TITLE in allowed.text or HIDDEN in allowed.text
