"""GetRecords pages of whole ISO 19139 records answered from the repository's stored XML — run in the
catalog process (PYCSW VENV) before pycsw, by :mod:`geoportal_pycsw_app`.

Why: a harvesting parent (:mod:`catalog.harvest.csw`, ``page_to``) asks for the catalog in pages of
500 whole ISO records. pycsw 2.6 answers such a page by building an ORM object of every row (some sixty
columns, the full text included), parsing each record's stored XML, re-serialising the whole answer and
walking it for unused namespaces: ~0.75 ms of the source's CPU per record, a third of a harvest's cost.
For ``elementSetName=full`` in ISO 19139 pycsw's answer is the stored document itself (the APISO profile
"dumps the record as is"), so the same records can be written straight from the ``xml`` column.

What it answers — everything else is pycsw's, as before (:func:`parse` returns None):

* a GET whose query holds, each key once (any case) and nothing more: ``service=CSW``, ``version=2.0.2``,
  ``request=GetRecords``, ``typeNames`` (``csw:Record`` and/or ``gmd:MD_Metadata``),
  ``resultType=results``, ``elementSetName=full``, ``outputSchema=http://www.isotc211.org/2005/gmd``,
  optional ``startPosition`` and ``maxRecords`` — no constraint, no sorting, no ElementName;
* a catalog in SQLite (the repository of a built node);
* a page whose every row is stored as an ISO document (``typename`` ``gmd:MD_Metadata``): for any other
  row pycsw builds an ISO record from the columns, so such a page is left to it.

The counts are pycsw's rules exactly (numberOfRecordsMatched, numberOfRecordsReturned, nextRecord; a
``maxRecords`` above the catalog's ``maxrecords`` is capped, an empty one is 10, 0 gives no records).
Where pycsw answers nonsense, this answers an ExceptionReport (400, InvalidParameterValue) instead:
``startPosition`` 0 or negative (pycsw reads the record before the first and says nextRecord is the page's
last record again), ``maxRecords`` negative (pycsw sends every record and says -1 were returned) or not a
number (pycsw fails with a 500).

Access: the caller's view as SQL (:meth:`CatalogView.sql`, the very text pycsw gets as its repository
filter) is the WHERE of the count and of the page, so a record the caller may not see is never read.
Order: pycsw gives no ORDER BY; the page is the same statement shape (same WHERE, LIMIT/OFFSET, no ORDER
BY) over the same index, so SQLite walks the rows in the same order (the tests compare page by page).
The count and the page are read in one transaction, so they agree even while a harvest writes.

Why the stored XML can be sent unparsed: every writer of the column (``catalog/pycsw_loader.py``, pycsw's
own CSW-T insert and update) stores the serialisation of a parsed element — a well-formed document without
a declaration, declaring every namespace it uses. A row that does not look like one (an XML declaration, a
DOCTYPE, bytes) is left to pycsw.

Imports only the standard library (the node's packages are not in this venv).
"""

from __future__ import annotations

import configparser
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote
from xml.sax.saxutils import escape, quoteattr

ISO = "http://www.isotc211.org/2005/gmd"
CSW = "http://www.opengis.net/cat/csw/2.0.2"
TYPENAMES = {"csw:Record", "gmd:MD_Metadata"}  # what pycsw (with the APISO profile) takes in typeNames
REQUIRED = {"service": "CSW", "version": "2.0.2", "request": "GetRecords", "resulttype": "results",
            "elementsetname": "full", "outputschema": ISO}
OPTIONAL = {"typenames", "startposition", "maxrecords"}
DEFAULT_MAX = 10  # pycsw's for an empty maxRecords
MAX_LIMIT = 2**62  # SQLite's LIMIT is a 64-bit integer
_DIGITS = re.compile(r"[0-9]{1,18}")
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class IsoPageRequest:
    """One page of whole ISO records: ``start`` is the 1-based startPosition, ``max_records`` what the
    client asked for (before the catalog's cap)."""

    start: int
    max_records: int | None  # None: not given (the catalog's maxrecords)


class BadParameter(Exception):
    """A parameter of a request this module answers has a value no page can be made of."""

    def __init__(self, locator: str, message: str):
        super().__init__(message)
        self.locator, self.message = locator, message


@dataclass(frozen=True)
class Catalog:
    """What of a pycsw.cfg the answer needs."""

    database: str  # the SQLite file
    table: str
    max_records: int  # server.maxrecords, -1 when not set
    schemas_base: str


def parse(method: str, query: str) -> IsoPageRequest | None:
    """The page a GET asks for, or None when the request is not one this module answers in full (pycsw
    does). Raises :class:`BadParameter` for such a page with an unusable startPosition or maxRecords."""
    if method != "GET":
        return None
    pairs = parse_qsl(query, keep_blank_values=True)
    kvp: dict[str, str] = {}
    for key, value in pairs:
        key = key.lower()
        if key in kvp or (key not in REQUIRED and key not in OPTIONAL):
            return None
        kvp[key] = value
    if any(kvp.get(k) != v for k, v in REQUIRED.items()):
        return None
    if "typenames" not in kvp or not set(kvp["typenames"].split(",")) <= TYPENAMES:
        return None
    start = kvp.get("startposition", "")
    if start and not (_DIGITS.fullmatch(start) and int(start) >= 1):
        raise BadParameter("startPosition", f"startPosition must be a whole number from 1, not '{start[:20]}'")
    max_records = kvp.get("maxrecords")
    if max_records and not re.fullmatch(r"[0-9]{1,4000}", max_records):  # a huge one is capped, as pycsw does
        raise BadParameter("maxRecords", f"maxRecords must be a whole number from 0, not '{max_records[:20]}'")
    return IsoPageRequest(int(start) if start else 1,
                          None if max_records is None else min(int(max_records), MAX_LIMIT) if max_records
                          else DEFAULT_MAX)


_CATALOGS: dict[str, tuple[int, Catalog | None]] = {}


def catalog(config: str) -> Catalog | None:
    """The catalog configured in ``config`` (read again when the file changes); None when its repository
    is not SQLite or its table name is not a plain name."""
    stamp = os.stat(config).st_mtime_ns
    cached = _CATALOGS.get(config)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(config, encoding="utf-8")
    database = cp.get("repository", "database", fallback="")
    table = cp.get("repository", "table", fallback="records")
    found = None
    if database.startswith("sqlite:///") and _TABLE.fullmatch(table):
        found = Catalog(database[len("sqlite:///"):], table, cp.getint("server", "maxrecords", fallback=-1),
                        cp.get("server", "ogc_schemas_base", fallback="http://schemas.opengis.net"))
    _CATALOGS[config] = (stamp, found)
    return found


def counts(matched: int, start: int, max_records: int) -> tuple[int, int]:
    """(numberOfRecordsReturned, nextRecord) by pycsw 2.6's rules (``csw2.getrecords``)."""
    if matched == 0:
        return 0, 0
    if max_records == 0 or matched < start:
        return 0, 1
    if matched <= start + max_records - 1:
        return matched - start + 1, 0
    return max_records, start + max_records


def page(cat: Catalog, request: IsoPageRequest, where: str) -> bytes | None:
    """The GetRecordsResponse for ``request`` of the records ``where`` (the caller's view as SQL) selects;
    None when a row of the page is not a stored ISO document (pycsw answers)."""
    limit = request.max_records if request.max_records is not None else cat.max_records
    if limit is None or limit < 0:
        limit = DEFAULT_MAX
    if cat.max_records > -1:
        limit = min(limit, cat.max_records)
    uri = "file:" + quote(cat.database) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        conn.execute("BEGIN")
        matched = conn.execute(f'SELECT count(*) FROM "{cat.table}" WHERE {where}').fetchone()[0]
        returned, next_record = counts(matched, request.start, limit)
        rows = conn.execute(f'SELECT typename, xml FROM "{cat.table}" WHERE {where} LIMIT ? OFFSET ?',
                            (limit, request.start - 1)).fetchall() if returned else []
        conn.execute("COMMIT")
    finally:
        conn.close()
    if len(rows) != returned:
        return None
    records = []
    for typename, xml in rows:
        if typename != "gmd:MD_Metadata" or not isinstance(xml, str) or xml[:2] in ("<?", "<!") or xml[:1] != "<":
            return None
        records.append(xml)
    return _response(cat, matched, returned, next_record, records)


def _response(cat: Catalog, matched: int, returned: int, next_record: int, records: list[str]) -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    location = quoteattr(f"{CSW} {cat.schemas_base}/csw/2.0.2/CSW-discovery.xsd")
    results = (f'<csw:SearchResults numberOfRecordsMatched="{matched}" numberOfRecordsReturned="{returned}" '
               f'nextRecord="{next_record}" recordSchema="{ISO}" elementSet="full"')
    head = ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
            f'<csw:GetRecordsResponse xmlns:csw="{CSW}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'version="2.0.2" xsi:schemaLocation={location}>\n'
            f'  <csw:SearchStatus timestamp="{stamp}"/>\n  {results}')
    if not records:
        return (head + "/>\n</csw:GetRecordsResponse>\n").encode("utf-8")
    parts = [head, ">"]
    for xml in records:
        parts += ["\n    ", xml]
    parts.append("\n  </csw:SearchResults>\n</csw:GetRecordsResponse>\n")
    return "".join(parts).encode("utf-8")


def exception_report(error: BadParameter) -> bytes:
    """A CSW 2.0.2 ExceptionReport (OWS 1.0) naming the parameter, as pycsw writes them."""
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<ows:ExceptionReport '
            'xmlns:ows="http://www.opengis.net/ows" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'version="1.2.0" language="en" xsi:schemaLocation="http://www.opengis.net/ows '
            'http://schemas.opengis.net/ows/1.0.0/owsExceptionReport.xsd">\n  <ows:Exception '
            f'exceptionCode="InvalidParameterValue" locator="{escape(error.locator)}">\n    <ows:ExceptionText>'
            f'{escape(error.message)}</ows:ExceptionText>\n  </ows:Exception>\n</ows:ExceptionReport>\n'
            ).encode("utf-8")


def respond(config: str, method: str, query: str, where: str) -> tuple[str, bytes, str] | None:
    """(status, body, content type) of the answer to a request this module answers, else None."""
    try:
        request = parse(method, query)
    except BadParameter as e:
        return "400 Bad Request", exception_report(e), "application/xml; charset=UTF-8"
    if request is None:
        return None
    cat = catalog(config)
    if cat is None:
        return None
    body = page(cat, request, where)
    # pycsw's GetRecords answers carry its default outputFormat as their type (no charset: the front adds it)
    return None if body is None else ("200 OK", body, "application/xml")
