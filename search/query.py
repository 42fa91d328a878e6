"""A search request: parameters checked into a :class:`Query` (bad ones raise :class:`SearchQueryError`,
a 400 on the web), then run against the index: hits of one page, the total, and facet counts over every
match.

The FTS5 expression is composed only of terms that :mod:`search.analyse` produced (letters and digits,
each quoted), so nothing a user types — quotes, ``NEAR``, ``*``, column filters — reaches FTS5 as syntax.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Mapping

from geoportal.errors import GeoportalError
from catalog.catalog_view import PUBLIC_ONLY, CatalogView
from search.access import visible
from search.analyse import QueryTerm, query_terms
from search.index import FACETS

MAX_Q = 500
MAX_LIMIT = 100
MAX_OFFSET = 10_000
FILTERS = ("type", "status", "theme", "node", "organisation", "level", "territory", "format", "licence", "access",
           "updated")
FACET_LIMIT = 30  # values shown per facet, the most frequent first


class SearchQueryError(GeoportalError):
    """A search parameter the index cannot answer: the message names it and says what is accepted."""


@dataclass(frozen=True)
class Query:
    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    bbox: tuple[float, float, float, float] | None = None
    hromada: str | None = None
    updated_from: str | None = None
    updated_to: str | None = None
    sort: str = "relevance"  # relevance | date
    limit: int = 10
    offset: int = 0


def _one(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name) or []
    if len(values) > 1:
        raise SearchQueryError(f"parameter '{name}' is given {len(values)} times: give it once")
    return values[0] if values else None


def _int(params: Mapping[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    raw = _one(params, name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise SearchQueryError(f"parameter '{name}': '{raw[:20]}' is not a whole number from {low} to {high}")
    return int(raw)


def _date(params: Mapping[str, list[str]], name: str) -> str | None:
    raw = _one(params, name)
    if not raw:
        return None
    import datetime as dt

    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise SearchQueryError(f"parameter '{name}': '{raw[:20]}' is not a date (YYYY-MM-DD)") from None


def parse(params: Mapping[str, list[str]]) -> Query:
    """Check the request parameters (each a list of values, as ``urllib.parse.parse_qs`` gives them)."""
    for name, values in params.items():
        for v in values:
            if "\x00" in v or "\x00" in name:
                raise SearchQueryError(f"parameter '{name[:30]}' contains a NUL character: remove it")
    q = (_one(params, "q") or "").strip()
    if len(q) > MAX_Q:
        raise SearchQueryError(f"parameter 'q' is {len(q)} characters long: at most {MAX_Q} are searched")
    filters = {}
    for name in FILTERS:
        values = tuple(v for raw in params.get(name, []) for v in raw.split(",") if v.strip())
        if any(len(v) > 200 for v in values):
            raise SearchQueryError(f"parameter '{name}': a value longer than 200 characters")
        if values:
            filters[name] = tuple(v.strip() for v in values)
    bbox = None
    raw_bbox = _one(params, "bbox")
    if raw_bbox:
        try:
            parts = [float(x) for x in raw_bbox.split(",")]
        except ValueError:
            parts = []
        if len(parts) != 4 or not (-180 <= parts[0] <= parts[2] <= 180 and -90 <= parts[1] <= parts[3] <= 90):
            raise SearchQueryError(f"parameter 'bbox': '{raw_bbox[:60]}' is not minlon,minlat,maxlon,maxlat "
                                   "in degrees (WGS 84), min ≤ max")
        bbox = (parts[0], parts[1], parts[2], parts[3])
    hromada = _one(params, "hromada")
    if hromada is not None and not (hromada.startswith("UA") and hromada[2:].isdigit() and len(hromada) == 19):
        raise SearchQueryError(f"parameter 'hromada': '{hromada[:30]}' is not a KATOTTH code (UA + 17 digits)")
    sort = _one(params, "sort") or "relevance"
    if sort not in ("relevance", "date"):
        raise SearchQueryError(f"parameter 'sort': '{sort[:20]}' is not one of: relevance, date")
    return Query(q=q, filters=filters, bbox=bbox, hromada=hromada,
                 updated_from=_date(params, "updated_from"), updated_to=_date(params, "updated_to"),
                 sort=sort, limit=_int(params, "limit", 10, 1, MAX_LIMIT),
                 offset=_int(params, "offset", 0, 0, MAX_OFFSET))


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def fts_expression(terms: list[QueryTerm]) -> str:
    """Every word must match (AND); a word matches any of its alternatives (OR)."""
    groups = []
    for t in terms:
        alts = [f"{{title body}} : {_quote(e)}" for e in t.exact]
        if t.prefix:
            alts.append(f"{{title body}} : {_quote(t.prefix)} *")
        if t.translit_prefix:
            alts.append(f"translit : {_quote(t.translit_prefix)} *")
        groups.append("(" + " OR ".join(alts) + ")")
    return " AND ".join(groups)


@dataclass
class Result:
    total: int
    hits: list[dict[str, Any]]
    facets: dict[str, list[dict[str, Any]]]


def run(db: sqlite3.Connection, query: Query, view: CatalogView = PUBLIC_ONLY) -> Result:
    """The page of hits, the total and the facet counts for ``query`` as the caller's ``view`` may see them
    (hits of records shown without data links come without links)."""
    where: list[str] = []
    args: list[Any] = []
    cond, access = visible(view)
    where.append(cond)
    args += access
    vkey = view.digest()
    for name, values in query.filters.items():
        where.append(f"d.rowid IN (SELECT doc FROM facets WHERE code IN (SELECT code FROM facet_values "
                     f"WHERE name = ? AND value IN ({','.join('?' * len(values))})))")
        args += [name, *values]
    box = query.bbox
    if query.hromada:
        row = db.execute("SELECT min(minx), min(miny), max(maxx), max(maxy) FROM docs WHERE id = ?",
                         (f"passport:{query.hromada}",)).fetchone()
        if row is None or row[0] is None:
            raise SearchQueryError(f"parameter 'hromada': no hromada {query.hromada} with a boundary is known "
                                   "to this node; use a KATOTTH code of its passports, or bbox=")
        box = row if box is None else (max(box[0], row[0]), max(box[1], row[1]), min(box[2], row[2]),
                                       min(box[3], row[3]))
    if box is not None:
        where.append("d.minx <= ? AND d.maxx >= ? AND d.miny <= ? AND d.maxy >= ?")
        args += [box[2], box[0], box[3], box[1]]
    if query.updated_from:
        where.append("d.updated >= ?")
        args.append(query.updated_from)
    if query.updated_to:
        where.append("d.updated <= ?")
        args.append(query.updated_to)

    terms = query_terms(query.q)
    if query.q and not terms:  # only punctuation: nothing can match
        return Result(0, [], {name: [] for name in FACETS})
    if terms:
        source = ("(SELECT rowid, bm25(fts, 5.0, 1.0, 0.5) AS score FROM fts WHERE fts MATCH ?) AS m "
                  "JOIN docs d ON d.rowid = m.rowid")
        args = [fts_expression(terms), *args]
    else:
        source = "docs d"
        where.append("1")
    matched = f"SELECT d.rowid FROM {source} WHERE {' AND '.join(where)}"
    only_words = terms and query.sort == "relevance" and len(where) == 1  # no filter but access
    hidden = _hidden(db, view) if only_words else None
    if hidden is not None:
        # the FTS table alone (no join on every match): drop the few documents the principal may not see
        expr = args[0]
        matched_ids = [r for (r,) in db.execute("SELECT rowid FROM fts WHERE fts MATCH ?", (expr,))
                       if r not in hidden]
        top = db.execute("SELECT rowid, bm25(fts, 5.0, 1.0, 0.5) AS s FROM fts WHERE fts MATCH ? ORDER BY s, rowid "
                         "LIMIT ?", (expr, query.offset + query.limit + len(hidden))).fetchall()
        page = [r for r in top if r[0] not in hidden][query.offset:query.offset + query.limit]
    else:
        order = ("d.updated DESC, d.rowid" if query.sort == "date" or not terms else "m.score, d.updated DESC")
        score = "m.score" if terms else "0"
        page = db.execute(f"SELECT d.rowid, {score} FROM {source} WHERE {' AND '.join(where)} ORDER BY {order} "
                          "LIMIT ? OFFSET ?", [*args, query.limit, query.offset]).fetchall()
    shown = {r: (h, k) for r, h, k in db.execute(
        f"SELECT h.rowid, h.hit, d.key FROM hits h JOIN docs d ON d.rowid = h.rowid "
        f"WHERE h.rowid IN ({','.join('?' * len(page))})", [r[0] for r in page])}
    hits = [_shown(shown[rowid], view, score=round(-float(s), 4) if s else None) for rowid, s in page]
    if not terms and not query.filters and box is None and not (query.updated_from or query.updated_to):
        key = (_build(db), vkey)  # the whole visible index: its counts are the same every time
        if key not in _UNFILTERED:
            ids = [r[0] for r in db.execute(matched, args)]
            _UNFILTERED.clear()
            _UNFILTERED[key] = (len(ids), facet_counts(db, ids))
        total, facets = _UNFILTERED[key]
        return Result(total, hits, facets)
    if hidden is None:
        matched_ids = [r[0] for r in db.execute(matched, args)]
    return Result(len(matched_ids), hits, facet_counts(db, matched_ids))


class _FacetTable:
    """Every (document, facet value) pair of one index, in memory, so that counting the facets of a
    result of 20,000 documents is a few array operations instead of a GROUP BY per request."""

    def __init__(self, db: sqlite3.Connection):
        import numpy as np

        pairs = np.array(db.execute("SELECT doc, code FROM facets").fetchall() or [(0, 0)], dtype=np.int64)
        self.doc, self.code = pairs[:, 0], pairs[:, 1]
        self.labels = dict(((c, (n, v)) for c, n, v in db.execute("SELECT code, name, value FROM facet_values")))
        self.size = int(self.doc.max()) + 1


_TABLES: dict[str, _FacetTable] = {}
_UNFILTERED: dict[tuple[str, str], tuple[int, dict[str, list[dict[str, Any]]]]] = {}


def _shown(row: tuple[str, str], view: CatalogView, score: float | None) -> dict[str, Any]:
    hit = dict(json.loads(row[0]), score=score)
    if row[1] and view.mode(row[1], hit.get("access")) == "metadata":
        hit["links"] = []  # the record, not the way to its data
    return hit


_HIDDEN: dict[tuple[str, str], frozenset[int] | None] = {}
MAX_HIDDEN = 1000  # beyond this many hidden documents the query joins on access instead


def _hidden(db: sqlite3.Connection, view: CatalogView) -> frozenset[int] | None:
    """The documents of this index build that ``view`` may not see, when they are few (else None)."""
    key = (_build(db), view.digest())
    if key not in _HIDDEN:
        cond, args = visible(view, prefix="")
        rows = db.execute(f"SELECT rowid FROM docs WHERE NOT {cond} LIMIT ?", [*args, MAX_HIDDEN + 1]).fetchall()
        _HIDDEN.clear()
        _HIDDEN[key] = frozenset(r for (r,) in rows) if len(rows) <= MAX_HIDDEN else None
    return _HIDDEN[key]


def places(db: sqlite3.Connection) -> list[tuple[str, str]]:
    """The hromadas ``hromada=`` can filter by (KATOTTH, name), by name: those whose passport has a boundary.
    An index built before the list was kept has none (the page then offers no picker)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'places'").fetchone()
    return [(str(code), str(name)) for code, name in json.loads(row[0])] if row and row[0] else []


def _build(db: sqlite3.Connection) -> str:
    """The identity of the index build (a new one after every rebuild): the key of the caches."""
    return str(db.execute("SELECT value FROM meta WHERE key = 'build'").fetchone()[0])


def facet_counts(db: sqlite3.Connection, matched: list[int]) -> dict[str, list[dict[str, Any]]]:
    """Counts of each facet value over the matched documents, the most frequent first."""
    import numpy as np

    facets: dict[str, list[dict[str, Any]]] = {name: [] for name in FACETS}
    if not matched:
        return facets
    build = _build(db)
    table = _TABLES.get(build)
    if table is None:
        table = _TABLES[build] = _FacetTable(db)
        for old in [k for k in _TABLES if k != build]:
            del _TABLES[old]
    mask = np.zeros(table.size, dtype=bool)
    mask[np.asarray(matched, dtype=np.int64)] = True
    counts = np.bincount(table.code[mask[table.doc]], minlength=len(table.labels))
    found = sorted(((table.labels[int(c)], int(counts[c])) for c in np.flatnonzero(counts)),
                   key=lambda x: (x[0][0], -x[1], x[0][1]))
    for (name, value), count in found:
        if len(facets[name]) < FACET_LIMIT:
            facets[name].append({"value": value, "count": count})
    return facets
