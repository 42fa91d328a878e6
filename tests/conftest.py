"""Shared fixtures: real things only — a served node, a throwaway PostGIS cluster.

- ``demo_node``: the sample node built into a temporary workspace and served by ``geoportal serve`` as a
  subprocess on a free loopback port (pygeoapi, MapServer, pycsw all real); yields its base URL.
- ``token_node``: the same node served with a publisher token (CSW-T on) and OAI-PMH pages of two records.
- Session nodes are started ahead: as soon as the collection shows that a test needs one, its build runs in
  the background (a node's build is a subprocess, so it takes the core the tests leave idle) and the fixture
  waits for it when first asked. A node is never shared by more tests than before, only started sooner.
- ``postgis_dsn``: ``GEOPORTAL_TEST_DSN`` if set, else a throwaway PostgreSQL cluster started with the
  Debian binaries (as the ``postgres`` user when the tests run as root), with PostGIS created; it is
  stopped at the end of the session, after the nodes that read it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from geoportal.errors import ServeError
from geoportal.serve import free_port, start_node, stop, wait_for

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config" / "nodes" / "zhytomyr-oblast.yaml"
OVRUCH_CONFIG = ROOT / "config" / "nodes" / "ovrutska-hromada.yaml"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
TOKEN = "publisher-token-for-tests"  # the token_node's publisher token (GEOPORTAL_CSW_TOKENS)
OAI_PAGE = 2  # the token_node's OAI-PMH page size: a harvest of the sample node follows resumption tokens


@dataclass
class ServedNode:
    base_url: str
    workdir: Path
    config: Path
    process: subprocess.Popen

    @property
    def layers(self) -> dict:
        return json.loads((self.workdir / "layers.json").read_text(encoding="utf-8"))

    @property
    def public_layers(self) -> dict:
        """The layers of the datasets served to anonymous callers (the node's access levels: public)."""
        import yaml

        raw = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        public = {d["id"] for d in raw["datasets"] if d.get("access", "public") == "public"}
        return {k: v for k, v in self.layers.items() if k in public}


def serve_node(config: Path, workdir: Path, port: int | None = None, env: dict[str, str] | None = None) -> ServedNode:
    """Start ``geoportal serve`` for a config (``env``: extra environment); stop it with stop_node()."""
    port = port or free_port()
    log = workdir.parent / f"{workdir.name}-serve.log"
    proc = start_node(config, workdir, port, log, env)
    try:
        # generous: nodes started ahead build side by side, on a machine other work may share
        wait_for("127.0.0.1", port, "/", timeout=300, proc=proc)
    except ServeError:
        stop_node(proc)
        raise RuntimeError(log.read_text()[-3000:])
    return ServedNode(f"http://127.0.0.1:{port}", workdir, config, proc)


def stop_node(proc: subprocess.Popen) -> None:
    stop(proc, timeout=20)


# -- session nodes, started ahead ----------------------------------------------------------------------

def _access_node(base: Path) -> Any:
    from tests.geoportal.access_client import start_access_node

    return start_access_node(base)


#: fixture name → (temporary folder name, start(folder) → node, the node's `geoportal serve` process)
AHEAD: dict[str, tuple[str, Callable[[Path], Any], Callable[[Any], subprocess.Popen]]] = {
    "demo_node": ("demo", lambda base: serve_node(DEMO_CONFIG, base / "zhytomyr-oblast"), lambda n: n.process),
    "token_node": ("gate", lambda base: serve_node(DEMO_CONFIG, base / "zhytomyr-oblast", env={
        "GEOPORTAL_CSW_TOKENS": TOKEN, "GEOPORTAL_OAI_PAGE_SIZE": str(OAI_PAGE)}), lambda n: n.process),
    "access_node": ("authweb", _access_node, lambda n: n.served.process),
    "ovruch_node": ("ovruch", lambda base: serve_node(OVRUCH_CONFIG, base / "ovrutska-hromada"),
                    lambda n: n.process),
    "postgis_node": ("pgnode", lambda base: _postgis_node(base), lambda n: n.process),
}
_started: dict[str, Future] = {}
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="node-ahead")  # two builds at a time: 2 cores


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start, in the order the tests first need them, the session nodes the selected tests use."""
    if session.config.option.collectonly:
        return
    first: dict[str, int] = {}
    for i, item in enumerate(session.items):
        for name in getattr(item, "fixturenames", ()):
            if name in AHEAD:
                first.setdefault(name, i)
    for name in sorted(first, key=first.get):  # type: ignore[arg-type]
        _start(session.config, name)


def _start(config: pytest.Config, name: str) -> Future:
    if name not in _started:
        folder, start, _ = AHEAD[name]
        base = config._tmp_path_factory.mktemp(folder)  # type: ignore[attr-defined]
        _started[name] = _pool.submit(start, base)
    return _started[name]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the nodes started ahead, together: each winds down for a few seconds, and one after the other
    those seconds added up. A node no test took (an interrupted run) is stopped here too."""
    procs = []
    for name, fut in _started.items():
        if fut.cancel():
            continue
        try:
            procs.append(AHEAD[name][2](fut.result()))
        except (Exception, pytest.skip.Exception):  # noqa: BLE001 - it never started: nothing to stop
            continue
    stop(*procs, timeout=20)
    _pool.shutdown(wait=False)
    _stop_cluster()  # after the nodes that read it


def node_ahead(request: pytest.FixtureRequest, name: str) -> Iterator[Any]:
    """The body of a session fixture in AHEAD: the node started ahead (started now if it was not). Its
    teardown only asks it to stop; pytest_sessionfinish waits for it."""
    node = _start(request.config, name).result()
    yield node
    proc = AHEAD[name][2](node)
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def demo_node(request: pytest.FixtureRequest) -> Iterator[ServedNode]:
    yield from node_ahead(request, "demo_node")


@pytest.fixture(scope="session")
def token_node(request: pytest.FixtureRequest) -> Iterator[ServedNode]:
    """The sample node served by ``geoportal serve`` with GEOPORTAL_CSW_TOKENS set (transactions on) and
    OAI-PMH pages of OAI_PAGE records; the catalog gate's and the OAI-PMH tests share it (a publisher's
    test inserts a record and deletes it again)."""
    yield from node_ahead(request, "token_node")


# -- PostGIS -----------------------------------------------------------------------------------------

def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


_cluster: dict[str, Any] = {}
_cluster_lock = threading.Lock()


def cluster_dsn() -> str:
    """``GEOPORTAL_TEST_DSN`` if set, else the session's throwaway cluster, started by the first caller (the
    postgis_dsn fixture, or the postgis_node started ahead); skips with the reason when none can be had."""
    dsn = os.environ.get("GEOPORTAL_TEST_DSN")
    if dsn:
        return dsn
    with _cluster_lock:
        if "dsn" not in _cluster:
            try:
                _start_cluster()
            except BaseException:
                _stop_cluster()  # half started: nothing left behind, the next caller tries afresh
                raise
        return _cluster["dsn"]


def _start_cluster() -> None:
    if not (PG_BIN / "initdb").exists():
        pytest.skip("no PostgreSQL binaries in /usr/lib/postgresql/15/bin and no GEOPORTAL_TEST_DSN")
    base = Path(tempfile.mkdtemp(prefix="geoportal-pg-", dir="/tmp"))
    os.chmod(base, 0o777)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    os.chmod(sock, 0o777)
    port = free_port()
    _cluster.update(base=base, data=data)  # from here on, pytest_sessionfinish stops and removes it
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "--no-sync", "-A", "trust",
                                 "-U", "postgres", "-E", "UTF8", "--locale", "C.UTF-8"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"),
                                 "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                                       "-c synchronous_commit=off -c full_page_writes=off", "start"]),
                   check=True, capture_output=True)
    import psycopg

    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE geoportal_test")
    dsn = f"postgresql://postgres@127.0.0.1:{port}/geoportal_test"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    _cluster["dsn"] = dsn


def _stop_cluster() -> None:
    if "base" in _cluster:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(_cluster["data"]), "-m", "immediate",
                                     "stop"]), capture_output=True)
        shutil.rmtree(_cluster["base"], ignore_errors=True)
        _cluster.clear()


@pytest.fixture(scope="session")
def postgis_dsn() -> str:
    """A PostGIS database for the tests; skipped with the reason when none can be had."""
    return cluster_dsn()


def derived_config(path: Path, base: Path = DEMO_CONFIG, **top: object) -> Path:
    """A copy of a node config with its file paths made absolute and top-level sections replaced
    (e.g. ``storage={"backend": "postgis", "dsn": dsn}``); written to ``path``."""
    import yaml

    from geoportal.config import absolutize

    raw = absolutize(yaml.safe_load(base.read_text(encoding="utf-8")), base.parent)
    raw.update(top)
    if "datasets" in top and "access" not in top and raw.get("access"):
        # the base's access rules on datasets the copy no longer has would make the config invalid
        ids = {d["id"] for d in raw["datasets"]}
        acc = dict(raw["access"])
        acc["rules"] = [r for r in acc.get("rules", []) if r.get("dataset", "*") in ids | {"*"}]
        acc["datasets"] = {k: v for k, v in (acc.get("datasets") or {}).items() if k in ids}
        raw["access"] = acc
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _postgis_node(base: Path) -> ServedNode:
    cfg = derived_config(base / "zhytomyr-oblast-postgis.yaml",
                         storage={"backend": "postgis", "dsn": cluster_dsn(), "schema": "served_node"})
    # its own schema: other tests load layers into the same database (public schema) while it serves
    return serve_node(cfg, base / "zhytomyr-oblast-postgis")


@pytest.fixture(scope="session")
def postgis_node(request: pytest.FixtureRequest, postgis_dsn: str) -> Iterator[ServedNode]:
    """The sample node stored in PostGIS instead of GeoPackage, served for real; started ahead (AHEAD)."""
    yield from node_ahead(request, "postgis_node")


# -- the sample network --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sample_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The sample network (oblast, raion, Ovruch and Olevsk hromadas) served by ``geoportal serve`` and
    harvested bottom-up, as ``geoportal demo --network`` runs it: a ``Net`` of tests/decisions/network.py
    with its plain login front. Shared by the tests that read it (the federation's and the crawl's: a
    network's four builds are ~25 s); a test that stops a node or changes a config leaves the network whole
    again (``Net.start`` and ``Net.wait``) and its datasets as they were."""
    from catalog.network import NETWORK, harvest_chain, network_configs
    from geoportal.serve import free_port_block
    from tests.decisions.network import Net, start_all

    root = tmp_path_factory.mktemp("network")
    net = Net(root, network_configs(free_port_block(len(NETWORK)), root / "configs"), front="login")
    start_all(net)  # children first, built side by side; all stopped again if one fails
    try:
        harvest_chain(net.configs, root, progress=lambda m: None)
        yield net
    finally:
        stop(*net.procs.values(), timeout=20)  # together: one after the other, each winds down for seconds
