"""The decision register published on a served node (issue #12, the publishing part), checked from outside
with real clients: OGC API Features collections ``decisions`` and ``projects`` filtered with CQL2 (requests),
the ``/decisions/`` pages crawled link by link, the Atom feeds read with lxml against the RFC 4287 structure,
the ISO 19139 records of both registers in the catalog validated against the XSDs and the INSPIRE/NSDI rules,
and a change made with the CLI while the node serves.

One small node (the hromada boundaries only, no passport) is built and served with three decisions created
through the Python API before it starts; the sample node (``demo_node``) shows the empty register.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from lxml import etree

from decisions.model import Actor, Text
from decisions.service import Register
from geoportal.config import load_config
from geoportal.model import Workspace
from tests.conftest import ROOT, ServedNode, serve_node, stop_node
from tests.decisions.conftest import OLEVSK, OVRUCH, SLOVECHNE, hromadas_only_config

ATOM = "{http://www.w3.org/2005/Atom}"
OFFICIAL = Actor("Олена Коваль", "official", OVRUCH)
HEAD = Actor("Голова", "head", OVRUCH)
OLEVSK_OFFICIAL = Actor("Іван Петренко", "official", OLEVSK)
AREA = "POLYGON ((28.80 51.30, 28.90 51.30, 28.90 51.36, 28.80 51.36, 28.80 51.30))"
AREA_B = "POLYGON ((28.95 51.30, 29.05 51.30, 29.05 51.36, 28.95 51.36, 28.95 51.30))"
AREA2 = "POLYGON ((27.60 51.20, 27.70 51.20, 27.70 51.25, 27.60 51.25, 27.60 51.20))"


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    """A node with hromada boundaries and a register of three decisions (one adopted, one in consultation,
    one draft of another hromada) and one project."""
    base = tmp_path_factory.mktemp("decpub")
    config = hromadas_only_config(base)
    workdir = base / "node"
    cfg = load_config(config)
    reg = Register.for_node(cfg, Workspace(workdir).ensure())
    text = base / "rishennia.pdf"
    text.write_bytes(b"%PDF-1.4 adopted text")
    a = reg.create(OFFICIAL, title=Text("Зміна цільового призначення ділянки", "Land-use change"),
                   summary=Text("Під школу", "For a school"), kind="land-use-change", issuer=OVRUCH, geometry=AREA,
                   now=t("2026-01-10T09:00:00"))
    reg.transition(OFFICIAL, a.id, "consultation", reason="оприлюднено", consultation_until="2026-01-20", now=t("2026-01-11T09:00:00"))
    reg.transition(OFFICIAL, a.id, "agreement", reason="обговорено", agreement_deadline="2026-01-25", now=t("2026-01-21T09:00:00"))
    reg.transition(HEAD, a.id, "adopted", reason="сесія", adopted_text=text, now=t("2026-02-01T10:00:00"))
    b = reg.create(OFFICIAL, title=Text("Детальний план кварталу", "Detailed plan"), summary=Text("Квартал", ""),
                   kind="detailed-plan", issuer=OVRUCH, geometry=AREA_B, parties=[SLOVECHNE], now=t("2026-02-05T09:00:00"))
    reg.transition(OFFICIAL, b.id, "consultation", reason="оприлюднено", consultation_until="2026-03-01", now=t("2026-02-06T09:00:00"))
    reg.create(OLEVSK_OFFICIAL, title=Text("Програма розвитку туризму", "Tourism programme"), summary=Text("", ""),
               kind="development-programme", issuer=OLEVSK, geometry=AREA2, now=t("2026-02-10T09:00:00"))
    reg.create_project(OFFICIAL, title=Text("Будівництво школи", "A school"), issuer=OVRUCH, decisions=[a.id],
                       budget=[], now=t("2026-02-02T09:00:00"))
    served = serve_node(config, workdir)
    yield served
    stop_node(served.process)


def items(base: str, collection: str, **params: str) -> dict:
    r = requests.get(f"{base}/ogcapi/collections/{collection}/items", params={"f": "json", **params}, timeout=30)
    assert r.status_code == 200, r.text[:500]
    return r.json()


def ids(fc: dict) -> set[str]:
    return {f["id"] for f in fc["features"]}


def test_collections_with_cql2_filters(node: ServedNode) -> None:
    base = node.base_url
    everything = items(base, "decisions")
    assert everything["numberMatched"] == 3
    adopted = items(base, "decisions", filter="status='adopted'")
    assert ids(adopted) == {"D-2026-001"}
    f = adopted["features"][0]
    props = f["properties"]
    assert f["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert props["kind"] == "land-use-change" and props["issuer"] == OVRUCH
    assert props["adopted_on"] == "2026-02-01" and props["created_on"] == "2026-01-10"
    assert props["adopted_text_sha256"] and props["adopted_text_sha256"] in props["documents"]
    doc_url = next(w for w in props["documents"].split() if w.startswith("http") and props["adopted_text_sha256"] in w)
    assert requests.get(doc_url, timeout=30).status_code == 200  # the document's bytes, from the layer's link
    assert requests.get(props["page"], timeout=30).status_code == 200
    assert requests.get(props["feed"], timeout=30).status_code == 200
    assert ids(items(base, "decisions", filter="kind='detailed-plan'")) == {"D-2026-002"}
    assert ids(items(base, "decisions", filter=f"issuer='{OLEVSK}'")) == {"D-2026-003"}
    after = {"D-2026-002", "D-2026-003"}
    assert ids(items(base, "decisions", filter="created_on>=DATE('2026-02-01')", **{"filter-lang": "cql2-text"})) == after
    assert ids(items(base, "decisions", filter="created_on>='2026-02-01'")) == after  # cql-text (the default)
    assert ids(items(base, "decisions", filter="adopted_on BETWEEN '2026-01-01' AND '2026-12-31'")) == {"D-2026-001"}
    assert ids(items(base, "decisions", filter="S_INTERSECTS(geom,POINT(27.65 51.22))",
                     **{"filter-lang": "cql2-text"})) == {"D-2026-003"}  # territory: where it applies
    assert ids(items(base, "decisions", filter="status='adopted' AND issuer='UA18060190000071101'")) == set()
    bad = requests.get(f"{base}/ogcapi/collections/decisions/items", params={"filter": "no_such_column='x'"},
                       timeout=30)
    assert 400 <= bad.status_code < 500
    projects = items(base, "projects")
    assert ids(projects) == {"P-2026-001"}
    p = projects["features"][0]
    assert p["geometry"] is not None and p["properties"]["status"] == "idea"
    assert p["properties"]["decision_pages"].endswith("/decisions/D-2026-001.html")


def test_anonymous_cannot_write(node: ServedNode) -> None:
    """Writes are OGC API Part 4 through the lifecycle (tests/decisions/test_api.py); nobody anonymous."""
    conf = requests.get(f"{node.base_url}/ogcapi/conformance", params={"f": "json"}, timeout=30).json()
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete" in conf["conformsTo"]
    r = requests.post(f"{node.base_url}/ogcapi/collections/decisions/items", json={"type": "Feature"}, timeout=30)
    assert r.status_code == 401 and "login" in r.json()["description"]


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            if k in {"href", "src"} and v and not v.startswith(("#", "mailto:")):
                self.links.append(v)


def test_pages_crawl_every_link_answers(node: ServedNode) -> None:
    from tests.geoportal.test_crawl import pending_routes

    start = f"{node.base_url}/decisions/"
    seen, todo, pages = set(), [start], 0
    not_routed = pending_routes(node.base_url)  # the header's /map and /login before their parts are merged
    while todo:
        url = todo.pop()
        if url in seen or urlsplit(url).path in not_routed:
            continue
        seen.add(url)
        r = requests.get(url, timeout=30)
        assert r.status_code == 200, url
        if urlsplit(url).path.startswith("/decisions/") and r.headers["Content-Type"].startswith("text/html"):
            pages += 1
            p = Links()
            p.feed(r.text)
            todo += [urljoin(url, x) for x in p.links if urljoin(url, x).startswith(node.base_url)]
    assert pages >= 4  # the index and three decisions
    assert f"{node.base_url}/decisions/D-2026-003.html" in seen
    assert f"{node.base_url}/decisions/{OVRUCH}.atom" in seen


def _check_feed(url: str) -> etree._Element:
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/atom+xml")
    feed = etree.fromstring(r.content, etree.XMLParser(resolve_entities=False, no_network=True))
    assert feed.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{tag}")) == 1, tag
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None  # required when entries have no author
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == url
    for e in feed.findall(f"{ATOM}entry"):
        for tag in ("id", "title", "updated"):
            assert len(e.findall(f"{ATOM}{tag}")) == 1, tag
        datetime.fromisoformat(e.findtext(f"{ATOM}updated").replace("Z", "+00:00"))  # RFC 3339
        alt = e.find(f"{ATOM}link[@rel='alternate']")
        assert alt is not None and requests.get(alt.get("href"), timeout=30).status_code == 200
    return feed


def test_atom_feeds(node: ServedNode) -> None:
    feed = _check_feed(f"{node.base_url}/decisions/feed.atom")
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 3 and len({e.findtext(f"{ATOM}id") for e in entries}) == 3
    updated = [e.findtext(f"{ATOM}updated") for e in entries]
    assert updated == sorted(updated, reverse=True)  # newest first
    assert feed.findtext(f"{ATOM}updated") == updated[0]
    status = {e.find(f"{ATOM}link").get("href").rsplit("/", 1)[1]:
              e.find(f"{ATOM}category").get("term") for e in entries}
    assert status == {"D-2026-001.html": "adopted", "D-2026-002.html": "consultation", "D-2026-003.html": "draft"}
    ovruch = _check_feed(f"{node.base_url}/decisions/{OVRUCH}.atom")
    assert len(ovruch.findall(f"{ATOM}entry")) == 2
    olevsk = _check_feed(f"{node.base_url}/decisions/{OLEVSK}.atom")
    assert [e.find(f"{ATOM}category").get("term") for e in olevsk.findall(f"{ATOM}entry")] == ["draft"]
    assert requests.get(f"{node.base_url}/decisions/{SLOVECHNE}.atom", timeout=30).status_code == 404


def test_wms_layer_coloured_by_status(node: ServedNode) -> None:
    """GetMap of the decisions layer: the adopted area blue, the one in consultation yellow, the draft grey
    (styles/decision-status.sld), read back pixel by pixel from the PNG."""
    import io

    from PIL import Image

    r = requests.get(f"{node.base_url}/ows", params={
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "decisions", "STYLES": "",
        "CRS": "CRS:84", "BBOX": "27.5,51.1,29.1,51.4", "WIDTH": "800", "HEIGHT": "150", "FORMAT": "image/png",
        "TRANSPARENT": "TRUE"}, timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("image/png"), r.text[:300]
    img = Image.open(io.BytesIO(r.content)).convert("RGBA")

    def at(lon: float, lat: float) -> tuple[int, int, int, int]:
        return img.getpixel((int((lon - 27.5) / 1.6 * 800), int((51.4 - lat) / 0.3 * 150)))

    adopted, consultation, draft, outside = at(28.85, 51.33), at(29.0, 51.33), at(27.65, 51.22), at(28.3, 51.3)
    assert outside[3] == 0
    assert adopted[3] > 0 and adopted[2] > adopted[0] + 60, adopted  # #1e88e5
    assert consultation[3] > 0 and min(consultation[:2]) > consultation[2] + 100, consultation  # #fdd835
    assert draft[3] > 0 and max(draft[:3]) - min(draft[:3]) < 10, draft  # #9e9e9e


def test_records_in_catalog_are_valid(node: ServedNode) -> None:
    from metadata.rules import check_record
    from metadata.validate import validate_iso19139

    for ds in ("decisions", "projects"):
        recs = sorted((node.workdir / "records").glob(f"*{ds}*.xml"))
        assert recs, ds
        r = requests.get(f"{node.base_url}/csw", params={
            "service": "CSW", "version": "2.0.2", "request": "GetRecords", "typeNames": "csw:Record",
            "resultType": "results", "constraintLanguage": "CQL_TEXT", "constraint_language_version": "1.1.0",
            "constraint": f"dc:identifier like '%{ds}%'", "elementSetName": "brief"}, timeout=60)
        assert r.status_code == 200 and 'numberOfRecordsMatched="0"' not in r.text, r.text[:800]
        xml = recs[0].read_bytes()
        assert validate_iso19139(xml) == [], recs[0]
        assert [str(f) for f in check_record(xml, ["inspire", "nsdi"], ds)] == []


def test_cli_change_is_served_at_once(node: ServedNode) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "geoportal.cli", "decision", "--config", str(node.config), "--workdir",
         str(node.workdir), "--now", "2026-03-05T09:00:00Z", "transition", "D-2026-002", "agreement",
         "--as", f"Олена Коваль:official:{OVRUCH}", "--reason", "обговорено", "--deadline", "2026-03-20"],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert ids(items(node.base_url, "decisions", filter="status='agreement'")) == {"D-2026-002"}
    feed = etree.fromstring(requests.get(f"{node.base_url}/decisions/feed.atom", timeout=30).content)
    first = feed.find(f"{ATOM}entry")
    assert first.find(f"{ATOM}category").get("term") == "agreement"  # the newest change comes first
    assert "agreement" in requests.get(f"{node.base_url}/decisions/D-2026-002.html", timeout=30).text
    run = subprocess.run(
        [sys.executable, "-m", "geoportal.cli", "decision", "--config", str(node.config), "--workdir",
         str(node.workdir), "project", "budget", "P-2026-001", "local budget", "--planned", "1200000",
         "--as", f"Олена Коваль:official:{OVRUCH}"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert items(node.base_url, "projects")["features"][0]["properties"]["budget_planned"] == 1200000


def test_empty_register_still_published(demo_node: ServedNode) -> None:
    base = demo_node.base_url
    for c in ("decisions", "projects"):
        r = requests.get(f"{base}/ogcapi/collections/{c}", params={"f": "json"}, timeout=30)
        assert r.status_code == 200
        fc = items(base, c, filter="status='adopted'")
        assert fc["features"] == [] and fc["numberMatched"] == 0
        schema = requests.get(f"{base}/ogcapi/collections/{c}/queryables", params={"f": "json"}, timeout=30).json()
        assert {"status", "issuer", "created_on"} <= set(schema["properties"])
    feed = _check_feed(f"{base}/decisions/feed.atom")
    assert feed.findall(f"{ATOM}entry") == []
    assert requests.get(f"{base}/decisions/", timeout=30).status_code == 200


@pytest.mark.parametrize("geoms, kind, wms", [
    (["POLYGON ((28 51, 28.1 51, 28.1 51.1, 28 51))", "MULTIPOLYGON (((28 51, 28.1 51, 28.1 51.1, 28 51)))", None],
     "MultiPolygon", True),
    (["POINT (28 51)", "POLYGON ((28 51, 28.1 51, 28.1 51.1, 28 51))"], "Geometry", False),
    ([None], "MultiPolygon", True),
])
def test_geometry_kind_decides_wms(tmp_path: Path, geoms: list, kind: str, wms: bool) -> None:
    """Areas (with or without drawn geometry) are a WMS/WFS layer; a register mixing points and areas is served
    by OGC API and downloads only — read back with ogrinfo, not with the writer."""
    from decisions.model import Decision
    from decisions.publish import register_dataset
    from decisions.register_layers import write_decisions

    ds = [Decision(id=f"D-2026-00{i}", title=Text("т", "t"), summary=Text("", ""), kind="other", issuer=OVRUCH,
                   geometry=g, geometry_source={}, created_at="2026-01-01T00:00:00Z",
                   updated_at="2026-01-02T00:00:00Z") for i, g in enumerate(geoms, 1)]
    w = write_decisions(ds, tmp_path / "d.gpkg", page_url=str, feed_url=str, names={}, today="2026-03-01")
    info = subprocess.run(["ogrinfo", "-so", str(w.path), "decisions"], capture_output=True, text=True).stdout
    assert f"Feature Count: {len(geoms)}" in info
    assert ("Multi Polygon" in info) == (kind == "MultiPolygon") and w.geometry_type == kind
    cfg = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
    assert ("wms" in register_dataset(cfg, "decisions", w.path, w.geometry_type).services) == wms


def test_publish_command_keeps_the_register(node: ServedNode) -> None:
    """``geoportal publish`` (service configs only) keeps the two collections: read from pygeoapi's config."""
    import yaml

    run = subprocess.run([sys.executable, "-m", "geoportal.cli", "publish", str(node.config), "--workdir",
                          str(node.workdir), "--base-url", node.base_url], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    conf = yaml.safe_load((node.workdir / "services" / "pygeoapi.yml").read_text(encoding="utf-8"))
    assert {"decisions", "projects", "hromadas"} <= set(conf["resources"])
