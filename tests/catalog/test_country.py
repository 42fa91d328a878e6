"""The country simulation in small (catalog/country.py, bench/country_bench.py at full size), and the
harvest paths it leans on, against real pycsw catalogs served by one process:

* the chain hromada → oblast → national keeps every record and each record's hromada as its origin,
  and a second harvest with nothing changed loads nothing;
* fetching whole ISO pages gives the same catalog rows as fetching by identifier (the same XML document,
  whatever namespace declarations the answer gave it), and a record the pages did not deliver (a catalog
  changing while paged) is fetched by identifier;
* children are fetched concurrently and loaded in one loader run, yet a child with a record the catalog
  cannot read fails alone: the others are loaded and its earlier state is kept.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from lxml import etree

from catalog import country, federation
from catalog.harvest import csw
from geoportal.config import Link, load_config
from geoportal.serve import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
NAMES = ["h00", "h01", "h02", "big"]


def _rows(db: Path) -> dict[str, tuple]:
    """identifier → every column but the insert date (when it was loaded) and the origin URL."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        cols = [r[1] for r in c.execute("PRAGMA table_info(records)") if r[1] not in ("insert_date", "source")]
        return {r[0]: r[1:] for r in c.execute(f"SELECT identifier, {', '.join(cols)} FROM records")}


@pytest.fixture(scope="module")
def cats(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    cfg = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
    root = tmp_path_factory.mktemp("country")
    c = country.Catalogs(cfg, root, free_port())
    country.hromada_catalogs(c, NAMES[:3], 4)
    big = country.write_records(country.template_record(cfg), root / "records" / "big", "ua.o00.big", 23, seed=9)
    from catalog import pycsw

    (c.dir / "big").mkdir()
    db = c.dir / "big" / "catalog.db"
    import shutil

    shutil.copyfile(root / "empty" / "catalog.db", db)
    assert not pycsw.run_loader(c.configure("big", db), [(p, "local") for p in big])["errors"]
    c.start()
    yield c
    c.stop()


def test_small_country_keeps_every_record_and_its_origin(tmp_path: Path) -> None:
    cfg = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
    rep = country.simulate(cfg, tmp_path / "sim", free_port(), country.Scale(hromadas=5, records=3, oblasts=3),
                           progress=lambda m: None)
    assert rep.oblast_records == 15 and rep.national_records == 45
    assert rep.origin_kept
    steps = {s.name: s for s in rep.steps}
    assert steps["oblast, nothing changed"].note.endswith("; 0 loaded")
    assert steps["national, nothing changed"].note.endswith("; 0 loaded")
    assert steps["national, first harvest"].records == 45


def _harvest_big(cats, tmp_path: Path, name: str) -> Path:  # type: ignore[no-untyped-def]
    ncfg, ws = country.node(cats.cfg, tmp_path / name, name, [Link(id="big", url=cats.url("big"), type="csw")])
    res = federation.harvest(ncfg, ws, progress=lambda m: None)
    assert res[0].ok and res[0].added == 23, res
    return ws.catalog_db


def test_pages_give_the_rows_of_fetching_by_id(cats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    pages: list[int] = []
    real_page = csw.CSWHarvester.page_to

    def counted(self, start, path, count=csw.ISO_PAGE):  # type: ignore[no-untyped-def]
        pages.append(start)
        return real_page(self, start, path, count)

    monkeypatch.setattr(csw.CSWHarvester, "page_to", counted)
    monkeypatch.setattr(federation, "FETCH_CHUNK", 4)
    monkeypatch.setattr(csw, "ISO_PAGE", 5)
    monkeypatch.setattr(federation, "PAGES_FROM", 99.0)  # never pages: by identifier
    by_id = _rows(_harvest_big(cats, tmp_path, "by-id"))
    assert pages == []
    monkeypatch.setattr(federation, "PAGES_FROM", 0.5)
    paged = _rows(_harvest_big(cats, tmp_path, "paged"))
    assert sorted(pages) == [1, 6, 11, 16, 21]
    assert len(paged) == 23 and _same_documents(paged) == _same_documents(by_id)


def _same_documents(rows: dict[str, tuple]) -> dict[str, tuple]:
    """The rows with the XML column as the document it holds (exclusive C14N): a record read in place in an
    answer keeps the namespace declarations it came with, which differ between a page written from the stored
    XML and pycsw's GetRecordById, not the document."""
    out = {}
    for ident, row in rows.items():
        xml = next(i for i, v in enumerate(row) if isinstance(v, str) and v.startswith("<gmd:MD_Metadata"))
        doc = etree.tostring(etree.fromstring(row[xml].encode("utf-8")), method="c14n", exclusive=True)
        out[ident] = (*row[:xml], doc, *row[xml + 1:])
    return out


def test_records_the_pages_missed_are_fetched_by_id(cats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    real_page = csw.CSWHarvester.page_to
    asked: list[list[str]] = []
    real_fetch = csw.CSWHarvester.by_id_to

    def shifted(self, start, path, count=csw.ISO_PAGE):  # type: ignore[no-untyped-def]
        root = etree.fromstring(real_page(self, start, path, count).read_bytes())
        first = root.find(f"{{{csw.NS['csw']}}}SearchResults/{{{csw.ISO}}}MD_Metadata")
        first.getparent().remove(first)  # as if a record was inserted before each page
        path.write_bytes(etree.tostring(root))
        return path

    def by_id(self, identifiers, path):  # type: ignore[no-untyped-def]
        asked.append(list(identifiers))
        return real_fetch(self, identifiers, path)

    monkeypatch.setattr(csw.CSWHarvester, "page_to", shifted)
    monkeypatch.setattr(csw.CSWHarvester, "by_id_to", by_id)
    monkeypatch.setattr(federation, "FETCH_CHUNK", 4)
    monkeypatch.setattr(csw, "ISO_PAGE", 5)
    rows = _rows(_harvest_big(cats, tmp_path, "shifted"))
    assert len(rows) == 23
    assert sorted(i for a in asked for i in a) == sorted(f"ua.o00.big.r{i:03d}" for i in (0, 5, 10, 15, 20))


def test_a_harvest_cut_mid_page_leaves_no_answer_behind(cats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The pages are written to the child's folder as they arrive: a connection lost in the middle of one
    fails the child with nothing in its catalog, and no answer of the failed harvest — half-received, or
    read and kept by the loader — is left there."""
    real_page = csw.CSWHarvester.page_to

    def cut(self, start, path, count=csw.ISO_PAGE):  # type: ignore[no-untyped-def]
        real_page(self, start, path, count)
        if start > 6:
            with open(path, "r+b") as f:
                f.truncate(f.seek(0, 2) // 2)  # half of it came before the connection was lost
            raise OSError("connection reset by the child")
        return path

    monkeypatch.setattr(csw.CSWHarvester, "page_to", cut)
    monkeypatch.setattr(federation, "FETCH_CHUNK", 4)
    monkeypatch.setattr(csw, "ISO_PAGE", 5)
    ncfg, ws = country.node(cats.cfg, tmp_path / "cut", "cut", [Link(id="big", url=cats.url("big"), type="csw")])
    res = federation.harvest(ncfg, ws, progress=lambda m: None)
    assert not res[0].ok and "connection reset" in (res[0].error or ""), res
    assert not _rows(ws.catalog_db)
    assert [p.name for p in (ws.root / "harvested" / "big").iterdir() if p.name != "state.json"] == []


def test_answers_a_killed_harvest_left_are_removed_by_the_next(cats, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A harvest whose process was killed (kill -9) could not remove its answers: the next harvest of the
    child removes those no state names once they are old, and leaves a fresh one (another harvest's)."""
    import os
    import time

    ncfg, ws = country.node(cats.cfg, tmp_path / "after-kill", "after-kill",
                            [Link(id="h00", url=cats.url("h00"), type="csw")])
    folder = ws.root / "harvested" / "h00"
    folder.mkdir(parents=True)
    dead = [folder / ".incoming-dead.xml", folder / "answer-dead.xml"]
    live = folder / ".incoming-live.xml"
    for path in (*dead, live):
        path.write_bytes(b"<half")
    two_hours_ago = time.time() - 7200
    for path in dead:
        os.utime(path, (two_hours_ago, two_hours_ago))
    res = federation.harvest(ncfg, ws, progress=lambda m: None)
    assert res[0].ok and res[0].added == 4, res
    assert not any(p.exists() for p in dead) and live.exists()
    kept = json.loads((folder / "state.json").read_text())["records"]
    assert all((folder / r["file"]).exists() for r in kept.values())


def test_a_child_with_an_unreadable_record_fails_alone(cats, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    children = [Link(id=h, url=cats.url(h), type="csw") for h in NAMES[:3]]
    ncfg, ws = country.node(cats.cfg, tmp_path / "oblast", "oblast", children)
    first = {r.id: r for r in federation.harvest(ncfg, ws, progress=lambda m: None)}
    assert all(r.ok and r.added == 4 for r in first.values()), first
    # h01 now serves a changed record that pycsw cannot read (no identification), h02 a changed good one;
    # put back afterwards: the catalogs are shared with the other tests
    saved = []
    for h, ident, edit in (("h01", "ua.o00.h01.r002", "no identification"), ("h02", "ua.o00.h02.r001", "title")):
        with sqlite3.connect(cats.dir / h / "catalog.db") as db:
            xml, stamp = db.execute("SELECT xml, date_modified FROM records WHERE identifier = ?", (ident,)).fetchone()
            saved.append((h, ident, xml, stamp))
            if edit == "title":
                xml = xml.replace("&#8470;1<", "&#8470;1 (changed)<")  # pycsw keeps the XML in ASCII
            else:
                start = xml.index("<gmd:identificationInfo>")
                end = xml.rindex("</gmd:identificationInfo>") + len("</gmd:identificationInfo>")
                xml = xml[:start] + xml[end:]
            db.execute("UPDATE records SET xml = ?, date_modified = '2030-01-01' WHERE identifier = ?", (xml, ident))
            _reread_access(db, ident)
    try:
        _second_harvest(ncfg, ws)
    finally:
        for h, ident, xml, stamp in saved:
            with sqlite3.connect(cats.dir / h / "catalog.db") as db:
                db.execute("UPDATE records SET xml = ?, date_modified = ? WHERE identifier = ?", (xml, stamp, ident))
                _reread_access(db, ident)


def _reread_access(db: sqlite3.Connection, ident: str) -> None:
    """What the catalog process does after a transaction (``resync``): an edited row is hidden by the
    loader's trigger until its access marker is read again; these sample records carry none (public)."""
    db.execute("UPDATE records SET geoportal_level = 'public' WHERE identifier = ? AND geoportal_variant = 'full'",
               (ident,))


def _second_harvest(ncfg, ws) -> None:  # type: ignore[no-untyped-def]
    second = {r.id: r for r in federation.harvest(ncfg, ws, progress=lambda m: None)}
    assert not second["h01"].ok and "could not read 1 record" in str(second["h01"].error)
    assert second["h00"].ok and second["h00"].unchanged == 4
    assert second["h02"].ok and second["h02"].changed == 1
    rows = _rows(ws.catalog_db)
    assert len(rows) == 12
    with sqlite3.connect(ws.catalog_db) as db:
        title = db.execute("SELECT title FROM records WHERE identifier = 'ua.o00.h02.r001'").fetchone()[0]
    assert title.endswith("№1 (changed)")
    # h01's state still holds what it had: its record is asked for again next run
    state = json.loads((ws.root / "harvested" / "h01" / "state.json").read_text(encoding="utf-8"))
    assert state["failures"] == 1 and state["records"]["ua.o00.h01.r002"]["modified"] != "2030-01-01"


def test_children_load_in_runs_of_bounded_size(cats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from catalog import pycsw

    runs: list[int] = []
    real = pycsw.run_loader

    def counted(config, records, **kw):  # type: ignore[no-untyped-def]
        runs.append(len(records))
        return real(config, records, **kw)

    monkeypatch.setattr(pycsw, "run_loader", counted)
    monkeypatch.setattr(federation, "LOAD_RECORDS", 8)
    children = [Link(id=h, url=cats.url(h), type="csw") for h in NAMES[:3]]
    ncfg, ws = country.node(cats.cfg, tmp_path / "grouped", "grouped", children)
    runs.clear()  # the empty catalog's set-up
    res = federation.harvest(ncfg, ws, progress=lambda m: None)
    assert all(r.ok and r.added == 4 for r in res), res
    assert runs == [8, 4] and len(_rows(ws.catalog_db)) == 12
