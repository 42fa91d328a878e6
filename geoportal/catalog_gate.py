"""The gate in front of the catalog: CSW-T (Transaction, Harvest) only for publishers with a token.

The gate decides from what pycsw 2.6 will *execute*, not from what a request claims to be. pycsw's own
dispatch (``pycsw/server.py``) works like this, and so does the gate:

* a POST is the XML document of its body, whatever the query string or the Content-Type says; the
  operation is the local name of the root element (any namespace), or of the first child of the Body of a
  SOAP Envelope;
* any other method is the KVP of the query string (keys case-insensitive); ``mode=sru`` and
  ``mode=oaipmh`` are translated by pycsw into read operations only.

Everything that cannot be decided unambiguously is refused with a 4xx before pycsw sees it (fail closed):
an unparseable or compressed body, a DOCTYPE, a SOAP Body with several operations, a query ``request``
that disagrees with the body, a parameter given twice, an unknown operation. What is forwarded is
exactly what was inspected: the body read here, the query re-encoded from the parsed pairs.

Every read carries the caller's view (``X-Geoportal-View``, :mod:`catalog.catalog_view`): which records
the node's policy lets this caller see, in full or without data links, signed with the per-start secret.
The catalog process runs pycsw with that view as its repository filter, so what a caller may not see is
never read, whatever the request asks (an identifier, ElementSetName full, a POST constraint). A parent
presenting a harvest token gets every record in full (it applies its own policy to them).

A transaction that passes gets the per-start secret of the catalog process added (``X-Geoportal-Gate``);
pycsw accepts CSW-T only with it (see ``catalog/pycsw_process``), so even a request the gate took for a
read cannot write.
"""

from __future__ import annotations

import hmac
import io
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape

from lxml import etree

from catalog.catalog_view import EVERYTHING, PRIVATE_HEADERS, PUBLIC_ONLY
from catalog.catalog_view import HEADER as VIEW_HEADER

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

READ_OPS = {"getcapabilities", "describerecord", "getdomain", "getrecords", "getrecordbyid", "getrepositoryitem"}
WRITE_OPS = {"transaction", "harvest"}
# elements that only a CSW-T document holds: seen anywhere in a body, the request counts as a write
WRITE_ELEMENTS = WRITE_OPS | {"insert", "update", "delete"}
READ_MODES = {"sru", "oaipmh"}  # pycsw rebuilds these requests as GetCapabilities/GetRecords/GetRecordById
MAX_BODY = 64 * 1024 * 1024
UPSTREAM_HEADERS = "geoportal.upstream_headers"  # environ key: extra headers for the Proxy
SECRET_HEADER = "X-Geoportal-Gate"


class Refusal(Exception):
    """A request the gate will not pass: HTTP status, OWS exception code, one-line message."""

    def __init__(self, status: str, code: str, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or []


@dataclass
class CswRequest:
    """What pycsw will be given: the method, the canonical query, the body; and what it will execute."""

    method: str
    query: str
    body: bytes
    operation: str  # lower case; "" when the request names none (pycsw answers capabilities or an error)
    writes: bool


def exception_report(start_response: StartResponse, status: str, code: str, message: str,
                     headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" '
            f'version="1.2.0"><ows:Exception exceptionCode="{code}"><ows:ExceptionText>{escape(message)}'
            '</ows:ExceptionText></ows:Exception></ows:ExceptionReport>\n').encode("utf-8")
    start_response(status, [("Content-Type", "application/xml; charset=utf-8"),
                            ("Content-Length", str(len(body))), *(headers or [])])
    return [body]


def read_body(environ: Environ) -> bytes:
    """The request body, bounded; a bad Content-Length or a compressed body is refused."""
    encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity"):
        raise Refusal("415 Unsupported Media Type", "NoApplicableCode",
                      f"Content-Encoding '{encoding}' is not accepted by the catalog: send the XML uncompressed")
    raw = environ.get("CONTENT_LENGTH") or ""
    if raw:
        try:
            length = int(raw)
        except ValueError:
            raise Refusal("400 Bad Request", "NoApplicableCode", f"Content-Length '{raw[:40]}' is not a number")
        if length < 0 or length > MAX_BODY:
            raise Refusal("413 Content Too Large", "NoApplicableCode",
                          f"the request body is larger than {MAX_BODY // 2**20} MiB: split the transaction")
        body = environ["wsgi.input"].read(length) if length else b""
    elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        body = environ["wsgi.input"].read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise Refusal("413 Content Too Large", "NoApplicableCode",
                          f"the request body is larger than {MAX_BODY // 2**20} MiB: split the transaction")
    else:
        body = b""
    return body


def parse_query(query: str) -> list[tuple[str, str]]:
    """The KVP pairs as pycsw reads them (``parse_qsl``, keys compared in lower case); a key given twice
    is refused, since pycsw would keep one of them by an order the gate cannot see."""
    pairs = parse_qsl(query, keep_blank_values=True)
    seen: set[str] = set()
    for key, _ in pairs:
        if key.lower() in seen:
            raise Refusal("400 Bad Request", "InvalidParameterValue",
                          f"the parameter '{key}' is given more than once: give it once")
        seen.add(key.lower())
    return pairs


def _localname(el: etree._Element) -> str:
    return etree.QName(el).localname.lower()


def body_operation(body: bytes) -> tuple[str, bool]:
    """(operation, writes) of an XML POST body, read as pycsw reads it; refuses what is not clear."""
    if not body.strip():
        raise Refusal("400 Bad Request", "MissingParameterValue",
                      "a POST to the catalog needs an XML request document in its body (or use GET with KVP)")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError) as e:
        hint = (" (form-encoded bodies are not accepted)" if body.lstrip()[:1] != b"<" else "")
        raise Refusal("400 Bad Request", "NoApplicableCode",
                      f"the POST body is not a well-formed XML document{hint}: {str(e)[:160]}")
    if root.getroottree().docinfo.doctype or root.getroottree().docinfo.internalDTD is not None:
        raise Refusal("400 Bad Request", "NoApplicableCode",
                      "the POST body has a DOCTYPE: CSW requests must not declare a DTD or entities")
    op_el = root
    if _localname(root) == "envelope":  # SOAP: pycsw executes the first element of the Body
        bodies = [c for c in root.iterchildren(etree.Element) if _localname(c) == "body"]
        if len(bodies) != 1:
            raise Refusal("400 Bad Request", "NoApplicableCode", "the SOAP Envelope must have exactly one Body")
        ops = list(bodies[0].iterchildren(etree.Element))
        if len(ops) != 1:
            raise Refusal("400 Bad Request", "NoApplicableCode",
                          f"the SOAP Body must hold exactly one CSW request, it holds {len(ops)}")
        op_el = ops[0]
    operation = _localname(op_el)
    writes = operation in WRITE_OPS or any(_localname(e) in WRITE_ELEMENTS for e in root.iter(etree.Element))
    return operation, writes


def inspect(environ: Environ, body: bytes) -> CswRequest:
    """Decide what pycsw would execute for this request (``body``: the POST body read by
    :func:`read_body`), or raise :class:`Refusal`."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method not in ("GET", "POST"):
        raise Refusal("405 Method Not Allowed", "OperationNotSupported",
                      f"the catalog answers GET (KVP) and POST (XML), not {method[:20]}",
                      [("Allow", "GET, POST, HEAD")])
    pairs = parse_query(environ.get("QUERY_STRING", ""))
    kvp = {k.lower(): v for k, v in pairs}
    query_op = kvp.get("request", "").strip().lower()
    if method == "POST":
        operation, writes = body_operation(body)
        if "request" in kvp and query_op != operation:
            raise Refusal("400 Bad Request", "InvalidParameterValue",
                          f"the query says request={kvp['request'][:40]} but the POST body is a "
                          f"{operation[:40]} document: send one request")
        query = ""  # pycsw ignores the query of a POST; forward none, so nothing else can be read from it
    else:
        body, query = b"", urlencode(pairs)
        if kvp.get("mode") in READ_MODES:
            operation, writes = "getrecords", False
        else:
            operation, writes = query_op, query_op in WRITE_OPS
    if not writes and operation and operation not in READ_OPS:
        raise Refusal("400 Bad Request", "OperationNotSupported",
                      f"unknown CSW request '{operation[:40]}': use GetCapabilities, DescribeRecord, GetDomain, "
                      "GetRecords, GetRecordById, GetRepositoryItem, Transaction or Harvest")
    return CswRequest(method, query, body, operation, writes)


class CatalogGate:
    """CSW-T (Transaction, Harvest) only for authenticated publishers; every read passes.

    Publishers present ``Authorization: Bearer <token>``; the node's tokens come from the environment
    variable GEOPORTAL_CSW_TOKENS (comma-separated), so no secret is written in a config file.
    ``secret`` is the catalog process's per-start secret, added to the transactions that pass.
    ``on_write`` is called once the catalog has answered a transaction that passed (whatever it answered: a
    report of a partly applied one is still a change), so what is derived from the catalog can follow.
    """

    def __init__(self, app: WSGIApp, tokens: set[str], secret: str = "", views: Any = None,
                 on_write: Callable[[], None] | None = None):
        self.app, self.tokens, self.secret, self.views = app, tokens, secret, views
        self.on_write = on_write

    def _authorised(self, environ: Environ) -> bool:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        return bool(token) and any(hmac.compare_digest(token.encode(), t.encode()) for t in self.tokens)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        environ = dict(environ)
        try:
            # a GET's body is not read: pycsw ignores it, and it is not forwarded
            request = inspect(environ, read_body(environ) if environ.get("REQUEST_METHOD") == "POST" else b"")
        except Refusal as e:
            return exception_report(start_response, e.status, e.code, e.message, e.headers)
        extra: dict[str, str] = {}
        if request.writes:
            if not self._authorised(environ):
                return exception_report(
                    start_response, "401 Unauthorized", "NoApplicableCode",
                    "CSW-T (Transaction, Harvest) needs a publisher token: send Authorization: Bearer TOKEN",
                    [("WWW-Authenticate", 'Bearer realm="csw"')])
            if self.secret:
                extra[SECRET_HEADER] = self.secret
            view = EVERYTHING  # a publisher's transaction works on the full records
        else:
            view = self.views.for_environ(environ) if self.views is not None else PUBLIC_ONLY
        if self.secret:
            extra[VIEW_HEADER] = view.encode(self.secret)
        environ.update({"wsgi.input": io.BytesIO(request.body), "CONTENT_LENGTH": str(len(request.body)),
                        "QUERY_STRING": prefer_202(request.query), "PATH_INFO": "",
                        UPSTREAM_HEADERS: extra})
        if not request.body:
            environ.pop("CONTENT_TYPE", None)
        body = self.app(environ, private(start_response))
        if request.writes and self.on_write is not None:
            return _after(body, self.on_write)
        return body


def _after(body: Iterable[bytes], then: Callable[[], None]) -> Iterator[bytes]:
    """``body``, then ``then()`` once it has been sent (or the client went away): the write is done by then."""
    try:
        yield from body
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
        then()


def private(start_response: StartResponse) -> StartResponse:
    """The answer depends on who asked: no shared cache may give it to another caller."""
    def start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
        kept = [(k, v) for k, v in headers if k.lower() not in ("cache-control", "vary")]
        return start_response(status, [*kept, *PRIVATE_HEADERS], *exc)
    return start


def prefer_202(query: str) -> str:
    """A GetCapabilities that names no version gets CSW 2.0.2 (pycsw would answer 3.0.0): most harvesters
    (GeoNetwork, GDAL's CSW driver, CKAN) speak 2.0.2 and follow the version the server reports.
    Clients that want 3.0 say so (acceptversions=3.0.0)."""
    keys = {k.lower(): v.lower() for k, v in parse_qsl(query, keep_blank_values=True)}
    if keys.get("request") == "getcapabilities" and "acceptversions" not in keys and "version" not in keys:
        return query + "&acceptversions=2.0.2,3.0.0"
    return query
