"""The catalog gate under attack: CSW-T dressed as something else, through the front and around it.

Every attack is followed by an independent read of the catalog database (sqlite3, not pycsw) that no
record was inserted or deleted; a publisher with a valid token can still insert and delete.
"""

from __future__ import annotations

import gzip
import http.client
import re
import sqlite3
import urllib.parse
import uuid

import pytest
from lxml import etree
from owslib.csw import CatalogueServiceWeb

from tests.geoportal.conftest import TOKEN, descendants, listening_ports

CSW = "http://www.opengis.net/cat/csw/2.0.2"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
DELETE_ALL = (f'<csw:Transaction xmlns:csw="{CSW}" service="CSW" version="2.0.2"><csw:Delete>'
              '<csw:Constraint version="1.1.0"><csw:CqlText>dc:title like \'%\'</csw:CqlText></csw:Constraint>'
              '</csw:Delete></csw:Transaction>')


def identifiers(node) -> set[str]:  # type: ignore[no-untyped-def]
    """The records in the catalog, read from its database directly."""
    with sqlite3.connect(node.workdir / "catalog.db") as db:
        return {r[0] for r in db.execute("SELECT identifier FROM records")}


def new_record(node) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """An ISO record of the node under a fresh identifier: (identifier, XML without declaration)."""
    src = sorted((node.workdir / "records").glob("*.xml"))[0]
    doc = etree.parse(str(src))
    rid = f"gate-test-{uuid.uuid4()}"
    ns = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco"}
    doc.find("gmd:fileIdentifier/gco:CharacterString", ns).text = rid
    return rid, etree.tostring(doc.getroot(), encoding="unicode")


def insert_doc(record: str, root: str = f'csw:Transaction xmlns:csw="{CSW}"') -> str:
    name = root.split()[0]
    return f'<{root} service="CSW" version="2.0.2"><csw:Insert xmlns:csw="{CSW}">{record}</csw:Insert></{name}>'


def soap(inner: str, ns: str = SOAP12) -> str:
    return f'<soap:Envelope xmlns:soap="{ns}"><soap:Body>{inner}</soap:Body></soap:Envelope>'


def request(base: str, method: str, path: str, body: bytes | str | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request (http.client: no path normalisation, headers exactly as given)."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    try:
        data = body.encode("utf-8") if isinstance(body, str) else body
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


XML = {"Content-Type": "application/xml"}


def attacks(record: str) -> list[tuple[str, str, str, bytes | str, dict[str, str]]]:
    """(name, method, path, body, headers) of CSW-T requests that claim or look like something else."""
    ins = insert_doc(record)
    return [
        ("query GetCapabilities, body Transaction", "POST", "/csw?request=GetCapabilities", ins, XML),
        ("query GetRecords, body Delete", "POST", "/csw?service=CSW&version=2.0.2&request=GetRecords",
         DELETE_ALL, XML),
        ("query GetRecords, body Harvest", "POST", "/csw?request=GetRecords",
         f'<Harvest xmlns="{CSW}" service="CSW" version="2.0.2"><Source>http://127.0.0.1:9/</Source>'
         f'<ResourceType>{CSW}</ResourceType></Harvest>', XML),
        ("plain Transaction, no token", "POST", "/csw", ins, XML),
        ("Delete, no token", "POST", "/csw", DELETE_ALL, XML),
        ("SOAP 1.2 Transaction", "POST", "/csw", soap(ins), {"Content-Type": "application/soap+xml"}),
        ("SOAP 1.1 Transaction", "POST", "/csw", soap(DELETE_ALL, SOAP11), {"Content-Type": "text/xml"}),
        ("SOAP, GetCapabilities then Transaction", "POST", "/csw",
         soap(f'<csw:GetCapabilities xmlns:csw="{CSW}" service="CSW"/>' + DELETE_ALL), XML),
        ("SOAP Envelope with the query saying GetCapabilities", "POST", "/csw?REQUEST=GetCapabilities",
         soap(DELETE_ALL), XML),
        ("form-encoded Transaction", "POST", "/csw",
         urllib.parse.urlencode({"request": ins}), {"Content-Type": "application/x-www-form-urlencoded"}),
        ("form-encoded, query GetCapabilities", "POST", "/csw?request=GetCapabilities",
         urllib.parse.urlencode({"request": DELETE_ALL}), {"Content-Type": "application/x-www-form-urlencoded"}),
        ("mixed case TRANSACTION root", "POST", "/csw", ins.replace("csw:Transaction", "csw:TRANSACTION"), XML),
        ("Transaction in a foreign namespace", "POST", "/csw",
         insert_doc(record, 'x:Transaction xmlns:x="urn:not-csw"'), XML),
        ("Insert inside a GetRecords", "POST", "/csw",
         f'<csw:GetRecords xmlns:csw="{CSW}" service="CSW" version="2.0.2"><csw:Insert>{record}</csw:Insert>'
         '</csw:GetRecords>', XML),
        ("DOCTYPE with an entity", "POST", "/csw",
         '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY e "x">]>' + DELETE_ALL.replace("%", "%&e;"), XML),
        ("gzip body", "POST", "/csw", gzip.compress(DELETE_ALL.encode()),
         {"Content-Type": "application/xml", "Content-Encoding": "gzip"}),
        ("odd content type", "POST", "/csw", DELETE_ALL, {"Content-Type": "image/png"}),
        ("no content type", "POST", "/csw", DELETE_ALL, {}),
        ("not XML at all", "POST", "/csw", b"\xff\xfe\x00garbage", XML),
        ("GET request=Transaction", "GET", "/csw?service=CSW&version=2.0.2&request=Transaction", b"", {}),
        ("GET mixed-case key and value", "GET", "/csw?service=CSW&ReQuEsT=tRaNsAcTiOn", b"", {}),
        ("GET request given twice", "GET", "/csw?request=GetCapabilities&REQUEST=Transaction", b"", {}),
        ("GET with a Transaction body", "GET", "/csw?request=GetCapabilities", DELETE_ALL, XML),
        ("wrong token", "POST", "/csw", DELETE_ALL, {**XML, "Authorization": "Bearer not-the-token"}),
        ("forged gate header", "POST", "/csw", DELETE_ALL, {**XML, "X-Geoportal-Gate": "guess",
                                                             "X-Forwarded-For": "127.0.0.1"}),
        ("Content-Length not a number", "POST", "/csw", DELETE_ALL, {**XML, "Content-Length": "12x"}),
        ("CSW 3.0 Transaction", "POST", "/csw?request=GetRecords",
         DELETE_ALL.replace(CSW, "http://www.opengis.net/cat/csw/3.0").replace('"2.0.2"', '"3.0.0"'), XML),
        ("UTF-16 Transaction", "POST", "/csw", ('<?xml version="1.0" encoding="UTF-16"?>' + DELETE_ALL)
         .encode("utf-16"), XML),
        ("comment and PI before a Transaction", "POST", "/csw?request=GetCapabilities",
         "<!-- request=GetCapabilities --><?csw GetCapabilities?>" + DELETE_ALL, XML),
        ("PUT of a Transaction", "PUT", "/csw", DELETE_ALL, XML),
        ("DELETE method", "DELETE", "/csw?request=Transaction", b"", {}),
    ]


def test_no_attack_writes_and_each_gets_a_4xx(token_node) -> None:  # type: ignore[no-untyped-def]
    before = identifiers(token_node)
    assert len(before) >= 9
    rid, record = new_record(token_node)
    failures = []
    for name, method, path, body, headers in attacks(record):
        try:
            status, _, answer = request(token_node.base_url, method, path, body, headers)
        except (http.client.HTTPException, OSError) as e:  # a refused request line is a refusal too
            status, answer = 400, str(e).encode()
        now = identifiers(token_node)
        if now != before:
            failures.append(f"{name}: the catalog changed (+{sorted(now - before)[:2]} -{len(before - now)})")
        elif method != "GET" and not 400 <= status < 500:
            failures.append(f"{name}: HTTP {status} {answer[:200]!r}")
        elif b"Traceback" in answer:
            failures.append(f"{name}: traceback in the answer")
    assert not failures, "\n".join(failures)
    assert rid not in identifiers(token_node)


def test_a_chunked_transaction_is_read_whole_and_refused(token_node) -> None:  # type: ignore[no-untyped-def]
    before = identifiers(token_node)
    u = urllib.parse.urlsplit(token_node.base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("POST", "/csw?request=GetRecords", body=iter([DELETE_ALL[:40].encode(), DELETE_ALL[40:].encode()]),
                 headers=XML, encode_chunked=True)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert 400 <= resp.status < 500, body[:300]
    assert identifiers(token_node) == before


def test_refusals_say_why(token_node) -> None:  # type: ignore[no-untyped-def]
    _, record = new_record(token_node)
    status, _, body = request(token_node.base_url, "POST", "/csw?request=GetCapabilities", insert_doc(record), XML)
    assert status == 400 and b"GetCapabilities" in body and b"transaction" in body
    status, _, body = request(token_node.base_url, "POST", "/csw", urllib.parse.urlencode({"request": DELETE_ALL}),
                              {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and b"form-encoded" in body
    status, hdrs, body = request(token_node.base_url, "POST", "/csw", DELETE_ALL, XML)
    assert status == 401 and "bearer" in hdrs["www-authenticate"].lower() and b"token" in body


def test_catalog_listener_refuses_transactions_from_anyone_but_the_gate(token_node) -> None:  # type: ignore[no-untyped-def]
    front = int(token_node.base_url.rsplit(":", 1)[1])
    ports = listening_ports(descendants(token_node.process.pid)) - {front}
    assert ports, "the catalog process listens on no TCP port"
    before = identifiers(token_node)
    _, record = new_record(token_node)
    for port in ports:
        base = f"http://127.0.0.1:{port}"
        for headers in (XML, {**XML, "X-Forwarded-For": "127.0.0.1"},
                        {**XML, "X-Geoportal-Gate": "guess", "Authorization": f"Bearer {TOKEN}"}):
            for body in (DELETE_ALL, insert_doc(record), soap(DELETE_ALL)):
                status, _, answer = request(base, "POST", "/", body, headers)
                assert identifiers(token_node) == before, (port, headers, answer[:300])
                assert b"TransactionResponse" not in answer
        # and the stock pycsw switch of configuration file is gone
        status, _, answer = request(base, "GET", "/?config=/etc/passwd&service=CSW&request=GetCapabilities")
        assert b"Capabilities" in answer and b"root:" not in answer
    # reads still work through the front
    csw = CatalogueServiceWeb(token_node.base_url + "/csw", timeout=60)
    csw.getrecords2(maxrecords=50)
    with sqlite3.connect(token_node.workdir / "catalog.db") as db:  # what an anonymous reader may see
        public = db.execute("SELECT count(*) FROM records WHERE geoportal_variant = 'full' "
                            "AND geoportal_level = 'public'").fetchone()[0]
    assert csw.results["matches"] == public


def test_a_publisher_token_still_inserts_and_deletes(token_node) -> None:  # type: ignore[no-untyped-def]
    auth = {**XML, "Authorization": f"Bearer {TOKEN}"}
    rid, record = new_record(token_node)
    status, _, body = request(token_node.base_url, "POST", "/csw", insert_doc(record), auth)
    assert status == 200 and b"totalInserted>1<" in body, body[:500]
    assert rid in identifiers(token_node)
    csw = CatalogueServiceWeb(token_node.base_url + "/csw", timeout=60)
    csw.getrecordbyid(id=[rid])
    assert rid in csw.records

    # the same record again: pycsw's text names the SQL statement; the client gets none of it
    status, _, body = request(token_node.base_url, "POST", "/csw", insert_doc(record), auth)
    text = " ".join(etree.fromstring(body).xpath("//*[local-name()='ExceptionText']/text()"))
    assert b"ExceptionReport" in body and text, body[:500]
    assert not re.search(r"SQL|sqlite|INSERT|UNIQUE|Traceback|File \"", text), text
    log = (token_node.workdir / "pycsw.log").read_text(encoding="utf-8", errors="replace")
    assert "UNIQUE" in log or "IntegrityError" in log  # the detail is kept for the operator

    delete = (f'<csw:Transaction xmlns:csw="{CSW}" xmlns:ogc="http://www.opengis.net/ogc" service="CSW" '
              f'version="2.0.2"><csw:Delete><csw:Constraint version="1.1.0"><ogc:Filter><ogc:PropertyIsEqualTo>'
              f'<ogc:PropertyName>apiso:Identifier</ogc:PropertyName><ogc:Literal>{rid}</ogc:Literal>'
              '</ogc:PropertyIsEqualTo></ogc:Filter></csw:Constraint></csw:Delete></csw:Transaction>')
    status, _, body = request(token_node.base_url, "POST", "/csw", soap(delete), auth)
    assert status == 200 and b"totalDeleted>1<" in body, body[:500]
    assert rid not in identifiers(token_node)


@pytest.mark.parametrize("query", [
    "constraintlanguage=CQL_TEXT&constraint_language_version=1.1.0&constraint=dc:title%20like%20'a'%20and%20(",
    "sortby=nosuch:A",
    "constraintlanguage=FILTER&constraint=%3Cnot-a-filter",
])
def test_read_errors_keep_the_code_and_hide_internals(token_node, query: str) -> None:  # type: ignore[no-untyped-def]
    status, hdrs, body = request(token_node.base_url, "GET", "/csw?service=CSW&version=2.0.2&request=GetRecords"
                                 "&typenames=csw:Record&resulttype=results&elementsetname=brief&" + query)
    assert status < 500 and "charset=" in hdrs["content-type"].lower()
    exc = etree.fromstring(body).xpath("//*[local-name()='Exception']")[0]
    assert exc.get("exceptionCode") in ("InvalidParameterValue", "NoApplicableCode", "MissingParameterValue")
    text = "".join(exc.xpath(".//*[local-name()='ExceptionText']/text()"))
    assert text and not re.search(r"SQL|sqlite|Traceback|Error:|line \d", text), text


def test_post_of_an_invalid_document_shows_no_parser_internals(token_node) -> None:  # type: ignore[no-untyped-def]
    body = f'<csw:GetRecords xmlns:csw="{CSW}" service="CSW" version="2.0.2"><csw:Nonsense/></csw:GetRecords>'
    status, _, answer = request(token_node.base_url, "POST", "/csw", body, XML)
    text = "".join(etree.fromstring(answer).xpath("//*[local-name()='ExceptionText']/text()"))
    assert text and "Element" not in text and "xsd" not in text.lower(), text
