"""At a parent, /search covers what it harvested, with the origin node shown: a raion node built for real
harvests the served Ovruch hromada node (``geoportal harvest``), and its index — rebuilt by the harvest,
not by a new build — finds the hromada's datasets by a lower-case and a transliterated query, and the
decision drafted in the hromada's register, with its origin and links that resolve on the hromada's node."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from search.web import SearchApp
from tests.conftest import ROOT, derived_config

pytestmark = pytest.mark.slow


def ask(index: Path, **params: str) -> dict:
    status: list[str] = []
    body = b"".join(SearchApp(index)({"QUERY_STRING": urlencode({"f": "json", **params}), "PATH_INFO": ""},
                                     lambda s, h: status.append(s)))
    assert status == ["200 OK"], body[:300]
    return json.loads(body)


def test_parent_finds_harvested_records_with_their_origin(tmp_path: Path, ovruch_node) -> None:
    raion = ROOT / "config" / "nodes" / "korostenskyi-raion.yaml"
    cfg = derived_config(tmp_path / "raion.yaml", base=raion,
                         children=[{"id": "ovrutska-hromada", "url": ovruch_node.base_url, "type": "geoportal"}])
    work = tmp_path / "raion"
    cli = [sys.executable, "-m", "geoportal.cli"]
    subprocess.run([*cli, "build", str(cfg), "--workdir", str(work)], check=True, capture_output=True, cwd=ROOT)
    index = work / "search.db"
    assert not ask(index, q="овруцька", type="dataset")["total"]  # nothing harvested yet
    built = index.stat().st_mtime_ns
    decision = _draft_in_child(ovruch_node)
    subprocess.run([*cli, "harvest", str(cfg), "--workdir", str(work)], check=True, capture_output=True, cwd=ROOT)
    assert index.stat().st_mtime_ns != built  # the harvest rebuilt the index

    found = ask(index, q="овруцька", type="dataset", limit="100")
    origins = {h["node"] for h in found["hits"]}
    assert origins == {"ovrutska-hromada"}, origins
    titles = {h["title"]["uk"] for h in found["hits"]}
    assert "Межа громади (Овруцька)" in titles and "Природно-заповідний фонд громади (Овруцька)" in titles
    assert any(h["title"]["en"] == "Boundary of the hromada (Ovruch)" for h in found["hits"])
    assert {h["id"] for h in ask(index, q="ovruch", type="dataset", limit="100")["hits"]} >= {
        h["id"] for h in found["hits"]}
    nodes = {v["value"]: v["count"] for v in ask(index, limit="1")["facets"]["node"]}
    assert nodes["ovrutska-hromada"] >= 2 and nodes["korostenskyi-raion"] >= 1

    hits = ask(index, q="сміттєсортувальної", type="decision")["hits"]  # lower case, another form
    assert [h["id"] for h in hits] == [f"decision:ovrutska-hromada/{decision}"]
    assert hits[0]["node"] == "ovrutska-hromada" and hits[0]["status"] == "draft"
    assert [h["id"] for h in ask(index, q="smittiesortuvalna", type="decision")["hits"]] == [hits[0]["id"]]
    for link in hits[0]["links"]:  # the page and the OGC API item, on the hromada's node
        assert link["href"].startswith(ovruch_node.base_url)
        params = {"f": "json"} if "/ogcapi/" in link["href"] else None
        r = requests.get(link["href"], params=params, timeout=30)
        assert r.status_code == 200, link


def _draft_in_child(child) -> str:  # type: ignore[no-untyped-def]
    """A decision drafted in the served hromada's register as the CLI does it (the action, then publishing),
    and the hromada's search index rebuilt, as its next build does."""
    from decisions.model import Actor, Text
    from decisions.publish import publish_register
    from decisions.service import Register
    from geoportal.config import load_config
    from geoportal.model import Workspace
    from search import index as search_index

    cfg, ws = load_config(child.config), Workspace(child.workdir)
    d = Register.for_node(cfg, ws).create(
        Actor("Олена Коваль", "official", cfg.node.katotth),
        title=Text("Будівництво сміттєсортувальної лінії"),
        summary=Text("Ділянка біля полігону"), kind="council-decision", issuer=cfg.node.katotth,
        geometry="POINT (28.81 51.32)")
    publish_register(cfg, ws)
    search_index.build(cfg, ws)
    return d.id
