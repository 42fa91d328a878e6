"""External OGC services registered by URL in a node's config: ``geoportal harvest`` turns each one's
capabilities into a catalog record (origin = the remote URL), refreshes it only when they change, and
reports a dead remote without stopping the others. The "remote" is a second, really served node."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from owslib.wms import WebMapService

from metadata.validate import validate_iso19139
from tests.conftest import ROOT, ServedNode, derived_config

GMD = "{http://www.isotc211.org/2005/gmd}"
GCO = "{http://www.isotc211.org/2005/gco}"


def _closed_port() -> int:
    """A port nobody listens on, outside the ephemeral range: a client's own port never meets it."""
    from geoportal.serve import free_port

    return free_port()


def geoportal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "geoportal.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def registered(demo_node: ServedNode, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    base = tmp_path_factory.mktemp("remote")
    remotes = {"remote-wms": (f"{demo_node.base_url}/ows", "wms"),
               "remote-wfs": (f"{demo_node.base_url}/ows", "wfs"),
               "remote-api": (f"{demo_node.base_url}/ogcapi", "ogcapi"),
               "dead-wms": (f"http://127.0.0.1:{_closed_port()}/ows", "wms")}
    cfg = derived_config(base / "raion.yaml", ROOT / "config" / "nodes" / "korostenskyi-raion.yaml",
                         children=[], remote_services=[{"id": i, "url": u, "type": t} for i, (u, t) in remotes.items()])
    workdir = base / "raion"
    built = geoportal("build", str(cfg), "--workdir", str(workdir))
    assert built.returncode == 0, built.stderr
    return cfg, workdir, remotes


def rows(workdir: Path) -> dict[str, tuple[str, str, str]]:
    with sqlite3.connect(workdir / "catalog.db") as conn:
        return {i: (src, title, xml) for i, src, title, xml in
                conn.execute("SELECT identifier, source, title, xml FROM records WHERE identifier LIKE '%.remote-%'")}


def test_remote_services_become_records_a_dead_one_is_reported(registered: tuple[Path, Path, dict],
                                                                demo_node: ServedNode) -> None:
    cfg, workdir, remotes = registered
    run = geoportal("harvest", str(cfg), "--workdir", str(workdir), "--json", "--timeout", "5")
    assert run.returncode == 7, run.stderr  # one source failed: reported, not fatal to the others
    results = {r["id"]: r for r in json.loads(run.stdout)}
    assert results["dead-wms"]["error"] and "dead-wms" in run.stderr
    assert all(results[i]["ok"] if "ok" in results[i] else results[i]["error"] is None
               for i in ("remote-wms", "remote-wfs", "remote-api"))
    got = rows(workdir)
    assert len(got) == 3
    wms_title = WebMapService(f"{demo_node.base_url}/ows", version="1.3.0", timeout=60).identification.title
    by_url = {}
    for ident, (source, title, xml) in got.items():
        service_id = ident.rsplit(".remote-", 1)[1]
        url, kind = remotes[service_id]
        assert source == url  # the origin shown is the remote
        by_url.setdefault(kind, title)
        assert validate_iso19139(xml.encode()) == [], ident
        root = etree.fromstring(xml.encode())
        assert url in [u.text for u in root.iter(GMD + "URL")]
    assert by_url["wms"] == wms_title


def test_unchanged_capabilities_are_not_refetched_and_survive_a_rebuild(
        registered: tuple[Path, Path, dict]) -> None:
    cfg, workdir, _ = registered
    geoportal("harvest", str(cfg), "--workdir", str(workdir), "--timeout", "5")
    again = geoportal("harvest", str(cfg), "--workdir", str(workdir), "--json", "--timeout", "5", "--child",
                      "remote-wms", "--child", "remote-api")
    assert again.returncode == 0, again.stderr
    for r in json.loads(again.stdout):
        assert (r["listed"], r["unchanged"], r["added"], r["changed"]) == (1, 1, 0, 0)
    assert geoportal("build", str(cfg), "--workdir", str(workdir)).returncode == 0
    assert len(rows(workdir)) == 3
