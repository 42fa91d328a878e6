"""Properties of the catalog gate's decision, in process (no server): whatever a CSW-T request is dressed
in, the gate either refuses it or counts it as a write — never as a read that would pass without a token.

"What pycsw would execute" is computed here the way pycsw 2.6's dispatch does it (server.py and
ogc/csw/csw2.py parse_postdata): for a POST the local name of the root element, or of the first element
of the Body of a SOAP 1.2 Envelope; for a GET the last value of the lower-cased key ``request``.
"""

from __future__ import annotations

import io
from urllib.parse import parse_qsl

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from geoportal.catalog_gate import Refusal, inspect, read_body

CSW2 = "http://www.opengis.net/cat/csw/2.0.2"
CSW3 = "http://www.opengis.net/cat/csw/3.0"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def pycsw_operation_of_body(body: bytes) -> str | None:
    """pycsw's reading of a POST body (None: it would not parse it)."""
    try:
        doc = etree.fromstring(body, etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError:
        return None
    if doc.tag == f"{{{SOAP12}}}Envelope":
        body_el = doc.find(f"{{{SOAP12}}}Body")
        if body_el is None or not body_el.xpath("child::*"):
            return None
        doc = body_el.xpath("child::*")[0]
    return etree.QName(doc).localname


def environ(method: str, query: str, body: bytes) -> dict:
    return {"REQUEST_METHOD": method, "QUERY_STRING": query, "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body)}


def decide(method: str, query: str, body: bytes) -> bool | None:
    """True: the gate counts it as a write; False: a read it lets through; None: refused."""
    env = environ(method, query, body)
    try:
        return inspect(env, read_body(env) if method == "POST" else b"").writes
    except Refusal:
        return None


names = st.sampled_from(["Transaction", "Harvest", "transaction", "TRANSACTION", "tRaNsAcTiOn", "harvest"])
prefixes = st.sampled_from(["csw", "c", "x", ""])
namespaces = st.sampled_from([CSW2, CSW3, "urn:not-csw", ""])
junk = st.sampled_from(["", " ", "\n", "<!-- c -->", "<?pi x?>", "\n<!-- GetRecords -->\n"])
queries = st.sampled_from(["", "request=GetCapabilities", "REQUEST=GetRecords", "request=Transaction",
                           "service=CSW&version=2.0.2", "mode=oaipmh&verb=Identify", "a=b?request=GetRecords"])


@st.composite
def transaction_bodies(draw: st.DrawFn) -> bytes:
    name, prefix, ns = draw(names), draw(prefixes), draw(namespaces)
    tag = f"{prefix}:{name}" if prefix and ns else name
    decl = f' xmlns:{prefix}="{ns}"' if prefix and ns else (f' xmlns="{ns}"' if ns else "")
    inner = draw(st.sampled_from([
        f'<csw:Delete xmlns:csw="{CSW2}"><csw:Constraint version="1.1.0"><csw:CqlText>dc:title like \'%\''
        '</csw:CqlText></csw:Constraint></csw:Delete>',
        f'<csw:Insert xmlns:csw="{CSW2}"><r/></csw:Insert>',
        f'<Source xmlns="{CSW2}">http://127.0.0.1:9/</Source>',
    ]))
    doc = f'{draw(junk)}<{tag}{decl} service="CSW" version="2.0.2">{inner}</{tag}>{draw(junk)}'
    wrap = draw(st.sampled_from(["none", "soap12", "soap11", "soap12-two"]))
    if wrap == "soap12":
        doc = f'<s:Envelope xmlns:s="{SOAP12}"><s:Body>{doc}</s:Body></s:Envelope>'
    elif wrap == "soap11":
        doc = f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{doc}</s:Body></s:Envelope>'
    elif wrap == "soap12-two":
        doc = (f'<s:Envelope xmlns:s="{SOAP12}"><s:Body><GetCapabilities xmlns="{CSW2}" service="CSW"/>{doc}'
               '</s:Body></s:Envelope>')
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]))
    header = "" if encoding == "utf-8-sig" else f'<?xml version="1.0" encoding="{encoding.upper()}"?>'
    return (header + doc).encode(encoding)


@SETTINGS
@given(body=transaction_bodies(), query=queries)
def test_a_posted_transaction_is_never_a_read(body: bytes, query: str) -> None:
    assert decide("POST", query, body) is not False, (query, body[:300])


@SETTINGS
@given(body=transaction_bodies(), query=queries)
def test_what_pycsw_would_execute_as_csw_t_the_gate_counts_as_a_write(body: bytes, query: str) -> None:
    if pycsw_operation_of_body(body) in ("Transaction", "Harvest"):
        assert decide("POST", query, body) in (True, None)


@st.composite
def kvp_queries(draw: st.DrawFn) -> str:
    keys = draw(st.lists(st.sampled_from(["request", "REQUEST", "Request", "service", "mode", "version", "x"]),
                         min_size=1, max_size=4))
    values = st.sampled_from(["Transaction", "Harvest", "GetRecords", "GetCapabilities", "transaction",
                              "oaipmh", "sru", "CSW", "2.0.2", "a?request=Transaction", ""])
    return "&".join(f"{k}={draw(values)}" for k in keys)


@SETTINGS
@given(query=kvp_queries())
def test_a_get_that_pycsw_would_run_as_csw_t_is_never_a_read(query: str) -> None:
    env = environ("GET", query, b"")
    try:
        forwarded = inspect(env, b"")
    except Refusal:
        return
    # pycsw's view of what the gate forwards: parse_qsl, keys lower-cased, the last one wins
    kvp = {k.lower(): v for k, v in parse_qsl(forwarded.query, keep_blank_values=True)}
    if kvp.get("mode") not in ("sru", "oaipmh") and kvp.get("request") in ("Transaction", "Harvest"):
        assert forwarded.writes, query
