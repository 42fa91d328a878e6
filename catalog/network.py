"""The sample network on one machine: ``geoportal demo --network --port P``.

The oblast on port P, the raion on P+1, two hromadas on P+2 and P+3, each a full node from its config in
``config/nodes/`` (parent/children URLs rewritten for the ports), and a loop that keeps the chain
harvested bottom-up: the raion harvests its hromadas, then the oblast harvests the raion — so a dataset
published by a hromada is found in the oblast's catalog. One harvest token, made per run, is given to
every node (GEOPORTAL_HARVEST_TOKENS) and presented by every harvest (GEOPORTAL_HARVEST_TOKEN), so
non-public records travel up with their access levels and each parent applies its policy to them.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import yaml

from geoportal.config import absolutize
from geoportal.serve import start_node, stop, wait_for

ROOT = Path(__file__).resolve().parent.parent
NODES = ROOT / "config" / "nodes"
#: (node id, port offset), parents before children
NETWORK: list[tuple[str, int]] = [("zhytomyr-oblast", 0), ("korostenskyi-raion", 1), ("ovrutska-hromada", 2),
                                  ("olevska-hromada", 3)]


def network_configs(port: int, out_dir: Path, network: list[tuple[str, int]] = NETWORK) -> dict[str, tuple[Path, int]]:
    """Write the network's configs with absolute paths and URLs for ``port``; {id: (config, port)}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ports = {nid: port + off for nid, off in network}
    written = {}
    for nid, _ in network:
        src = NODES / f"{nid}.yaml"
        raw = absolutize(yaml.safe_load(src.read_text(encoding="utf-8")), src.parent)
        for link in ([raw["parent"]] if raw.get("parent") else []) + raw.get("children", []):
            if link["id"] in ports:
                link["url"] = f"http://127.0.0.1:{ports[link['id']]}"
        raw["children"] = [c for c in raw.get("children", []) if c["id"] in ports]
        path = out_dir / f"{nid}.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
        written[nid] = (path, ports[nid])
    return written


def harvest_env() -> dict[str, str]:
    """A fresh harvest token for the sample network: the nodes accept it (pass the returned environment to
    them), and this process presents it when it harvests (set here)."""
    token = secrets.token_urlsafe(24)
    os.environ["GEOPORTAL_HARVEST_TOKEN"] = token
    return {"GEOPORTAL_HARVEST_TOKENS": token}


def wait_up(port: int, proc: subprocess.Popen, timeout: float = 180) -> None:
    wait_for("127.0.0.1", port, "/", timeout=timeout, proc=proc)


def harvest_chain(configs: dict[str, tuple[Path, int]], root: Path, progress: Callable[[str], None]) -> None:
    """Harvest bottom-up: every node that has children, deepest level first."""
    from catalog.federation import harvest
    from geoportal.config import load_config
    from geoportal.model import Workspace

    order = {"hromada": 0, "raion": 1, "oblast": 2}
    cfgs = [load_config(path) for path, _ in configs.values()]
    for cfg in sorted(cfgs, key=lambda c: order[c.node.level.value]):
        if cfg.children:
            harvest(cfg, Workspace(root / cfg.node.id), progress=lambda m, n=cfg.node.id: progress(f"[{n}] {m}"))


def sync_decisions(configs: dict[str, tuple[Path, int]], root: Path, progress: Callable[[str], None]) -> None:
    """Deliver every node's pending agreement messages (decisions/delivery.py), as `geoportal harvest` does."""
    from decisions.delivery import sync_quietly
    from geoportal.config import load_config
    from geoportal.model import Workspace

    for path, _ in configs.values():
        cfg = load_config(path)
        sync_quietly(cfg, Workspace(root / cfg.node.id), progress=lambda m, n=cfg.node.id: progress(f"[{n}] {m}"))


def run_network(port: int, root: Path, interval: float = 60.0, progress: Callable[[str], None] = print) -> None:
    """Serve the sample network and keep it harvested until Ctrl-C."""
    root = root.resolve()
    configs = network_configs(port, root / "configs")
    procs: list[subprocess.Popen] = []

    def _terminate(signum: int, frame: object) -> None:  # SIGTERM stops the nodes too, like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    env = harvest_env()
    try:
        for nid, (cfg, p) in reversed(list(configs.items())):  # children first
            progress(f"starting {nid} on http://127.0.0.1:{p}/ …")
            procs.append(start_node(cfg, root / nid, p, root / f"{nid}.log", env))
            wait_up(p, procs[-1])
        progress("\nThe network is up:")
        for nid, (_, p) in configs.items():
            progress(f"  {nid:<22} http://127.0.0.1:{p}/   (CSW http://127.0.0.1:{p}/csw)")
        progress(f"Harvesting bottom-up every {interval:.0f} s; Ctrl-C stops every node.\n")
        while True:
            harvest_chain(configs, root, progress)
            sync_decisions(configs, root, progress)
            time.sleep(interval)
    except KeyboardInterrupt:
        progress("stopping the network")
    finally:
        stop(*procs, timeout=20)
