"""The WSGI application of the catalog process — run by gunicorn of the PYCSW VENV, not the node's.

It wraps pycsw 2.6's server for three reasons, each a hole of the stock ``pycsw.wsgi:application``:

* **Only the node's front may write.** pycsw lets CSW-T through when the client's address is in
  ``allowed_ips`` (or when an ``X-Forwarded-For`` header says so), so any local process could insert or
  delete records. Here the client address pycsw sees is replaced: ``127.0.0.1`` (allowed) only when the
  request carries the per-start secret that the front adds after it has checked a publisher token, a
  documentation address (never allowed) otherwise; ``X-Forwarded-For`` is dropped. pycsw's own check at
  the point of execution then refuses every other transaction, however the request is dressed.
* **The configuration is fixed.** The stock wrapper takes ``?config=<any path>`` (in fact any query
  parameter containing "config") as the configuration file to use; here it is only ``PYCSW_CONFIG``.
* **Case-insensitive Cyrillic.** SQLite's ``LIKE``, ``lower()`` and ``upper()`` fold ASCII only, so
  ``csw:AnyText like '%овруцька%'`` (and OGC API Records ``q=``, which pygeoapi turns into that) missed
  "Овруцька". Every SQLite connection this process opens gets Unicode versions of the three (SQLAlchemy's
  ``connect`` event, before pycsw's first query). ``AnyText`` without a prefix, as clients and the CSW
  examples write it in CQL, is taken as ``csw:AnyText`` (pycsw 2.6 refused it as an invalid property).
* **Each caller sees what the node's policy allows.** The front's gate sends the caller's view
  (``X-Geoportal-View``, signed with the per-start secret; ``catalog/catalog_view.py``) and pycsw runs
  with it as its repository ``filter``, which pycsw adds to every query it executes (GetRecords and its
  counts, GetRecordById, GetDomain, transactions): a hidden record is not in the answer because pycsw
  never read it. A request without a valid view gets the public records only. After a transaction the
  rows pycsw wrote get their access columns from their markers (until then they are hidden).
* **A record updated in full stays a record.** pycsw 2.6's full update writes the XML as bytes, which
  PostgreSQL stored as hex text; it is decoded first, as pycsw's insert does.
* **Whole ISO pages from the stored XML.** A GetRecords page of full ISO 19139 records (what a harvesting
  parent asks for) is written straight from the repository's ``xml`` column with the same view as WHERE
  (:mod:`iso_pages`; ``GEOPORTAL_CATALOG_ISO_PAGES=0`` leaves it to pycsw): pycsw would parse and
  re-serialise every record of it. Any other request is pycsw's.
* **No internals to clients.** pycsw puts exception texts of SQLAlchemy, lxml and Python into its
  ExceptionReports (e.g. a failed insert shows the SQL statement). Every ExceptionText is replaced by a
  short message for its exception code and locator; the original goes to the log.

It imports only pycsw, lxml and the standard library (the node's packages are not in that venv).
"""

import hmac
import importlib.util
import json
import logging
import os
import re
import sqlite3
import sys
import warnings
from functools import lru_cache

# deprecations inside the pinned pycsw 2.6 / OWSLib 0.28 (shapely's ReadingError, OWSLib's future
# property names), printed once per worker; nothing the node can act on
warnings.filterwarnings("ignore", category=FutureWarning, module=r"(pycsw|owslib)(\..*)?")

from pycsw import server  # noqa: E402 - after the warning filter
from pycsw.core import repository  # noqa: E402
from pycsw.ogc.csw import csw2, csw3  # noqa: E402

from lxml import etree  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

import iso_pages  # noqa: E402 - beside this file (gunicorn's --pythonpath)

def _by_path(name):  # type: ignore[no-untyped-def]
    """A module of catalog/ by its path (catalog/ itself is not on sys.path: its pycsw.py would shadow pycsw)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"geoportal_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


VIEW = _by_path("catalog_view")
# GEOPORTAL_CATALOG_ISO_PAGES=0: every request to pycsw (for comparisons; bench/harvest_bench.py)
ISO_PAGES_ON = os.environ.get("GEOPORTAL_CATALOG_ISO_PAGES", "1") != "0"
MARKER = _by_path("access_marker")
VIEW_HEADER = "HTTP_X_GEOPORTAL_VIEW"

LOG = logging.getLogger("geoportal.pycsw")
SECRET_HEADER = "HTTP_X_GEOPORTAL_GATE"  # X-Geoportal-Gate: <secret>
TRUSTED_ADDR = "127.0.0.1"  # the one address in the generated allowed_ips
UNTRUSTED_ADDR = "192.0.2.1"  # TEST-NET-1 (RFC 5737): never in allowed_ips
_SECRET = os.environ.pop("GEOPORTAL_CSW_GATE_SECRET", "")

SAFE_TEXT = {
    "MissingParameterValue": "a required parameter is missing",
    "InvalidParameterValue": "a parameter has a value the catalog does not accept",
    "OperationNotSupported": "this operation is not supported",
    "VersionNegotiationFailed": "none of the requested versions is supported (use 2.0.2 or 3.0.0)",
    "InvalidUpdateSequence": "the update sequence is not valid",
    "OptionNotSupported": "this option is not supported",
    "NoApplicableCode": "the catalog could not process the request",
}


def safe_text(code: str, locator: str) -> str:
    """The message a client gets for an exception: its code and the parameter, no internals."""
    text = SAFE_TEXT.get(code, SAFE_TEXT["NoApplicableCode"])
    if locator and locator.replace("_", "").replace(":", "").isalnum() and len(locator) <= 64:
        text += f" (parameter: {locator})"
    return text + "; see the CSW 2.0.2 / 3.0 specification"


def _sanitising(original):  # type: ignore[no-untyped-def]
    """Wrap a pycsw ``exceptionreport`` so the text it writes is safe; log what pycsw wanted to say."""

    def exceptionreport(self, code, locator, text):  # type: ignore[no-untyped-def]
        LOG.warning("CSW exception %s (locator %s): %s", code, locator, text)
        return original(self, code, locator, safe_text(str(code), str(locator or "")))

    return exceptionreport


csw2.Csw2.exceptionreport = _sanitising(csw2.Csw2.exceptionreport)
csw3.Csw3.exceptionreport = _sanitising(csw3.Csw3.exceptionreport)


@lru_cache(maxsize=1024)
def _like_matcher(pattern, escape):  # type: ignore[no-untyped-def]
    """A test for SQL ``LIKE pattern`` (``%``, ``_``, an optional escape character), Unicode case folded."""
    folded = pattern.casefold()
    inner = folded[1:-1]
    if (escape is None and len(folded) >= 2 and folded[0] == folded[-1] == "%"
            and not any(c in inner for c in "%_")):  # '%word%', the AnyText case: a plain substring test
        return lambda value: inner in value
    parts, i = [], 0
    while i < len(folded):
        ch = folded[i]
        if escape is not None and ch == escape.casefold() and i + 1 < len(folded):
            parts.append(re.escape(folded[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    rx = re.compile("".join(parts), re.DOTALL)
    return lambda value: rx.fullmatch(value) is not None


def unicode_like(pattern, value, escape=None):  # type: ignore[no-untyped-def]
    """SQLite's like(pattern, value[, escape]) — what ``value LIKE pattern`` calls — for every alphabet."""
    if pattern is None or value is None:
        return None
    return int(_like_matcher(str(pattern), escape)(str(value).casefold()))


def _text_fn(method):  # type: ignore[no-untyped-def]
    return lambda v: getattr(v, method)() if isinstance(v, str) else v


@event.listens_for(Engine, "connect")
def _unicode_functions(dbapi_connection, _record):  # type: ignore[no-untyped-def]
    """On each new SQLite connection of pycsw: LIKE, lower() and upper() that know Cyrillic."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("like", 2, unicode_like, deterministic=True)
        dbapi_connection.create_function("like", 3, unicode_like, deterministic=True)
        dbapi_connection.create_function("lower", 1, _text_fn("lower"), deterministic=True)
        dbapi_connection.create_function("upper", 1, _text_fn("upper"), deterministic=True)


def _with_bare_anytext(original):  # type: ignore[no-untyped-def]
    """Wrap pycsw's ``Repository.__init__`` so its queryables know ``AnyText`` as ``csw:AnyText``."""

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        every = self.queryables.get("_all", {})
        if "csw:AnyText" in every:
            every.setdefault("AnyText", every["csw:AnyText"])

    return __init__


repository.Repository.__init__ = _with_bare_anytext(repository.Repository.__init__)


def _as_full_variant(original):  # type: ignore[no-untyped-def]
    """Wrap pycsw's ``Repository.insert``: a record pycsw writes is a ``full`` variant of unknown level
    (hidden until :func:`resync` reads its marker) — the key of the table is (identifier, variant)."""

    def insert(self, record, source, insert_date):  # type: ignore[no-untyped-def]
        record.geoportal_variant = "full"
        record.geoportal_level = None
        record.geoportal_key = ""
        return original(self, record, source, insert_date)

    return insert


repository.Repository.insert = _as_full_variant(repository.Repository.insert)


def _xml_as_text(original):  # type: ignore[no-untyped-def]
    """Wrap pycsw's ``Repository.update``: a full update (CSW-T Update with a record, a Harvest of a changed
    record) wrote the XML as pycsw's parser left it, bytes, which PostgreSQL stored as the hex text of a
    bytea (``\\x3c676d…``): no reader could parse the record any more, and its unreadable marker hid it as
    restricted. Decoded first, as pycsw's own insert does."""

    def update(self, record=None, recprops=None, constraint=None):  # type: ignore[no-untyped-def]
        column = self.context.md_core_model["mappings"]["pycsw:XML"]
        if record is not None and isinstance(getattr(record, column, None), bytes):
            setattr(record, column, getattr(record, column).decode("utf-8"))
        return original(self, record, recprops, constraint)

    return update


repository.Repository.update = _xml_as_text(repository.Repository.update)


def _error_report(status: str) -> tuple[str, bytes]:
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" '
            'version="1.2.0"><ows:Exception exceptionCode="NoApplicableCode"><ows:ExceptionText>'
            f'{safe_text("NoApplicableCode", "")}</ows:ExceptionText></ows:Exception></ows:ExceptionReport>')
    return status, body.encode("utf-8")


def application(env, start_response):  # type: ignore[no-untyped-def]
    """pycsw's dispatch with the client address decided by the gate secret and a fixed configuration."""
    return serve(os.environ["PYCSW_CONFIG"], env, start_response)


def serve(config, env, start_response):  # type: ignore[no-untyped-def]
    """:func:`application` for the catalog configured in ``config`` (a pycsw.cfg path)."""
    presented = env.pop(SECRET_HEADER, "")
    trusted = bool(_SECRET) and hmac.compare_digest(presented.encode("utf-8", "replace"), _SECRET.encode())
    env.pop("HTTP_X_FORWARDED_FOR", None)
    env["REMOTE_ADDR"] = TRUSTED_ADDR if trusted else UNTRUSTED_ADDR
    env["local.app_root"] = os.path.dirname(os.path.dirname(server.__file__))  # as pycsw.wsgi
    if ":" in env.get("HTTP_HOST", ""):  # as pycsw.wsgi does: pycsw builds URLs from the bare host
        env["HTTP_HOST"] = env["HTTP_HOST"].split(":")[0]
    view = VIEW.CatalogView.decode(env.pop(VIEW_HEADER, ""), _SECRET) or VIEW.PUBLIC_ONLY
    fast = _iso_page(config, env, view.sql())
    if fast is not None:
        status, contents, ctype = fast
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(contents)))])
        return [contents]
    try:
        csw = server.Csw(config, env)
        csw.config.set("repository", "filter", view.sql())
        status, contents = csw.dispatch_wsgi()
        ctype = str(csw.contenttype)
        if trusted:  # a transaction may have written rows: give them their access columns
            resync(csw.config.get("repository", "database"), csw.config.get("repository", "table"))
    except Exception:  # noqa: BLE001 - the client gets a safe report, the log the traceback
        LOG.exception("pycsw failed on %s %s", env.get("REQUEST_METHOD"), env.get("QUERY_STRING", "")[:500])
        status, contents = _error_report("500 Internal Server Error")
        ctype = "application/xml; charset=UTF-8"
    if isinstance(contents, str):
        contents = contents.encode("utf-8")
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(contents)))])
    return [contents]


def _iso_page(config, env, where):  # type: ignore[no-untyped-def]
    """The answer of :mod:`iso_pages` (a GetRecords page of whole ISO records from the stored XML, with
    ``where`` — the caller's view — applied as pycsw applies it), or None: pycsw answers. A failure there
    is logged and the request goes to pycsw."""
    if not ISO_PAGES_ON:
        return None
    try:
        return iso_pages.respond(config, env.get("REQUEST_METHOD", "GET"), env.get("QUERY_STRING", ""), where)
    except Exception:  # noqa: BLE001 - pycsw answers instead; the log says why
        LOG.exception("catalog: the ISO page of %s was left to pycsw", env.get("QUERY_STRING", "")[:500])
        return None


_ENGINES: dict = {}


def _engine(database):  # type: ignore[no-untyped-def]
    """One SQLAlchemy engine per repository (SQLite for a built node, PostgreSQL in production)."""
    from sqlalchemy import create_engine

    if database not in _ENGINES:
        _ENGINES[database] = create_engine(database)
    return _ENGINES[database]


def resync(database, table):  # type: ignore[no-untyped-def]
    """After a transaction: rows pycsw inserted or updated (level unknown, hence hidden) get their key,
    level and marker from their own XML; variants without links whose full record is gone are dropped.
    A non-public record written this way has no variant without links until the next build: callers of
    the 'metadata' mode do not see it (fail closed). The same SQL on SQLite and PostgreSQL."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table or ""):
        LOG.error("catalog: repository table %r is not a plain name; access columns not updated", table)
        return
    try:
        with _engine(database).begin() as conn:
            rows = conn.execute(text(f'SELECT identifier, xml FROM "{table}" WHERE geoportal_variant = \'full\' '
                                     "AND geoportal_level IS NULL")).fetchall()
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
            for ident, xml in rows:
                try:
                    marker = MARKER.read(etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml,
                                                          parser))
                except (etree.XMLSyntaxError, ValueError):
                    marker = MARKER.broken()
                key, level, raw = ("", "public", None) if marker is None else (
                    marker.key, marker.level, json.dumps(marker.to_dict(), separators=(",", ":")))
                conn.execute(text(f'UPDATE "{table}" SET geoportal_key = :key, geoportal_level = :level, '
                                  "geoportal_marker = :raw WHERE identifier = :ident AND geoportal_variant = 'full'"),
                             {"key": key, "level": level, "raw": raw, "ident": ident})
            conn.execute(text(f'DELETE FROM "{table}" WHERE geoportal_variant = \'meta\' AND identifier NOT IN '
                              f'(SELECT identifier FROM "{table}" WHERE geoportal_variant = \'full\')'))
    except SQLAlchemyError:
        LOG.exception("catalog: access columns of written records not updated (they stay hidden)")
