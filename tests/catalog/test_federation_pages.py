"""A big harvest goes as whole GetRecords pages straight into the catalog (catalog.federation._stream): the
loader reads each record's rows in place inside the CSW answer and keeps the answer as it came, one file
for its records, instead of one file per record. What is stored must not change: every column of every
row (the access variants of a non-public record included) is what the per-file loader writes for the same
records, a rebuild from the kept answers writes it again, an answer that is not usable or a harvest given
up writes nothing, and a kept answer lives until none of its records is the child's any more.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest
from lxml import etree

from catalog import access_marker, pycsw
from geoportal import serve
from geoportal.config import Link, load_config
from geoportal.model import Endpoints, Workspace
from metadata.records import NS

ROOT = Path(__file__).resolve().parents[2]
CSW = "http://www.opengis.net/cat/csw/2.0.2"
ORIGIN = "http://origin.example.org/"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cfg():  # type: ignore[no-untyped-def]
    return load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")


@pytest.fixture(scope="module")
def records(demo_node, cfg, tmp_path_factory) -> list[Path]:  # type: ignore[no-untyped-def]
    """The sample node's records, 40 generated ones and two of those made restricted (access marker)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from harvest_bench import make_records

    base = tmp_path_factory.mktemp("pages")
    make_records(cfg, base / "bench", 40)
    bench = sorted((base / "bench").glob("*.xml"))
    for path in bench[:2]:
        marker = access_marker.Marker(key=f"zhytomyr-oblast/{path.stem}", level="restricted",
                                      custodian="Управління", organisations=("org-a",))
        path.write_bytes(access_marker.stamp(path.read_bytes(), marker))
    return sorted((demo_node.workdir / "records").glob("*.xml")) + bench


def _answer(paths: list[Path]) -> bytes:
    """A GetRecords answer in ISO 19139 holding these records, pretty-printed as pycsw sends it."""
    parser = etree.XMLParser(remove_blank_text=True)
    root = etree.Element(f"{{{CSW}}}GetRecordsResponse", nsmap={"csw": CSW})
    results = etree.SubElement(root, f"{{{CSW}}}SearchResults", numberOfRecordsMatched=str(len(paths)))
    for p in paths:
        results.append(etree.parse(str(p), parser).getroot())
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _empty_catalog(cfg, root: Path) -> Workspace:  # type: ignore[no-untyped-def]
    ws = Workspace(root).ensure()
    pycsw.load(cfg, ws, Endpoints("http://127.0.0.1:9"))
    return ws


def _rows(db: Path) -> dict[tuple[str, str], tuple]:
    """Every row by (identifier, variant), every column but the load's time."""
    with sqlite3.connect(db) as conn:
        cur = conn.execute("SELECT * FROM records")
        cols = [d[0] for d in cur.description]
        keep = [i for i, c in enumerate(cols) if c != "insert_date"]
        ident, variant = cols.index("identifier"), cols.index("geoportal_variant")
        return {(r[ident], r[variant]): tuple(r[i] for i in keep) for r in cur.fetchall()}


def _identifier(path: Path) -> str:
    return etree.parse(str(path)).getroot().findtext("gmd:fileIdentifier/gco:CharacterString", namespaces=NS)


def _received(folder: Path, answer: bytes) -> Path:
    """``answer`` as a harvest receives it: a file in the harvest's folder."""
    path = pycsw.incoming(folder)
    path.write_bytes(answer)
    return path


def test_rows_read_in_place_are_the_per_file_loaders(cfg, records: list[Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = [_identifier(p) for p in records]
    streamed = _empty_catalog(cfg, tmp_path / "streamed")
    folder = tmp_path / "kept"
    folder.mkdir()
    half = len(records) // 2
    with pycsw.StreamLoader(pycsw.config_path(streamed), folder, {i: ORIGIN for i in ids}) as loader:
        loader.send_file(_received(folder, _answer(records[:half])))
        assert loader.missing() == (ids[half:], [])
        loader.send_file(_received(folder, _answer(records[half:])))
        assert loader.missing() == ([], [])
        report = loader.commit()
    assert not report["errors"] and sorted(report["delivered"]) == sorted(ids)
    assert len(set(report["delivered"].values())) == 2  # one kept file per answer, not per record
    assert sorted(p.name for p in folder.iterdir()) == sorted(set(report["delivered"].values()))

    # the same answers' records one file each, as a harvest by identifier writes them
    per_file = _empty_catalog(cfg, tmp_path / "per-file")
    files = []
    for part in (records[:half], records[half:]):
        for md in etree.fromstring(_answer(part)).iter(f"{{{NS['gmd']}}}MD_Metadata"):
            files.append(tmp_path / f"{len(files)}.xml")
            files[-1].write_bytes(etree.tostring(md, xml_declaration=True, encoding="UTF-8"))
    assert not pycsw.run_loader(pycsw.config_path(per_file), [(p, ORIGIN) for p in files])["errors"]
    want = _rows(per_file.catalog_db)
    assert ("bench.record.000000", "meta") in want  # the restricted records' variants without data links
    assert _rows(streamed.catalog_db) == want

    # a rebuild reads the records back from the kept answers
    rebuilt = _empty_catalog(cfg, tmp_path / "rebuilt")
    by_file: dict[str, list[str]] = {}
    for ident, name in report["delivered"].items():
        by_file.setdefault(name, []).append(ident)
    items = [(folder / name, ORIGIN, tuple(got)) for name, got in by_file.items()]
    assert not pycsw.run_loader(pycsw.config_path(rebuilt), items)["errors"]
    assert _rows(rebuilt.catalog_db) == want


def test_an_unusable_answer_or_no_commit_writes_nothing(cfg, records: list[Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = _empty_catalog(cfg, tmp_path / "ws")
    refusal = (b'<?xml version="1.0"?><ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" version="1.2.0">'
               b'<ows:Exception exceptionCode="NoApplicableCode"><ows:ExceptionText>no</ows:ExceptionText>'
               b'</ows:Exception></ows:ExceptionReport>')
    ids = [_identifier(p) for p in records[:3]]
    with pycsw.StreamLoader(pycsw.config_path(ws), tmp_path, {i: ORIGIN for i in ids}) as loader:
        loader.send_file(_received(tmp_path, b"<html><body>Service Unavailable"))
        loader.send_file(_received(tmp_path, refusal))
        loader.send_file(_received(tmp_path, _answer(records[:3])))
        missing, unusable = loader.missing()
        assert missing == [] and len(unusable) == 2 and "not XML" in unusable[0] and "refused" in unusable[1]
    assert _rows(ws.catalog_db) == {}


def _served_source(cfg, root: Path, records: list[Path]):  # type: ignore[no-untyped-def]
    port = serve.free_port()
    ws = Workspace(root).ensure()
    pycsw.load(cfg, ws, Endpoints(f"http://127.0.0.1:{port}"))
    assert not pycsw.run_loader(pycsw.config_path(ws), [(p, "local") for p in records])["errors"]
    return ws, serve.start_catalog(ws, port), f"http://127.0.0.1:{port}/"


def test_a_child_harvested_in_pages_then_changed(cfg, records: list[Path], tmp_path: Path,  # type: ignore[no-untyped-def]
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog import federation
    from catalog.harvest import csw

    monkeypatch.setattr(federation, "FETCH_CHUNK", 5)  # the streamed path from 6 records, pages of 7
    monkeypatch.setattr(csw, "ISO_PAGE", 7)
    public = [p for p in records if access_marker.read(etree.parse(str(p)).getroot()) is None]
    src, proc, url = _served_source(cfg, tmp_path / "source", public)
    try:
        ws = _empty_catalog(cfg, tmp_path / "parent")
        child = Link(id="child", url=url, type="csw")
        first = federation.harvest_child(cfg, ws, child, timeout=60)
        assert first.ok and first.added == len(public), first
        folder = ws.root / "harvested" / "child"
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        files = {r["file"] for r in state["records"].values()}
        assert all(f.startswith("answer-") for f in files) and len(files) == -(-len(public) // 7)
        assert {i for i, _ in _rows(ws.catalog_db)} == {i for i, _ in _rows(src.catalog_db)}

        # the source deletes one record and changes another: a small harvest, by identifier
        gone, changed = _identifier(public[0]), public[1]
        root = etree.parse(str(changed)).getroot()
        stamp = root.find("gmd:dateStamp", NS)[0]
        stamp.text = "2030-01-01" if etree.QName(stamp).localname == "Date" else "2030-01-01T00:00:00Z"
        title = root.find(".//gmd:citation/gmd:CI_Citation/gmd:title/gco:CharacterString", NS)
        title.text += " (змінено)"
        new = tmp_path / "changed.xml"
        new.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
        report = pycsw.run_loader(pycsw.config_path(src), [(new, "local")], delete_ids=[gone])
        assert not report["errors"]
        second = federation.harvest_child(cfg, ws, child, timeout=60)
        assert second.ok and (second.deleted, second.changed, second.added) == (1, 1, 0), second
        rows = _rows(ws.catalog_db)
        assert (gone, "full") not in rows
        assert {i for i, _ in rows} == {i for i, _ in _rows(src.catalog_db)}
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        named = {r["file"] for r in state["records"].values()}
        # the first page still holds live records: kept; nothing unnamed is left behind
        assert named == {p.name for p in folder.glob("*.xml")}
        assert not state["records"][_identifier(changed)]["file"].startswith("answer-")  # fetched by id

        # a rebuild of the node puts the same records back from the kept answers and the record's file
        before = _rows(ws.catalog_db)
        pycsw.load(cfg, ws, Endpoints("http://127.0.0.1:9"))
        after = _rows(ws.catalog_db)
        assert after == before
    finally:
        serve.stop(proc)


def test_a_rebuild_keeps_each_records_origin(tmp_path: Path) -> None:
    """A raion's answer holds its own records and those it harvested from its hromadas: a rebuild of the
    oblast loads each with the origin the harvest stored (the node that first published it), as the live
    harvest did — not the raion's address for all; a state written before origins were kept: the child."""
    folder = tmp_path / "harvested" / "raion"
    folder.mkdir(parents=True)
    for name in ("answer-000001.xml", "r3.xml"):
        (folder / name).write_text("<x/>", encoding="utf-8")
    raion, hromada = "http://raion.example.org", "http://hromada.example.org"
    (folder / "state.json").write_text(json.dumps({"url": raion, "records": {
        "r1": {"modified": "2026-01-01", "file": "answer-000001.xml", "origin": raion},
        "h1": {"modified": "2026-01-01", "file": "answer-000001.xml", "origin": hromada},
        "h2": {"modified": "2026-01-01", "file": "answer-000001.xml", "origin": hromada},
        "r3": {"modified": "2026-01-01", "file": "r3.xml"}}}), encoding="utf-8")
    items = pycsw.harvested_records(Workspace(tmp_path))
    assert sorted(items) == sorted([(folder / "answer-000001.xml", hromada, ("h1", "h2")),
                                    (folder / "answer-000001.xml", raion, ("r1",)),
                                    (folder / "r3.xml", raion)])
