"""The catalog network for real: two hromadas, a raion and the oblast, each a served node with its own data,
harvested through the chain; a dataset added, changed and deleted in a hromada shows up, changes and
disappears at the oblast; a child that is killed, one that is slow, one that answers garbage and one that
dies in the middle of a harvest leave everything else intact. OWSLib and GDAL query the oblast."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from owslib.csw import CatalogueServiceWeb
from owslib.fes import PropertyIsLike

from catalog.federation import harvest
from geoportal.config import load_config
from geoportal.model import Workspace

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


class _Fake(http.server.BaseHTTPRequestHandler):
    """A broken 'catalog': mode garbage | slow | dies-mid-harvest."""

    mode = "garbage"
    listing = b""

    def log_message(self, *a: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.mode == "slow":
            time.sleep(3)
        if self.mode == "dies-mid-harvest" and "GetRecordById" in self.path:
            self.connection.close()  # the listing came, the records never do
            return
        body = self.listing if self.mode == "dies-mid-harvest" else b"<html><body>Service Unavailable"
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _fake_server(mode: str, listing: bytes = b"") -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = type(f"Fake_{mode}", (_Fake,), {"mode": mode, "listing": listing})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


@pytest.fixture
def network(sample_network):  # type: ignore[no-untyped-def]
    """The shared sample network (tests/conftest.py) as (root, configs, processes)."""
    return sample_network.root, sample_network.configs, sample_network.procs


def _harvest(root: Path, configs: dict, nid: str, **kw):  # type: ignore[no-untyped-def]
    cfg = load_config(configs[nid][0])
    return {r.id: r for r in harvest(cfg, Workspace(root / nid), **kw)}


def _chain(root: Path, configs: dict) -> None:
    raion = _harvest(root, configs, "korostenskyi-raion")
    assert all(r.ok for r in raion.values()), raion
    oblast = _harvest(root, configs, "zhytomyr-oblast")
    assert all(r.ok for r in oblast.values()), oblast


def _find(port: int, word: str) -> dict[str, tuple[str, str]]:
    csw = CatalogueServiceWeb(f"http://127.0.0.1:{port}/csw", timeout=60)
    csw.getrecords2(constraints=[PropertyIsLike("csw:AnyText", f"%{word}%")], esn="full", maxrecords=100)
    return {k: (r.title, r.source) for k, r in csw.records.items()}


def _rebuild(root: Path, configs: dict, nid: str, mutate) -> None:  # type: ignore[no-untyped-def]
    path, port = configs[nid]
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "geoportal.cli", "build", str(path), "--workdir", str(root / nid),
                          "--port", str(port)], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]


def test_oblast_finds_a_hromada_dataset_with_its_origin(network) -> None:  # type: ignore[no-untyped-def]
    root, configs, _ = network
    _chain(root, configs)
    oblast_port, hromada_port = configs["zhytomyr-oblast"][1], configs["ovrutska-hromada"][1]
    found = _find(oblast_port, "Овруцька")
    rid = "UA18060170000069581.ovrutska-hromada.nature-sites"
    assert rid in found
    assert found[rid][1] == f"http://127.0.0.1:{hromada_port}"  # the origin, not the raion in between
    # the raion's own dataset is there too, with the raion as its origin
    raion = _find(oblast_port, "Коростенського району")
    assert raion["UA18060000000021754.korostenskyi-raion.hromadas"][1].endswith(str(configs["korostenskyi-raion"][1]))


def test_second_harvest_takes_nothing_unchanged(network) -> None:  # type: ignore[no-untyped-def]
    root, configs, _ = network
    _chain(root, configs)
    r = _harvest(root, configs, "zhytomyr-oblast")["korostenskyi-raion"]
    assert r.ok and r.added == r.changed == r.deleted == 0 and r.unchanged == r.listed > 0


def test_gdal_csw_driver_reads_the_oblast_catalog(network) -> None:  # type: ignore[no-untyped-def]
    root, configs, _ = network
    _chain(root, configs)
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-al", f"CSW:http://127.0.0.1:{configs['zhytomyr-oblast'][1]}/csw"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    count = int(out.stdout.split("Feature Count: ")[1].split()[0])
    assert count >= 8 + 7 + 7 + 5  # the oblast's own, two hromadas', the raion's


def test_add_change_delete_in_a_hromada_reach_the_oblast(network) -> None:  # type: ignore[no-untyped-def]
    root, configs, _ = network
    oblast = configs["zhytomyr-oblast"][1]
    rid = "UA18060190000071101.olevska-hromada.rivers"

    def add(raw: dict) -> None:
        ds = dict(raw["datasets"][2], id="rivers")
        ds["title"] = {"uk": "Річки Олевської громади", "en": "Rivers of Olevsk hromada"}
        raw["datasets"].append(ds)

    _rebuild(root, configs, "olevska-hromada", add)
    _chain(root, configs)
    assert _find(oblast, "Річки Олевської")[rid][0] == "Річки Олевської громади"

    def change(raw: dict) -> None:
        raw["datasets"][-1]["title"]["uk"] = "Річки та струмки Олевської громади"

    _rebuild(root, configs, "olevska-hromada", change)
    _chain(root, configs)
    assert _find(oblast, "струмки")[rid][0] == "Річки та струмки Олевської громади"

    def delete(raw: dict) -> None:
        raw["datasets"] = [d for d in raw["datasets"] if d["id"] != "rivers"]

    _rebuild(root, configs, "olevska-hromada", delete)
    _chain(root, configs)
    assert rid not in _find(oblast, "Олевськ")


def test_bad_children_never_stop_the_others(network, sample_network, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, configs, procs = network
    _chain(root, configs)
    raion_cfg, _ = configs["korostenskyi-raion"]
    # a listing that names a record the 'dying' child will never deliver
    import urllib.request

    ovr_port = configs["ovrutska-hromada"][1]
    listing = urllib.request.urlopen(
        f"http://127.0.0.1:{ovr_port}/csw?service=CSW&version=2.0.2&request=GetRecords&typeNames=csw:Record"
        "&resultType=results&elementSetName=full&maxRecords=100").read()
    listing = listing.replace(b"ovrutska-hromada", b"dying-hromada")
    servers = [_fake_server("garbage"), _fake_server("slow"), _fake_server("dies-mid-harvest", listing)]
    raw = yaml.safe_load(raion_cfg.read_text(encoding="utf-8"))
    raw["children"] += [{"id": "garbage-hromada", "url": servers[0][1], "type": "geoportal"},
                        {"id": "slow-hromada", "url": servers[1][1], "type": "geoportal"},
                        {"id": "dying-hromada", "url": servers[2][1], "type": "geoportal"}]
    bad_cfg = tmp_path / "raion-with-bad-children.yaml"
    bad_cfg.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    cfg = load_config(bad_cfg)
    ws = Workspace(root / "korostenskyi-raion")
    before = len(_find(configs["korostenskyi-raion"][1], "Олевськ"))
    # and a real child killed: the Olevsk hromada's node goes down
    os.killpg(procs["olevska-hromada"].pid, signal.SIGKILL)
    procs["olevska-hromada"].wait(timeout=20)
    try:
        results = {r.id: r for r in harvest(cfg, ws, timeout=1.0)}
    finally:
        for srv, _ in servers:
            srv.shutdown()
        sample_network.start("olevska-hromada")  # the network is shared: whole again for the next test
        sample_network.wait("olevska-hromada")
    assert results["ovrutska-hromada"].ok
    for bad in ("garbage-hromada", "slow-hromada", "dying-hromada", "olevska-hromada"):
        assert not results[bad].ok, bad
        assert results[bad].error
    assert "not XML" in results["garbage-hromada"].error
    assert results["olevska-hromada"].kept > 0  # what was harvested before is kept
    state = json.loads((ws.root / "harvested" / "olevska-hromada" / "state.json").read_text())
    assert state["failures"] >= 1 and state["last_error"]
    # the raion still answers and still has the killed hromada's records
    assert len(_find(configs["korostenskyi-raion"][1], "Олевськ")) == before
