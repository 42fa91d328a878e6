"""At a parent, /search covers what it harvested, with the origin node shown: a raion node built for real
harvests the served Ovruch hromada node (``geoportal harvest``), and its index — rebuilt by the harvest,
not by a new build — finds the hromada's datasets by a lower-case and a transliterated query."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest

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
