"""The sample network (oblast, raion, Ovruch and Olevsk hromadas) served for real, for the tests that follow a
decision across nodes: each node's key made first so every node can list the others in
``access.trusted_issuers`` (the signed agreement messages), then the nodes started children first.

``front``: how a node is started — ``"principal"`` (tests/decisions/principal_front.py: the caller named by
a test header, for HTTP clients) or ``"login"`` (``geoportal serve`` as it is: people log in with the
node's users, for a browser)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from catalog.network import NETWORK, network_configs
from geoportal.serve import free_port_block, start_node, stop, wait_for
from tests.conftest import ROOT

PRINCIPAL_FRONT = Path(__file__).with_name("principal_front.py")
PASSWORD = "correct horse battery staple"


class Net:
    def __init__(self, root: Path, configs: dict[str, tuple[Path, int]], front: str = "principal"):
        self.root, self.configs, self.front = root, configs, front
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, nid: str) -> str:
        return f"http://127.0.0.1:{self.configs[nid][1]}"

    def start(self, nid: str) -> None:
        cfg, port = self.configs[nid]
        if self.front == "login":
            self.procs[nid] = start_node(cfg, self.root / nid, port, self.root / f"{nid}.log")
            return
        with open(self.root / f"{nid}.log", "ab") as fh:
            self.procs[nid] = subprocess.Popen([sys.executable, str(PRINCIPAL_FRONT), str(cfg), str(self.root / nid),
                                                str(port)], stdout=fh, stderr=fh, start_new_session=True, cwd=ROOT)

    def wait(self, nid: str) -> None:
        try:
            wait_for("127.0.0.1", self.configs[nid][1], "/", timeout=400, proc=self.procs[nid])
        except Exception:
            raise RuntimeError((self.root / f"{nid}.log").read_text()[-3000:])

    def stop(self, nid: str) -> None:
        stop(self.procs.pop(nid), timeout=20)

    def stop_all(self) -> None:
        for nid in list(self.procs):
            self.stop(nid)

    def geoportal(self, nid: str, *args: str, stdin: str = "") -> str:
        """``geoportal ARGS --config C --workdir W`` of one node; its output (a failure fails the test)."""
        out = subprocess.run([sys.executable, "-m", "geoportal.cli", *args, "--config", str(self.configs[nid][0]),
                              "--workdir", str(self.root / nid)], cwd=ROOT, capture_output=True, text=True,
                             timeout=300, input=stdin)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout

    def cli(self, nid: str, *args: str) -> str:
        """``geoportal decision --config C --workdir W ARGS``."""
        out = subprocess.run([sys.executable, "-m", "geoportal.cli", "decision", "--config", str(self.configs[nid][0]),
                              "--workdir", str(self.root / nid), *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout

    def add_user(self, nid: str, name: str, role: str, org: str | None = None) -> None:
        self.geoportal(nid, "users", "add", name, "--role", role, *(["--org", org] if org else []),
                       stdin=PASSWORD + "\n")


def configure(root: Path, decisions: dict[str, Any]) -> dict[str, tuple[Path, int]]:
    """The network's configs under ``root``: every node trusts the others' keys; ``decisions`` is each
    node's ``decisions:`` section (heads, moderators)."""
    from access.tokens import jwks

    configs = network_configs(free_port_block(len(NETWORK)), root / "configs")
    keys = root / "keys"
    keys.mkdir()
    for nid in configs:  # each node's key made now, so the others can be told to trust it
        (keys / f"{nid}.jwks.json").write_text(json.dumps(jwks(root / nid)), encoding="utf-8")
    for nid, (path, _) in configs.items():
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw["access"] = {"trusted_issuers": [{"id": f"urn:geoportal:{o}", "jwks_file": str(keys / f"{o}.jwks.json")}
                                             for o in configs if o != nid]}
        raw["decisions"] = dict(decisions)
        # no passports: a decision's way across the network reads none, and the oblast's 66 pages printed to
        # PDF (and the raion's 13) were the longest part of starting the network
        raw.pop("passport", None)
        path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return configs


def start_all(net: Net) -> None:
    """Start every node, children first, and wait until all answer (they build side by side)."""
    try:
        for nid in reversed(list(net.configs)):
            net.start(nid)
        for nid in net.configs:
            net.wait(nid)
    except BaseException:
        net.stop_all()
        raise
