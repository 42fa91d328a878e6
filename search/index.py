"""The search index of a node: one SQLite file (``<workspace>/search.db``) with an FTS5 table over the
analysed text (:mod:`search.analyse`) and plain columns and a facet table for filters and counts.

Built at build and harvest time from the document sources of :mod:`search.documents`, written aside and
moved into place with one rename: a running ``/search`` sees the old index or the new one, never half.
SQLite with FTS5 is in the standard library, so a node needs no search server.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Iterable

from catalog.repository import CatalogRepository
from geoportal.config import NodeConfig
from geoportal.errors import CatalogError
from geoportal.model import Workspace
from search.analyse import document_terms
from search.documents import DOC_SOURCES, Doc, catalog_records

log = logging.getLogger(__name__)

FACETS = ("type", "status", "theme", "node", "organisation", "level", "territory", "format", "licence", "access",
          "updated")
SCHEMA = """
-- narrow rows for filtering and ordering every match; what a hit shows is in hits, read for one page only
CREATE TABLE docs (
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, access TEXT NOT NULL, key TEXT NOT NULL DEFAULT '', updated TEXT,
    minx REAL, miny REAL, maxx REAL, maxy REAL);
CREATE TABLE hits (rowid INTEGER PRIMARY KEY, hit TEXT NOT NULL);
CREATE TABLE facet_values (code INTEGER PRIMARY KEY, name TEXT NOT NULL, value TEXT NOT NULL,
    UNIQUE (name, value));
CREATE TABLE facets (doc INTEGER NOT NULL, code INTEGER NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE VIRTUAL TABLE fts USING fts5(title, body, translit, content='',
    tokenize = 'unicode61 remove_diacritics 0');
"""
INDEXES = """
CREATE INDEX facets_code ON facets (code, doc);
CREATE INDEX docs_updated ON docs (updated);
CREATE INDEX docs_id ON docs (id);
CREATE INDEX docs_access ON docs (access);
CREATE INDEX docs_key ON docs (key);
"""


def index_path(ws: Workspace) -> Path:
    return ws.root / "search.db"


def hit_of(doc: Doc) -> dict[str, object]:
    """What a hit shows of a document (JSON of /search?f=json, less the score)."""
    return {"id": doc.id, "type": doc.type, "title": {"uk": doc.title_uk, "en": doc.title_en or None},
            "node": doc.node, "level": doc.level or None, "theme": doc.theme or None,
            "organisation": doc.organisation or None, "status": doc.status or None,
            "summary": doc.summary or None, "territory": doc.territory, "formats": doc.formats,
            "licence": doc.licence or None, "access": doc.access, "updated": doc.updated or None,
            "bbox": list(doc.bbox) if doc.bbox else None, "links": doc.links}


def facet_values(doc: Doc) -> Iterable[tuple[str, str]]:
    yield "type", doc.type
    for name in ("status", "theme", "node", "organisation", "level", "licence", "access"):
        if getattr(doc, name):
            yield name, getattr(doc, name)
    for code in doc.territory:
        yield "territory", code
    for fmt in doc.formats:
        yield "format", fmt
    if doc.updated[:4].isdigit():
        yield "updated", doc.updated[:4]


def write_index(path: Path, docs: Iterable[Doc]) -> int:
    """Write the index of ``docs`` to ``path`` (aside, then renamed); returns how many were indexed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    n = 0
    try:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        seen: set[str] = set()
        places: dict[str, str] = {}  # KATOTTH → name: the hromadas ``hromada=`` can filter by
        codes: dict[tuple[str, str], int] = {}
        for n, doc in enumerate(docs, 1):  # noqa: B007 - n is the count
            if doc.id in seen:  # one document per identifier: the first source wins
                n -= 1
                continue
            seen.add(doc.id)
            if doc.place and doc.bbox and doc.territory:
                places[doc.territory[0]] = doc.place
            box = doc.bbox or (None, None, None, None)
            cur = db.execute("INSERT INTO docs (id, access, key, updated, minx, miny, maxx, maxy) "
                             "VALUES (?,?,?,?,?,?,?,?)", (doc.id, doc.access, doc.key, doc.updated, *box))
            rowid = cur.lastrowid
            db.execute("INSERT INTO hits VALUES (?, ?)", (rowid, json.dumps(hit_of(doc), ensure_ascii=False)))
            title = document_terms(f"{doc.title_uk} {doc.title_en}")
            body = document_terms(f"{doc.summary} {doc.text} {doc.organisation} {' '.join(doc.territory)}")
            db.execute("INSERT INTO fts (rowid, title, body, translit) VALUES (?,?,?,?)",
                       (rowid, " ".join(title.terms), " ".join(body.terms),
                        " ".join(title.translit + body.translit)))
            for key in dict.fromkeys(facet_values(doc)):
                if key not in codes:
                    codes[key] = len(codes)
                    db.execute("INSERT INTO facet_values VALUES (?,?,?)", (codes[key], *key))
                db.execute("INSERT INTO facets (doc, code) VALUES (?,?)", (rowid, codes[key]))
        n = len(seen)
        db.executescript(INDEXES)
        db.execute("INSERT INTO meta VALUES ('built_at', ?), ('documents', ?), ('build', ?), ('places', ?)",
                   (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), str(n), uuid.uuid4().hex,
                    json.dumps(sorted(([code, name] for code, name in places.items()),
                                      key=lambda p: (p[1].casefold(), p[0])), ensure_ascii=False)))
        db.execute("INSERT INTO fts (fts) VALUES ('optimize')")
        db.commit()
        db.execute("ANALYZE")
        db.close()
        os.replace(tmp, path)
    except BaseException:
        db.close()
        tmp.unlink(missing_ok=True)
        raise
    return n


def all_documents(cfg: NodeConfig, ws: Workspace, catalog: CatalogRepository | None = None) -> Iterable[Doc]:
    """Every source's documents; the records read from ``catalog`` when given (the repository pycsw serves,
    when it is not the build's ``catalog.db``: production's PostgreSQL catalog)."""
    sources = dict(DOC_SOURCES)
    if catalog is not None:
        sources["record"] = partial(catalog_records, catalog=catalog)
    for name, source in sources.items():
        count = 0
        for doc in source(cfg, ws):
            count += 1
            yield doc
        log.info("search index of %s: %d %s documents", cfg.node.id, count, name)


def build(cfg: NodeConfig, ws: Workspace, catalog: CatalogRepository | None = None) -> Path:
    """(Re)build the node's search index from every document source (the records from ``catalog``, see
    :func:`all_documents`); returns its path."""
    path = index_path(ws)
    try:
        n = write_index(path, all_documents(cfg, ws, catalog))
    except (OSError, sqlite3.Error) as e:
        raise CatalogError(f"{path}: the search index could not be rebuilt ({e}); the previous one is kept "
                           "— check the disk and the catalog database, then run 'geoportal build' again") from e
    log.info("search index of %s: %d documents in %s", cfg.node.id, n, path)
    return path
