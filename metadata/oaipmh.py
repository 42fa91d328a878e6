"""OAI-PMH 2.0 over the node's catalog, answered by the node itself instead of pycsw.

Why our own responder and not a layer correcting pycsw 2.6's: pycsw's OAI-PMH is a translation of each
OAI request into a CSW GetRecords, and its faults sit in that translation — ListIdentifiers repeats the
first identifier, a complete list ends with resumptionToken "0" that leads nowhere, the header says
``datestamp`` instead of ``dateStamp``, and every fault comes back as ``badArgument`` (bad verb, unknown
prefix, unknown identifier, empty date range). Correcting its output would mean re-querying the catalog
anyway, so this module reads the same repository directly: pycsw's ``records`` table, where the loader
and CSW-T stored each record's ISO XML and the columns pycsw parsed from it — the repository the node's
pycsw configuration names (:func:`catalog.repository.repository_of`): the build's SQLite ``catalog.db`` for
a built node, the PostgreSQL catalog in production, so a record a publisher inserts, changes or deletes
with CSW-T is listed, changed or gone here at once. The protocol is small (six verbs) and fully specified,
so the whole of it is here, with the error codes the specification gives for each case.

Choices a harvester can rely on:

- datestamps are the records' own ``gmd:dateStamp`` (kept stable across rebuilds by
  :func:`metadata.records.restamp`) in UTC, second granularity; ``from``/``until`` accept both granularities;
- lists are ordered by identifier and paged by an opaque resumption token that carries the last identifier
  sent (so a record added or removed between pages never makes another repeat or vanish); the last page
  carries an empty token (the specification's end of list), a list that fits one page carries none;
- prefixes: ``oai_dc`` for every record (made from pycsw's parsed columns) and ``iso19139`` (pycsw's own
  name for it) for the records stored as ISO 19139; deleted records are not tracked (``deletedRecord=no``):
  a record deleted with CSW-T is absent from every list and unknown to GetRecord (``idDoesNotExist``);
- no sets: a ``set`` argument gets ``noSetHierarchy``;
- each caller sees the records the node's policy allows (:mod:`catalog.access_view`): hidden ones are
  absent from every list and unknown to GetRecord, records of the ``metadata`` mode come without data
  links; a resumption token is bound to the view it was issued under, so a token from another caller's
  list is a ``badResumptionToken``, never a page of that list.

OAI-PMH errors are sent with HTTP 200, as the protocol requires (section 3.6): harvesters read the
``error`` element, not the status; only a request this module cannot serve at all gets a 4xx/5xx.
"""

from __future__ import annotations

import base64
import configparser
import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qsl

from lxml import etree

from catalog.catalog_view import PUBLIC_ONLY, CatalogView
from catalog.repository import CatalogRepository, SqliteRepository, repository_of
from geoportal.errors import CatalogError

OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
GMD = "http://www.isotc211.org/2005/gmd"
FORMATS = {  # prefix → (schema, namespace, which stored records can be disseminated in it)
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC),
    "iso19139": ("http://www.isotc211.org/2005/gmd/gmd.xsd", GMD),
}
VERBS = {  # verb → (required, optional, exclusive) arguments
    "Identify": (set(), set(), None),
    "ListMetadataFormats": (set(), {"identifier"}, None),
    "ListSets": (set(), set(), "resumptionToken"),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "GetRecord": ({"identifier", "metadataPrefix"}, set(), None),
}
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
log = logging.getLogger(__name__)
DEFAULT_PAGE_SIZE = 100


class OaiError(Exception):
    """One OAI-PMH error condition: its code (from the specification's list) and a readable message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Header:
    identifier: str
    datestamp: dt.datetime
    schema: str


def _utc(value: str | None) -> dt.datetime | None:
    """A stored date (ISO 8601 date or date-time, any offset, or none) as an aware UTC date-time."""
    if not value:
        return None
    try:
        d = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return d.astimezone(dt.timezone.utc).replace(microsecond=0)


def _stamp(d: dt.datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def _bound(value: str, name: str, upper: bool) -> tuple[dt.datetime, str]:
    """A ``from``/``until`` argument → (UTC date-time, granularity); a day ``until`` covers the whole day."""
    try:
        if len(value) == 10:
            day = dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
            return (day + dt.timedelta(days=1, seconds=-1) if upper else day), "day"
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc), "second"
    except ValueError:
        raise OaiError("badArgument", f"'{name}={value}' is not a UTC date YYYY-MM-DD or "
                                      "YYYY-MM-DDThh:mm:ssZ") from None


class Repository:
    """The records one caller may see, read from pycsw's repository (:mod:`catalog.repository`); a path is
    taken as the SQLite file of a built node."""

    def __init__(self, database: Path | CatalogRepository, table: str = "records",
                 view: CatalogView = PUBLIC_ONLY):
        self.store: CatalogRepository = (SqliteRepository(Path(database), table)
                                         if isinstance(database, (str, Path)) else database)
        self.view = view

    def exists(self) -> bool:
        return self.store.exists()

    def headers(self, identifier: str | None = None) -> list[Header]:
        """Every record's header (or the one of ``identifier``), ordered by identifier (the stable order of
        every list)."""
        if not self.store.exists():
            raise OaiError("noRecordsMatch", "the catalog is empty (not built yet)")
        out = []
        for r in self.store.headers(self.view, identifier):
            stamp = _utc(r["date_modified"]) or _utc(r["insert_date"]) or dt.datetime(1970, 1, 1,
                                                                                    tzinfo=dt.timezone.utc)
            out.append(Header(r["identifier"], stamp, r["schema"] or ""))
        return out

    def rows(self, identifiers: list[str]) -> dict[str, Mapping[str, Any]]:
        return {r["identifier"]: r for r in self.store.rows(self.view, identifiers)}


def _can_disseminate(h: Header, prefix: str) -> bool:
    return prefix == "oai_dc" or h.schema == FORMATS[prefix][1]


def _token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def _untoken(token: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if (not isinstance(state, dict) or not isinstance(state.get("c"), int) or not isinstance(state.get("a"), str)
                or state.get("p") not in FORMATS):
            raise ValueError
        return state
    except ValueError:
        raise OaiError("badResumptionToken", f"the resumptionToken '{token}' was not issued by this "
                                             "repository; start the list again without it") from None


@dataclass
class Settings:
    """What Identify reports and how long a page is."""

    base_url: str
    repository_name: str
    admin_email: str
    page_size: int = DEFAULT_PAGE_SIZE


class OaiPmh:
    """The protocol: a dict of arguments in, an OAI-PMH response document out."""

    def __init__(self, repo: Repository, settings: Settings):
        self.repo, self.settings = repo, settings

    # -- the envelope -----------------------------------------------------------------------------------

    def respond(self, pairs: list[tuple[str, str]]) -> bytes:
        root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap={None: OAI, "xsi": XSI})
        root.set(f"{{{XSI}}}schemaLocation", f"{OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
        etree.SubElement(root, f"{{{OAI}}}responseDate").text = _stamp(dt.datetime.now(dt.timezone.utc))
        request = etree.SubElement(root, f"{{{OAI}}}request")
        request.text = self.settings.base_url
        try:
            verb, args = self._arguments(pairs)
            for k, v in args.items():
                request.set(k, v)
            request.set("verb", verb)
            body = getattr(self, f"_{verb}")(args)
            root.append(body)
        except OaiError as e:
            if e.code in ("badVerb", "badArgument"):  # the spec: echo no arguments then
                request.attrib.clear()
            etree.SubElement(root, f"{{{OAI}}}error", code=e.code).text = e.message
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    @staticmethod
    def _arguments(pairs: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
        verbs = [v for k, v in pairs if k == "verb"]
        if len(verbs) != 1 or verbs[0] not in VERBS:
            shown = ", ".join(verbs) if verbs else "none"
            raise OaiError("badVerb", f"verb {shown!s} is not one OAI-PMH verb: use one of {', '.join(VERBS)}")
        verb = verbs[0]
        required, optional, exclusive = VERBS[verb]
        args: dict[str, str] = {}
        for k, v in pairs:
            if k == "verb":
                continue
            if k in args:
                raise OaiError("badArgument", f"argument '{k}' is repeated")
            if k not in required | optional | ({exclusive} if exclusive else set()):
                raise OaiError("badArgument", f"argument '{k}' is not allowed with verb {verb}")
            args[k] = v
        if exclusive and exclusive in args:
            if len(args) > 1:
                raise OaiError("badArgument", f"'{exclusive}' must be the only argument besides the verb")
            return verb, args
        missing = sorted(required - set(args))
        if missing:
            raise OaiError("badArgument", f"verb {verb} needs argument(s) {', '.join(missing)}")
        return verb, args

    # -- verbs ------------------------------------------------------------------------------------------

    def _Identify(self, args: dict[str, str]) -> etree._Element:
        el = etree.Element(f"{{{OAI}}}Identify")
        headers = self.repo.headers() if self.repo.exists() else []
        earliest = min((h.datestamp for h in headers), default=dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc))
        for name, value in (("repositoryName", self.settings.repository_name),
                            ("baseURL", self.settings.base_url), ("protocolVersion", "2.0"),
                            ("adminEmail", self.settings.admin_email), ("earliestDatestamp", _stamp(earliest)),
                            ("deletedRecord", "no"), ("granularity", GRANULARITY)):
            etree.SubElement(el, f"{{{OAI}}}{name}").text = value
        return el

    def _ListMetadataFormats(self, args: dict[str, str]) -> etree._Element:
        prefixes = list(FORMATS)
        if "identifier" in args:
            h = self._header(args["identifier"])
            prefixes = [p for p in prefixes if _can_disseminate(h, p)]
        el = etree.Element(f"{{{OAI}}}ListMetadataFormats")
        for p in prefixes:
            mf = etree.SubElement(el, f"{{{OAI}}}metadataFormat")
            etree.SubElement(mf, f"{{{OAI}}}metadataPrefix").text = p
            etree.SubElement(mf, f"{{{OAI}}}schema").text = FORMATS[p][0]
            etree.SubElement(mf, f"{{{OAI}}}metadataNamespace").text = FORMATS[p][1]
        return el

    def _ListSets(self, args: dict[str, str]) -> etree._Element:
        if "resumptionToken" in args:
            raise OaiError("badResumptionToken", "this repository has no sets, hence no set list to resume")
        raise OaiError("noSetHierarchy", "this repository does not organise its records in sets")

    def _GetRecord(self, args: dict[str, str]) -> etree._Element:
        prefix = self._prefix(args["metadataPrefix"])
        h = self._header(args["identifier"])
        if not _can_disseminate(h, prefix):
            raise OaiError("cannotDisseminateFormat", f"record '{h.identifier}' is not available as {prefix}; "
                                                      "ListMetadataFormats with its identifier says which are")
        el = etree.Element(f"{{{OAI}}}GetRecord")
        el.append(self._record(h, self.repo.rows([h.identifier])[h.identifier], prefix))
        return el

    def _ListIdentifiers(self, args: dict[str, str]) -> etree._Element:
        return self._list("ListIdentifiers", args)

    def _ListRecords(self, args: dict[str, str]) -> etree._Element:
        return self._list("ListRecords", args)

    # -- helpers ----------------------------------------------------------------------------------------

    @staticmethod
    def _prefix(prefix: str) -> str:
        if prefix not in FORMATS:
            raise OaiError("cannotDisseminateFormat", f"metadataPrefix '{prefix}' is not offered; use one of "
                                                      f"{', '.join(FORMATS)} (see ListMetadataFormats)")
        return prefix

    def _header(self, identifier: str) -> Header:
        for h in self.repo.headers(identifier):
            return h
        raise OaiError("idDoesNotExist", f"no record with identifier '{identifier}' in this repository")

    def _list(self, verb: str, args: dict[str, str]) -> etree._Element:
        view = self.repo.view.digest()
        if "resumptionToken" in args:
            state = _untoken(args["resumptionToken"])
            if state.get("v") != view:
                raise OaiError("badResumptionToken", "this resumptionToken belongs to a list issued to another "
                                                     "caller (or before the access rules changed); start the "
                                                     "list again without it")
        else:
            state = {"p": self._prefix(args["metadataPrefix"]), "f": args.get("from"), "u": args.get("until"),
                     "a": "", "c": 0, "v": view}
            if "set" in args:
                raise OaiError("noSetHierarchy", "this repository does not organise its records in sets")
        prefix, after, cursor = state["p"], state["a"], state["c"]
        lo = _bound(state["f"], "from", False) if state.get("f") else None
        hi = _bound(state["u"], "until", True) if state.get("u") else None
        if lo and hi:
            if lo[1] != hi[1]:
                raise OaiError("badArgument", "'from' and 'until' must have the same granularity")
            if lo[0] > hi[0]:
                raise OaiError("badArgument", "'from' is later than 'until'")
        matching = [h for h in self.repo.headers() if _can_disseminate(h, prefix)
                    and (lo is None or h.datestamp >= lo[0]) and (hi is None or h.datestamp <= hi[0])]
        if not matching:
            raise OaiError("noRecordsMatch", f"no record in {prefix} matches the given dates")
        # keyset paging (after the last identifier sent): records added or removed meanwhile never make a
        # page repeat or skip one that was there all along
        rest = [h for h in matching if h.identifier > after]
        if not rest:
            raise OaiError("badResumptionToken", "nothing is left after this resumptionToken (the catalog "
                                                 "changed); start the list again")
        page = rest[:self.settings.page_size]
        el = etree.Element(f"{{{OAI}}}{verb}")
        if verb == "ListIdentifiers":
            for h in page:
                el.append(self._header_element(h))
        else:
            rows = self.repo.rows([h.identifier for h in page])
            for h in page:
                if h.identifier in rows:
                    el.append(self._record(h, rows[h.identifier], prefix))
        more = len(rest) > len(page)
        if after or more:
            rt = etree.SubElement(el, f"{{{OAI}}}resumptionToken", completeListSize=str(cursor + len(rest)),
                                  cursor=str(cursor))
            if more:
                rt.text = _token({**state, "a": page[-1].identifier, "c": cursor + len(page)})
        return el

    @staticmethod
    def _header_element(h: Header) -> etree._Element:
        el = etree.Element(f"{{{OAI}}}header")
        etree.SubElement(el, f"{{{OAI}}}identifier").text = h.identifier
        etree.SubElement(el, f"{{{OAI}}}datestamp").text = _stamp(h.datestamp)
        return el

    def _record(self, h: Header, row: Mapping[str, Any], prefix: str) -> etree._Element:
        rec = etree.Element(f"{{{OAI}}}record")
        rec.append(self._header_element(h))
        md = etree.SubElement(rec, f"{{{OAI}}}metadata")
        md.append(_iso(row) if prefix == "iso19139" else _oai_dc(row))
        return rec


def _iso(row: Mapping[str, Any]) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True)
    xml = row["xml"]
    return etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml, parser)


DC_COLUMNS = (  # dc element ← pycsw column(s); several values split on pycsw's separators
    ("title", "title"), ("creator", "creator"), ("subject", "keywords"), ("description", "abstract"),
    ("publisher", "publisher"), ("contributor", "contributor"), ("date", "date_modified"), ("type", "type"),
    ("format", "format"), ("identifier", "identifier"), ("source", "source"), ("language", "language"),
    ("relation", "relation"), ("rights", "accessconstraints"), ("rights", "otherconstraints"),
)


def _oai_dc(row: Mapping[str, Any]) -> etree._Element:
    """Simple Dublin Core from the columns pycsw parsed (the same values its own csw:Record has)."""
    dc = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})
    dc.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")
    keys = row.keys()
    for element, column in DC_COLUMNS:
        value = row[column] if column in keys else None
        if not value or (column == "source" and value == "local"):
            continue
        values = [v.strip() for v in value.split(",")] if column == "keywords" else [value]
        for v in values:
            if v:
                etree.SubElement(dc, f"{{{DC}}}{element}").text = v
    if "wkt_geometry" in keys and row["wkt_geometry"]:
        etree.SubElement(dc, f"{{{DC}}}coverage").text = row["wkt_geometry"]
    return dc


def settings_from_pycsw(config: Path, page_size: int | None = None) -> Settings:
    """The responder's settings from the node's pycsw.cfg, so both answer with the same identity."""
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(config, encoding="utf-8")
    size = page_size or int(os.environ.get("GEOPORTAL_OAI_PAGE_SIZE") or DEFAULT_PAGE_SIZE)
    return Settings(base_url=cp.get("server", "url", fallback="") + "?mode=oaipmh",
                    repository_name=cp.get("metadata:main", "identification_title", fallback="geoportal node"),
                    admin_email=cp.get("metadata:main", "contact_email", fallback="admin@example.org"),
                    page_size=max(1, size))


App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class OaiPmhFront:
    """WSGI: requests with ``mode=oaipmh`` are answered here; every other request goes to ``app`` (pycsw).

    The records are read from the repository ``pycsw_config`` names (or from ``repository``, when the
    caller already holds its reader): the one pycsw serves and writes, in every topology."""

    def __init__(self, app: App, pycsw_config: Path, views: Any = None,
                 repository: CatalogRepository | None = None):
        self.app, self.config, self.views = app, pycsw_config, views
        self._repository = repository

    @property
    def repository(self) -> CatalogRepository:
        if self._repository is None:
            self._repository = repository_of(self.config)
        return self._repository

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if not any(k.lower() == "mode" and v.lower() == "oaipmh" for k, v in query):
            return self.app(environ, start_response)
        pairs = [(k, v) for k, v in query if k.lower() != "mode"]
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = environ["wsgi.input"].read(length).decode("utf-8", "replace") if length else ""
            pairs += parse_qsl(form, keep_blank_values=True)
        elif method not in ("GET", "HEAD"):
            body = b"OAI-PMH takes GET or POST (application/x-www-form-urlencoded)"
            start_response("405 Method Not Allowed", [("Allow", "GET, POST"), ("Content-Type", "text/plain"),
                                                      ("Content-Length", str(len(body)))])
            return [body]
        try:
            view = self.views.for_environ(environ) if self.views is not None else PUBLIC_ONLY
            oai = OaiPmh(Repository(self.repository, view=view), settings_from_pycsw(self.config))
            body = oai.respond(pairs)
        except CatalogError as e:  # the repository cannot be read (its database is down): say so, guess nothing
            log.error("OAI-PMH: %s", e)  # the details for the operator, not for the client
            body = b"the catalog cannot be read now; try again in a few seconds"
            start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8"),
                                                       ("Content-Length", str(len(body))), ("Retry-After", "5")])
            return [body]
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body))),
                                  ("Cache-Control", "private, no-cache"), ("Vary", "Authorization, Cookie")])
        return [body]
