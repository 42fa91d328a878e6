"""The node's readers of pycsw's repository read SQLite and PostgreSQL alike: the same rows for every view
(the PostgreSQL condition against :meth:`CatalogView.where`, over the same records on a real PostgreSQL),
identifiers in code-point order on both (what OAI-PMH's paging compares in), the same markers and search
rows, a stamp that moves with every write and only then, and OAI-PMH pages that are the same on both."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from psycopg import sql

from catalog.catalog_view import EVERYTHING, PUBLIC_ONLY, CatalogView
from catalog.repository import (IDENTIFICATION_XML, PostgresRepository, SqliteRepository, install_change_counter,
                                repository_of)
from geoportal.errors import CatalogError
from metadata.oaipmh import OaiPmh, Repository, Settings

OAI = "{http://www.openarchives.org/OAI/2.0/}"
KEYS = ["n/a", "n/b", "n/c", "m/a", "m/d"]
key_sets = st.frozensets(st.sampled_from(KEYS))
COLUMNS = ("identifier", "date_modified", "insert_date", "schema", "xml", "title", "geoportal_key",
           "geoportal_level", "geoportal_variant", "geoportal_marker")
GMD = "http://www.isotc211.org/2005/gmd"


def _records() -> list[tuple[str, ...]]:
    """Rows of both variants and every level; identifiers whose order differs between collations (upper
    case, '-' against '_', a Cyrillic letter), a service record without a key, one not synced yet."""
    rows = []
    ids = ["b-record", "B_record", "a_record", "a-record", "яблуко", "Z"]
    for i, key in enumerate(KEYS):
        level = ("public", "officials", "restricted")[i % 3]
        ident = ids[i]
        xml = (f'<gmd:MD_Metadata xmlns:gmd="{GMD}"><gmd:identificationInfo>t{i}</gmd:identificationInfo>'
               "</gmd:MD_Metadata>")
        marker = f'{{"key":"{key}","level":"{level}"}}'
        rows.append((ident, f"2024-0{i + 1}-02T10:00:00Z", "2024-05-01T00:00:00Z", GMD, xml, f"title {i}", key,
                     level, "full", marker))
        if level != "public":
            rows.append((ident, f"2024-0{i + 1}-02T10:00:00Z", "2024-05-01T00:00:00Z", GMD, xml, f"title {i}",
                         key, level, "meta", marker))
    rows.append((ids[5], "2024-06-01", "2024-05-01T00:00:00Z", "csw", "<x/>", "service", "", "public", "full", None))
    rows.append(("unknown", "2024-06-01", "2024-05-01T00:00:00Z", GMD, "<x/>", "csw-t", "n/z", None, "full", None))
    return rows


def _create_sql(table: str, collation: str = "") -> str:
    """The table; on PostgreSQL the identifiers get a linguistic collation (ICU's root: 'a_record' before
    'B_record'), as a database made with a uk_UA or en_US locale has, to show the order does not follow it."""
    cols = ", ".join(f"{c} TEXT" + (f" COLLATE {collation}" if collation and c == "identifier" else "")
                     + (" NOT NULL" if c in ("identifier", "xml") else "") for c in COLUMNS)
    return f"CREATE TABLE {table} ({cols}, PRIMARY KEY (identifier, geoportal_variant))"


@pytest.fixture(scope="module")
def both(postgis_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SqliteRepository,
                                                                                        PostgresRepository]]:
    table = f"records_{uuid.uuid4().hex[:8]}"
    db = tmp_path_factory.mktemp("repo") / "catalog.db"
    marks = ",".join("?" * len(COLUMNS))
    with sqlite3.connect(db) as conn:
        conn.execute(_create_sql(table))
        conn.executemany(f"INSERT INTO {table} VALUES ({marks})", _records())
    with psycopg.connect(postgis_dsn, autocommit=True) as conn:
        conn.execute(_create_sql(table, '"und-x-icu"'))
        with conn.cursor() as cur:
            cur.executemany(sql.SQL("INSERT INTO {} VALUES ({})").format(
                sql.Identifier(table), sql.SQL(", ").join(sql.Placeholder() * len(COLUMNS))), _records())
    install_change_counter(postgis_dsn, table)
    yield SqliteRepository(db, table), PostgresRepository(postgis_dsn, table)
    with psycopg.connect(postgis_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE {}, {}").format(sql.Identifier(table),
                                                         sql.Identifier(f"{table}_geoportal_changes")))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(full=key_sets, meta=key_sets, hide=key_sets, everything=st.booleans())
def test_every_view_selects_the_same_rows_on_both(both, full, meta, hide, everything) -> None:  # type: ignore[no-untyped-def]
    meta, hide = meta - full, hide - full - meta
    view = CatalogView(full, meta, hide, everything)
    lite, pg = both
    shown = lite.headers(view)
    assert pg.headers(view) == shown
    ids = [r["identifier"] for r in shown]
    assert ids == sorted(ids)  # code-point order, as Python compares the resumption token's identifier
    for ident in ids[:2]:
        assert pg.headers(view, ident) == lite.headers(view, ident)
    pick = [*ids[:3], "not-there"]
    key = lambda r: (r["identifier"], r["geoportal_variant"])  # noqa: E731
    assert sorted(pg.rows(view, pick), key=key) == sorted(lite.rows(view, pick), key=key)


def test_public_only_never_shows_a_non_public_or_unsynced_record(both) -> None:  # type: ignore[no-untyped-def]
    lite, pg = both
    for repo in both:
        rows = repo.rows(PUBLIC_ONLY, [r["identifier"] for r in repo.headers(EVERYTHING)])
        assert rows and {r["geoportal_level"] for r in rows} == {"public"}
        assert all(r["geoportal_variant"] == "full" for r in rows)
        assert "unknown" not in {r["identifier"] for r in rows}


def test_markers_and_search_rows_are_the_same(both) -> None:  # type: ignore[no-untyped-def]
    lite, pg = both
    assert pg.markers() == lite.markers() and len(lite.markers()) == len(KEYS)
    cols = ("identifier", "title", IDENTIFICATION_XML, "geoportal_level")
    assert sorted(pg.known_records(cols)) == sorted(lite.known_records(cols))
    parts = {x for _, _, x, _ in pg.known_records(cols)}
    assert "<x/>" in parts and any(x.startswith("<gmd:identificationInfo>") for x in parts)
    with pytest.raises(ValueError):
        list(pg.known_records(("identifier; DROP TABLE x",)))


def test_the_stamp_moves_with_each_write_and_only_then(both, postgis_dsn: str) -> None:  # type: ignore[no-untyped-def]
    _, pg = both
    before = pg.stamp()
    assert pg.stamp() == before
    table = sql.Identifier(pg.table)
    with psycopg.connect(postgis_dsn, autocommit=True) as conn:
        stamps = [before]
        for stmt in (sql.SQL("UPDATE {} SET title = 'changed' WHERE identifier = 'unknown'"),
                     sql.SQL("INSERT INTO {} (identifier, xml, geoportal_variant) VALUES ('new', '<x/>', 'full')"),
                     sql.SQL("DELETE FROM {} WHERE identifier = 'new'")):
            conn.execute(stmt.format(table))
            stamps.append(pg.stamp())
    assert len(set(stamps)) == 4
    assert pg.stamp() == stamps[-1]


def test_oai_pmh_pages_are_the_same_on_both(both) -> None:  # type: ignore[no-untyped-def]
    def harvest(repo) -> list[list[str]]:  # type: ignore[no-untyped-def]
        oai = OaiPmh(Repository(repo, view=CatalogView(full=frozenset({"n/b"}))),
                     Settings("http://x/csw?mode=oaipmh", "test", "a@b.c", page_size=2))
        pages, args = [], [("verb", "ListIdentifiers"), ("metadataPrefix", "iso19139")]
        while True:
            root = etree.fromstring(oai.respond(args))
            lst = root.find(OAI + "ListIdentifiers")
            pages.append([h.findtext(OAI + "identifier") for h in lst.findall(OAI + "header")])
            token = lst.find(OAI + "resumptionToken")
            if token is None or not token.text:
                return pages
            args = [("verb", "ListIdentifiers"), ("resumptionToken", token.text)]

    lite, pg = both
    pages = harvest(lite)
    assert harvest(pg) == pages and len(pages) > 1
    assert "a-record" in sum(pages, []) and "яблуко" not in sum(pages, [])  # n/c is restricted, not in view


def test_repository_of_reads_the_pycsw_configuration(tmp_path: Path) -> None:
    cfg = tmp_path / "pycsw.cfg"
    cfg.write_text("[repository]\ndatabase = sqlite:////tmp/x/catalog.db\ntable = records\n")
    assert isinstance(repository_of(cfg), SqliteRepository)
    cfg.write_text("[repository]\ndatabase = postgresql+psycopg2://u@127.0.0.1:5/c\ntable = records\n")
    pg = repository_of(cfg)
    assert isinstance(pg, PostgresRepository) and pg.dsn == "postgresql://u@127.0.0.1:5/c"
    cfg.write_text("[repository]\ndatabase = mysql://u@h/c\n")
    with pytest.raises(CatalogError, match="neither SQLite nor PostgreSQL"):
        repository_of(cfg)
    cfg.write_text("[repository]\ndatabase = sqlite:////tmp/x.db\ntable = records; drop\n")
    with pytest.raises(CatalogError, match="plain lower-case name"):
        repository_of(cfg)
    with pytest.raises(CatalogError, match="missing"):
        repository_of(tmp_path / "nothing.cfg")


def test_an_unreachable_catalog_is_a_catalog_error() -> None:
    from geoportal.serve import free_port

    repo = PostgresRepository(f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    with pytest.raises(CatalogError, match="cannot be read"):
        repo.headers(PUBLIC_ONLY)
    with pytest.raises(CatalogError, match="cannot be read"):
        list(repo.known_records(("identifier",)))
