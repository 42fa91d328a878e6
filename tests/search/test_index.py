"""The index and the analysis without servers, on real SQLite files: what a user types meets what a record
says; non-public documents never come back; a new document type is one registry line; the index is
swapped whole; any query string gives a 200 or a 400 (hypothesis, bounded)."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import analyse, documents, query
from search.documents import Doc
from search.index import write_index
from search.web import SearchApp


def _docs() -> list[Doc]:
    return [
        Doc(id="a", type="dataset", title_uk="Пам’ятки архітектури Овруча", title_en="Architectural monuments",
            text="Об'єкти культурної спадщини", theme="culture", territory=["UA18060170000069581"],
            level="hromada", licence="CC-BY-4.0", updated="2025-05-01", bbox=(28.4, 51.2, 28.6, 51.4)),
        Doc(id="b", type="dataset", title_uk="Закриті об'єкти оборони", text="службове",
            access="restricted", updated="2026-01-01"),
        Doc(id="c", type="decision", title_uk="Рішення сесії про бюджет громади", updated="2024-02-02"),
    ]


@pytest.fixture()
def index(tmp_path: Path) -> Path:
    path = tmp_path / "search.db"
    assert write_index(path, _docs()) == 3
    return path


def _ask(index: Path, **params: str) -> tuple[str, dict]:
    status: list[str] = []
    body = b"".join(SearchApp(index)({"QUERY_STRING": urlencode({"f": "json", **params}), "PATH_INFO": ""},
                                     lambda s, h: status.append(s)))
    return status[0], json.loads(body)


@pytest.mark.parametrize("q", ["пам'ятки", "памʼятка", "пам`ятках", "ПАМ’ЯТОК", "памятки"])
def test_apostrophe_variants_are_one_word(index: Path, q: str) -> None:
    assert [h["id"] for h in _ask(index, q=q)[1]["hits"]] == ["a"]


def test_transliterated_and_english_queries(index: Path) -> None:
    assert [h["id"] for h in _ask(index, q="ovrucha")[1]["hits"]] == ["a"]
    assert [h["id"] for h in _ask(index, q="pamiatky")[1]["hits"]] == ["a"]
    assert [h["id"] for h in _ask(index, q="monuments")[1]["hits"]] == ["a"]


def test_restricted_documents_never_come_back(index: Path) -> None:
    for params in ({"q": "об'єкти"}, {"q": "оборони"}, {}, {"access": "restricted"}, {"sort": "date"}):
        _, answer = _ask(index, **params)
        assert "b" not in [h["id"] for h in answer["hits"]], params
        assert all(v["value"] == "public" for v in answer["facets"]["access"])
    assert _ask(index)[1]["total"] == 2


def test_a_new_document_type_is_one_registry_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any new kind of document: a function yielding Docs, registered by name."""
    from search import index as search_index

    for name in list(documents.DOC_SOURCES):
        monkeypatch.setitem(documents.DOC_SOURCES, name, lambda cfg, ws: iter(()))
    monkeypatch.setitem(documents.DOC_SOURCES, "council-decision", lambda cfg, ws: iter([_docs()[2]]))
    ws = type("Ws", (), {"root": tmp_path})()
    cfg = type("Cfg", (), {"node": type("N", (), {"id": "toy"})()})()
    path = search_index.build(cfg, ws)  # type: ignore[arg-type]
    _, answer = _ask(path, q="бюджету")
    assert [h["type"] for h in answer["hits"]] == ["decision"]


def test_the_index_is_replaced_whole_while_it_is_read(index: Path) -> None:
    """Readers during rebuilds always see one complete index: the old one or the new one."""
    errors: list[object] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                status, answer = _ask(index, q="пам'ятки")
                assert status == "200 OK" and answer["total"] == 1
            except Exception as e:  # noqa: BLE001 - collected for the assertion
                errors.append(e)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    for _ in range(15):
        write_index(index, _docs())
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors[:3]
    assert not list(index.parent.glob(".*.new"))


def test_a_failed_build_leaves_the_previous_index(index: Path) -> None:
    before = index.read_bytes()

    def broken():  # type: ignore[no-untyped-def]
        yield _docs()[0]
        raise OSError("the catalog went away")

    with pytest.raises(OSError):
        write_index(index, broken())
    assert index.read_bytes() == before and not list(index.parent.glob(".*.new"))


def test_an_unreadable_catalog_is_a_catalog_error_naming_the_index(tmp_path: Path) -> None:
    from geoportal.errors import CatalogError
    from search import index as search_index

    (tmp_path / "catalog.db").write_bytes(b"not a database" * 100)
    ws = type("Ws", (), {"root": tmp_path, "catalog_db": tmp_path / "catalog.db"})()
    cfg = type("Cfg", (), {"node": type("N", (), {"id": "toy"})(), "datasets": [], "children": []})()
    write_index(tmp_path / "search.db", _docs())
    before = (tmp_path / "search.db").read_bytes()
    with pytest.raises(CatalogError, match="search.db: the search index could not be rebuilt"):
        search_index.build(cfg, ws)  # type: ignore[arg-type]
    assert (tmp_path / "search.db").read_bytes() == before


def test_query_terms_are_only_letters_and_digits() -> None:
    terms = analyse.query_terms('"a" OR b* NEAR(c d) title:e ^f {g} -h пам’ятки UA1806')
    for t in terms:
        for term in (*t.exact, t.prefix or "", t.translit_prefix or ""):
            assert term == "" or term.isalnum(), term
    expr = query.fts_expression(terms)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(title, body, translit)")
    db.execute("SELECT * FROM fts WHERE fts MATCH ?", (expr,)).fetchall()  # valid FTS5 syntax


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=80), extra=st.dictionaries(
    st.sampled_from(["limit", "offset", "sort", "bbox", "hromada", "theme", "format", "updated_from", "f"]),
    st.text(max_size=20), max_size=3))
def test_any_query_is_a_200_or_a_400(index: Path, q: str, extra: dict) -> None:
    status: list[str] = []
    qs = urlencode({"f": "json", "q": q, **extra})
    body = b"".join(SearchApp(index)({"QUERY_STRING": qs, "PATH_INFO": ""}, lambda s, h: status.append(s)))
    assert status[0] in ("200 OK", "400 Bad Request"), (qs, status, body[:200])
    if status[0] == "200 OK" and extra.get("f", "json") == "json":
        json.loads(body)
