"""The catalog loader's fast ISO reader (catalog/pycsw_iso_fast.py) writes the rows pycsw's own parser
writes: the sample node's records, a few hundred bench records and odd records (service with operations,
no protocol on a link, a corrupt bbox, gml 3.2 time, Anchors, several parties, Dublin Core, no
identification) are loaded both ways into two real pycsw repositories and every column of ``records`` is
compared; both catalogs are served and OWSLib's GetRecords answers are compared.

Documented difference allowed: creator / publisher / contributor / organization of more than one
organisation are joined from a Python set by pycsw itself, so their order is not defined — compared as sets.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from lxml import etree
from owslib.csw import CatalogueServiceWeb
from owslib.fes import BBox, PropertyIsEqualTo, PropertyIsLike

from catalog import pycsw
from geoportal import serve
from geoportal.config import load_config
from geoportal.model import Endpoints, Workspace
from metadata.records import NS

ROOT = Path(__file__).resolve().parents[2]
SET_COLUMNS = {"creator", "publisher", "contributor", "organization"}
pytestmark = pytest.mark.slow


def _odd_records(sample: Path, out: Path) -> list[Path]:
    """Variants of a sample record that take the less-trodden paths of pycsw's parser."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    def variant(name: str, edit) -> None:  # type: ignore[no-untyped-def]
        root = etree.parse(str(sample)).getroot()
        root.find("gmd:fileIdentifier/gco:CharacterString", NS).text = f"odd.{name}"
        edit(root)
        path = out / f"{name}.xml"
        path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
        paths.append(path)

    gmd, gco = NS["gmd"], NS["gco"]
    gml32, gmx = "http://www.opengis.net/gml/3.2", "http://www.isotc211.org/2005/gmx"

    def no_protocol_bad_bbox(root: etree._Element) -> None:
        for p in root.iterfind(".//gmd:CI_OnlineResource/gmd:protocol", NS):
            p.getparent().remove(p)  # pycsw guesses the protocol from the URL
        root.find(".//gmd:westBoundLongitude/gco:Decimal", NS).text = "not-a-number"
        stamp = root.find("gmd:dateStamp", NS)
        stamp[0].tag = f"{{{gco}}}Date"
        stamp[0].text = "2026-01-02"

    def time_anchor_parties(root: etree._Element) -> None:
        ident = root.find("gmd:identificationInfo/gmd:MD_DataIdentification", NS)
        for te in ident.iterfind("gmd:extent/gmd:EX_Extent/gmd:temporalElement", NS):
            te.getparent().remove(te)  # the time then comes from a second extent, in GML 3.2
        ex = etree.SubElement(etree.SubElement(ident, f"{{{gmd}}}extent"), f"{{{gmd}}}EX_Extent")
        te = etree.SubElement(etree.SubElement(ex, f"{{{gmd}}}temporalElement"), f"{{{gmd}}}EX_TemporalExtent")
        tp = etree.SubElement(etree.SubElement(te, f"{{{gmd}}}extent"), f"{{{gml32}}}TimePeriod")
        etree.SubElement(tp, f"{{{gml32}}}beginPosition").text = " 2020-01-01 "
        etree.SubElement(tp, f"{{{gml32}}}endPosition").text = "2021-12-31"
        abstract = ident.find("gmd:abstract", NS)
        for child in list(abstract):
            abstract.remove(child)
        etree.SubElement(abstract, f"{{{gmx}}}Anchor").text = "Анкер замість тексту"
        poc = ident.find("gmd:pointOfContact", NS)
        for role, org in (("originator", "Автор А"), ("originator", "Автор Б"), ("publisher", "Видавець")):
            extra = etree.fromstring(etree.tostring(poc))
            extra.find(".//gmd:organisationName/gco:CharacterString", NS).text = org
            extra.find(".//gmd:role/gmd:CI_RoleCode", NS).set("codeListValue", role)
            poc.addnext(extra)
        etree.SubElement(etree.SubElement(root, f"{{{gmd}}}parentIdentifier"),
                         f"{{{gco}}}CharacterString").text = "odd.parent"

    def no_identification(root: etree._Element) -> None:
        for i in root.findall("gmd:identificationInfo", NS):
            root.remove(i)

    variant("no-protocol-bad-bbox", no_protocol_bad_bbox)
    variant("time-anchor-parties", time_anchor_parties)
    variant("no-identification", no_identification)
    dc = out / "dublin-core.xml"
    dc.write_text('<csw:Record xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
                  'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:ows="http://www.opengis.net/ows">'
                  '<dc:identifier>odd.dublin-core</dc:identifier><dc:title>Запис Dublin Core</dc:title>'
                  '<dc:subject>ліс</dc:subject><ows:BoundingBox><ows:LowerCorner>50 28</ows:LowerCorner>'
                  '<ows:UpperCorner>51 29</ows:UpperCorner></ows:BoundingBox></csw:Record>', encoding="utf-8")
    return paths + [dc]


@pytest.fixture(scope="module")
def both(demo_node, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The same records loaded by the fast reader and by pycsw's parser; both catalogs served."""
    sys.path.insert(0, str(ROOT / "bench"))
    from harvest_bench import make_records

    cfg = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
    base = tmp_path_factory.mktemp("fastload")
    sample = sorted((demo_node.workdir / "records").glob("*.xml"))
    bench = base / "bench"
    make_records(cfg, bench, 300)
    odd = _odd_records(next(p for p in sample if p.name.endswith(".hromadas.xml")), base / "odd")
    records = [(p, "local") for p in sample + sorted(bench.glob("*.xml")) + odd]
    out, procs = {}, []
    mp = pytest.MonkeyPatch()
    try:
        for name in ("fast", "pycsw"):
            port = serve.free_port()
            ws = Workspace(base / name).ensure()
            pycsw.load(cfg, ws, Endpoints(f"http://127.0.0.1:{port}"))
            if name == "pycsw":
                mp.setenv("GEOPORTAL_PYCSW_PARSER", "pycsw")
            report = pycsw.run_loader(pycsw.config_path(ws), records)
            mp.delenv("GEOPORTAL_PYCSW_PARSER", raising=False)
            procs.append(serve.start_catalog(ws, port))
            out[name] = (ws, report, f"http://127.0.0.1:{port}/")
        yield out, sample
    finally:
        mp.undo()
        serve.stop(*procs)


def _rows(db: Path) -> tuple[list[str], dict[str, tuple]]:
    with sqlite3.connect(db) as conn:
        cur = conn.execute("SELECT * FROM records ORDER BY identifier")
        cols = [d[0] for d in cur.description]
        return cols, {r[cols.index("identifier")]: r for r in cur.fetchall()}


def test_every_column_of_every_row_is_what_pycsw_writes(both) -> None:  # type: ignore[no-untyped-def]
    out, sample = both
    (fast_ws, fast_rep, _), (slow_ws, slow_rep, _) = out["fast"], out["pycsw"]
    # the record without identification fails the same way, with pycsw's own words, and nothing else fails
    assert [e["path"] for e in fast_rep["errors"]] == [e["path"] for e in slow_rep["errors"]]
    assert [Path(e["path"]).name for e in fast_rep["errors"]] == ["no-identification.xml"]
    assert fast_rep["errors"][0]["error"] == slow_rep["errors"][0]["error"]
    cols, fast = _rows(fast_ws.catalog_db)
    cols2, slow = _rows(slow_ws.catalog_db)
    assert cols == cols2 and len(fast) == len(slow) == len(sample) + 300 + 3
    differing = []
    for ident, row in slow.items():
        for col, a, b in zip(cols, row, fast[ident]):
            if col == "insert_date":
                continue
            if col in SET_COLUMNS and a and b:
                a, b = set(a.split(";")), set(b.split(";"))
            if a != b:
                differing.append((ident, col, a, b))
    assert not differing, differing[:5]
    # the odd records did take the odd paths (a guessed protocol, no bbox, gml 3.2 time, several creators)
    odd = dict(zip(cols, fast["odd.no-protocol-bad-bbox"]))
    assert odd["wkt_geometry"] is None and odd["date"] == "2026-01-02"
    assert ",WWW:DOWNLOAD,http" in odd["links"] and ",None,http" in odd["links"]  # guessed, or not guessable
    odd = dict(zip(cols, fast["odd.time-anchor-parties"]))
    assert (odd["time_begin"], odd["time_end"]) == ("2020-01-01", "2021-12-31")
    assert set(odd["creator"].split(";")) == {"Автор А", "Автор Б"} and odd["publisher"] == "Видавець"
    assert odd["abstract"] == "Анкер замість тексту" and odd["parentidentifier"] == "odd.parent"


@pytest.mark.parametrize("constraint", [
    [PropertyIsLike("csw:AnyText", "%ліс%")],
    [BBox([50.0, 28.0, 50.6, 28.8])],  # lat,lon order in EPSG:4326
    [PropertyIsEqualTo("dc:identifier", "bench.record.000007")],
    [PropertyIsLike("apiso:Title", "%озеро%")],
])
def test_getrecords_answers_are_identical(both, constraint) -> None:  # type: ignore[no-untyped-def]
    out, _ = both
    answers = []
    for name in ("fast", "pycsw"):
        csw = CatalogueServiceWeb(out[name][2], timeout=60)
        csw.getrecords2(constraints=constraint, maxrecords=1000, esn="full",
                        outputschema="http://www.isotc211.org/2005/gmd")
        answers.append((csw.results["matches"], {k: r.xml for k, r in csw.records.items()}))
    assert answers[0][0] > 0, constraint
    assert answers[0] == answers[1]
