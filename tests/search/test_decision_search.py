"""Decisions and projects in the node's search, without servers: a real register (the Ovruch hromada node's
config, a GeoPackage register in a temporary workspace) with decisions drafted and cancelled through the
register's own actions, published (pages, layers) and indexed by the real build steps; asked through the real
/search application, and every page link followed through the node's real /decisions application. And the
hromada picker of the page, over a real index."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest
from lxml import html as lxml_html

from decisions.comments_web import DecisionPages
from decisions.model import Actor, Budget, Text
from decisions.publish import publish_register
from decisions.service import Register
from decisions.web import DecisionsWeb
from geoportal.config import load_config
from geoportal.model import Workspace
from search import index as search_index
from search.documents import Doc
from search.index import write_index
from search.web import SearchApp

ROOT = Path(__file__).resolve().parents[2]
RAION = ROOT / "config" / "nodes" / "korostenskyi-raion.yaml"
CONFIG = ROOT / "config" / "nodes" / "ovrutska-hromada.yaml"
OVRUCH = "UA18060170000069581"
OFFICIAL = Actor("Олена Коваль", "official", OVRUCH)
HEAD = Actor("Іван Петренко", "head", OVRUCH)
NEAR_OVRUCH = "POLYGON ((28.80 51.31, 28.82 51.31, 28.82 51.33, 28.80 51.33, 28.80 51.31))"


@dataclass
class RegisterNode:
    ws: Workspace
    index: Path
    drafted: str  # the id of the drafted decision
    cancelled: str
    project: str


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> RegisterNode:
    cfg = load_config(CONFIG)
    ws = Workspace(tmp_path_factory.mktemp("register") / "ovrutska-hromada").ensure()
    reg = Register.for_node(cfg, ws)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    drafted = reg.create(OFFICIAL, title=Text("Зміна цільового призначення земельної ділянки біля Овруча",
                                              "Change of land use near Ovruch"),
                         summary=Text("Під сонячну електростанцію", "For a solar power plant"),
                         kind="land-use-change", issuer=OVRUCH, geometry=NEAR_OVRUCH, now=now)
    other = reg.create(OFFICIAL, title=Text("Програма благоустрою парку", "Park improvement programme"),
                       summary=Text("Лавки й освітлення", "Benches and lights"), kind="development-programme",
                       issuer=OVRUCH, now=now)
    reg.transition(HEAD, other.id, "cancelled", reason="немає коштів", now=now)
    project = reg.create_project(OFFICIAL, title=Text("Сонячна електростанція Овруч", "Ovruch solar plant"),
                                 issuer=OVRUCH, decisions=[drafted.id],
                                 budget=[Budget("місцевий бюджет", 1_000_000.0)], now=now)
    publish_register(cfg, ws)  # what every build and every change of the register does: pages and layers
    return RegisterNode(ws, search_index.build(cfg, ws), drafted.id, other.id, project.id)


def ask(index: Path, **params: str) -> dict:
    status: list[str] = []
    body = b"".join(SearchApp(index)({"QUERY_STRING": urlencode({"f": "json", **params}, doseq=True),
                                      "PATH_INFO": ""}, lambda s, h: status.append(s)))
    assert status == ["200 OK"], body[:300]
    return json.loads(body)


def page(index: Path, **params: str) -> str:
    status: list[str] = []
    body = b"".join(SearchApp(index)({"QUERY_STRING": urlencode(params, doseq=True), "PATH_INFO": ""},
                                     lambda s, h: status.append(s)))
    assert status == ["200 OK"], body[:300]
    return body.decode("utf-8")


def ids(answer: dict) -> list[str]:
    return [h["id"] for h in answer["hits"]]


@pytest.mark.parametrize("q", ["ділянка", "земельної ділянки", "овруч", "сонячну електростанцію", "land use"])
def test_a_drafted_decision_is_found_by_lower_case_words(node: RegisterNode, q: str) -> None:
    assert f"decision:ovrutska-hromada/{node.drafted}" in ids(ask(node.index, q=q))


@pytest.mark.parametrize("q", ["zemelnoi dilianky", "ovrucha", "Zmina tsilovoho pryznachennia"])
def test_a_drafted_decision_is_found_by_a_transliterated_query(node: RegisterNode, q: str) -> None:
    assert f"decision:ovrutska-hromada/{node.drafted}" in ids(ask(node.index, q=q))


def test_the_hit_shows_the_decision(node: RegisterNode) -> None:
    hit = next(h for h in ask(node.index, q="ділянка")["hits"] if h["type"] == "decision")
    assert hit["title"] == {"uk": "Зміна цільового призначення земельної ділянки біля Овруча",
                            "en": "Change of land use near Ovruch"}
    assert hit["node"] == "ovrutska-hromada" and hit["status"] == "draft" and hit["level"] == "hromada"
    assert hit["territory"] == [OVRUCH] and hit["summary"] == "Під сонячну електростанцію"
    assert hit["organisation"] == "Овруцька територіальна громада" and hit["access"] == "public"
    assert hit["bbox"] == pytest.approx([28.80, 51.31, 28.82, 51.33])
    assert hit["updated"] == "2026-03-02"
    hrefs = [link["href"] for link in hit["links"]]
    assert hrefs == [f"/decisions/{node.drafted}.html", f"/ogcapi/collections/decisions/items/{node.drafted}"]


def test_type_and_status_facets_count_and_filter(node: RegisterNode) -> None:
    answer = ask(node.index, limit="100")
    facets = {name: {v["value"]: v["count"] for v in values} for name, values in answer["facets"].items()}
    assert facets["type"] == {"decision": 2, "project": 1}
    assert facets["status"] == {"draft": 1, "cancelled": 1, "idea": 1}
    only = ask(node.index, q="ділянка", type="decision")
    assert {h["type"] for h in only["hits"]} == {"decision"} and only["total"] == 1
    cancelled = ask(node.index, status="cancelled")
    assert ids(cancelled) == [f"decision:ovrutska-hromada/{node.cancelled}"]
    both = ask(node.index, type="decision,project", status="draft,idea")
    assert sorted(ids(both)) == sorted([f"decision:ovrutska-hromada/{node.drafted}",
                                        f"project:ovrutska-hromada/{node.project}"])


def test_cancelled_decisions_are_found_by_their_status(node: RegisterNode) -> None:
    for q in ("скасовано", "cancelled", "парку"):
        assert f"decision:ovrutska-hromada/{node.cancelled}" in ids(ask(node.index, q=q)), q


def test_a_project_is_found_where_its_decision_lies(node: RegisterNode) -> None:
    hit = ask(node.index, q="soniachna elektrostantsiia", type="project")["hits"][0]
    assert hit["id"] == f"project:ovrutska-hromada/{node.project}" and hit["status"] == "idea"
    assert hit["bbox"] == pytest.approx([28.80, 51.31, 28.82, 51.33])
    near = ids(ask(node.index, bbox="28.79,51.30,28.83,51.34", limit="100"))
    assert set(near) == {f"decision:ovrutska-hromada/{node.drafted}",
                         f"project:ovrutska-hromada/{node.project}"}
    assert ask(node.index, bbox="22.1,48.1,22.2,48.2")["total"] == 0


def test_every_page_link_resolves_on_the_node(node: RegisterNode) -> None:
    """Followed through the node's own /decisions application (the pages publish_register wrote)."""
    app = DecisionsWeb(node.ws.root, DecisionPages(node.ws.root, "Decisions"))
    pages = [link["href"] for h in ask(node.index, limit="100")["hits"] for link in h["links"]
             if link["href"].startswith("/decisions/")]
    assert f"/decisions/{node.drafted}.html" in pages and f"/decisions/{node.cancelled}.html" in pages
    for href in pages:
        status: list[str] = []
        body = b"".join(app({"PATH_INFO": href[len("/decisions"):], "REQUEST_METHOD": "GET"},
                            lambda s, h, *a: status.append(s)))
        assert status[0] == "200 OK", (href, status)
        assert b"<html" in body.lower()
    drafted = b"".join(app({"PATH_INFO": f"/{node.drafted}.html", "REQUEST_METHOD": "GET"}, lambda *a: None))
    assert "Зміна цільового призначення земельної ділянки біля Овруча" in drafted.decode("utf-8")


def test_a_node_without_a_register_indexes_no_decisions_and_creates_none(tmp_path: Path) -> None:
    cfg = load_config(CONFIG)
    ws = Workspace(tmp_path / "empty").ensure()
    assert ask(search_index.build(cfg, ws))["total"] == 0
    assert not (ws.root / "decisions.gpkg").exists()


# -- the hromada picker --------------------------------------------------------------------------------

def _passport(code: str, name: str, box: tuple[float, float, float, float] | None) -> Doc:
    return Doc(id=f"passport:{code}", type="passport", title_uk=f"Паспорт громади: {name}", place=name,
               territory=[code], level="hromada", bbox=box)


@pytest.fixture()
def places_index(tmp_path: Path) -> Path:
    path = tmp_path / "search.db"
    write_index(path, [
        _passport("UA18060190000071101", "Олевська громада", (27.3, 51.0, 28.1, 51.6)),
        _passport(OVRUCH, "Овруцька громада", (28.3, 51.1, 29.3, 51.6)),
        _passport("UA18060210000083283", "Словечанська громада", None),  # no boundary: cannot filter by it
        Doc(id="decision:x/D-2026-001", type="decision", title_uk="Рішення про ділянку", status="draft",
            bbox=(28.80, 51.31, 28.82, 51.33)),
    ])
    return path


def test_the_page_offers_the_hromadas_the_node_knows(places_index: Path) -> None:
    doc = lxml_html.fromstring(page(places_index, q="рішення", type="decision", sort="date", offset="10"))
    select = doc.get_element_by_id("hromada")
    assert select.tag == "select" and select.get("name") == "hromada"
    label = doc.xpath("//label[@for='hromada']")
    assert label and label[0].text_content().strip()
    assert [(o.get("value"), o.text_content()) for o in select.findall("option")] == [
        ("", "усі громади / all hromadas"), (OVRUCH, "Овруцька громада"),
        ("UA18060190000071101", "Олевська громада")]  # by name
    form = select.getparent()
    assert form.tag == "form" and form.get("method") == "get"
    kept = {(i.get("name"), i.get("value")) for i in form.xpath(".//input[@type='hidden']")}
    assert kept == {("type", "decision"), ("sort", "date")}  # the facets and order stay, the paging restarts


def test_the_chosen_hromada_is_selected_and_filters(places_index: Path) -> None:
    doc = lxml_html.fromstring(page(places_index, hromada=OVRUCH, type="decision"))
    chosen = doc.xpath("//select[@name='hromada']/option[@selected]")
    assert [o.get("value") for o in chosen] == [OVRUCH]
    assert ids(ask(places_index, hromada=OVRUCH, type="decision")) == ["decision:x/D-2026-001"]
    assert ask(places_index, hromada="UA18060190000071101", type="decision")["total"] == 0


def test_no_picker_when_the_node_knows_no_hromada(tmp_path: Path) -> None:
    path = tmp_path / "search.db"
    write_index(path, [Doc(id="a", type="dataset", title_uk="Межа")])
    assert 'name=hromada' not in page(path, q="межа")


# -- at a parent: the children's decisions, with their origin ------------------------------------------

class _Node:
    """The child's /search and /decisions applications, mounted as the node mounts them (geoportal.serve)."""

    def __init__(self, ws: Workspace, index: Path):
        self.apps = {"search": SearchApp(index), "decisions": DecisionsWeb(ws.root, DecisionPages(ws.root))}

    def __call__(self, environ: dict, start_response):  # type: ignore[no-untyped-def]
        first, _, rest = environ.get("PATH_INFO", "").lstrip("/").partition("/")
        if first not in self.apps:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such page"]
        environ = {**environ, "SCRIPT_NAME": f"/{first}", "PATH_INFO": f"/{rest}" if rest else ""}
        return self.apps[first](environ, start_response)


@pytest.fixture()
def served_child(node: RegisterNode):  # type: ignore[no-untyped-def]
    """The register node's real applications on a real HTTP server (a thread), stopped after the test."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server: WSGIServer = make_server("127.0.0.1", 0, _Node(node.ws, node.index), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_parent_finds_its_childrens_decisions_with_their_origin(
        node: RegisterNode, served_child, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    import requests

    from geoportal.serve import free_port
    from search.network import refresh
    from tests.conftest import derived_config

    server, url = served_child
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    cfg = load_config(derived_config(tmp_path / "raion.yaml", base=RAION,
                                     children=[{"id": "ovrutska-hromada", "url": url, "type": "geoportal"},
                                               {"id": "olevska-hromada", "url": dead, "type": "geoportal"}]))
    ws = Workspace(tmp_path / "raion").ensure()
    with caplog.at_level(logging.WARNING, logger="search.network"):
        assert refresh(cfg, ws, timeout=5) is True
    assert any("olevska-hromada" in r.getMessage() for r in caplog.records)  # skipped and said so
    index = search_index.build(cfg, ws)

    found = ask(index, q="ділянка", type="decision")
    assert ids(found) == [f"decision:ovrutska-hromada/{node.drafted}"]
    hit = found["hits"][0]
    assert hit["node"] == "ovrutska-hromada" and hit["status"] == "draft" and hit["territory"] == [OVRUCH]
    assert ids(ask(index, q="zemelnoi dilianky")) == ids(found)
    assert {v["value"]: v["count"] for v in ask(index)["facets"]["node"]} == {"ovrutska-hromada": 3}
    assert ids(ask(index, status="cancelled")) == [f"decision:ovrutska-hromada/{node.cancelled}"]
    page_link = hit["links"][0]["href"]
    assert page_link == f"{url}/decisions/{node.drafted}.html"
    r = requests.get(page_link, timeout=10)
    assert r.status_code == 200 and "земельної ділянки" in r.text

    server.shutdown()  # the child goes away: its decisions stay as last fetched
    assert refresh(cfg, ws, timeout=2) is False
    assert ids(ask(search_index.build(cfg, ws), q="ділянка")) == ids(found)


def test_a_child_without_a_search_is_skipped_and_said_so(tmp_path: Path, served_child,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """A node of another kind (or an older one) answers 404 at /search: logged, nothing kept, no error."""
    import logging

    from search.network import cache_folder, refresh
    from tests.conftest import derived_config

    _, url = served_child
    cfg = load_config(derived_config(tmp_path / "raion.yaml", base=RAION,
                                     children=[{"id": "ovrutska-hromada", "url": url + "/decisions",
                                                "type": "geoportal"}]))
    ws = Workspace(tmp_path / "raion").ensure()
    with caplog.at_level(logging.WARNING, logger="search.network"):
        assert refresh(cfg, ws, timeout=5) is False
    assert any("404" in r.getMessage() and "ovrutska-hromada" in r.getMessage() for r in caplog.records)
    assert not list(cache_folder(ws).glob("*.json"))
