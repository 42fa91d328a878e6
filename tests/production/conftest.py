"""The production topology started for real: ``geoportal serve --production`` as a subprocess (nginx,
the node and pycsw under gunicorn, MapServer FastCGI under spawn-fcgi, a PostGIS primary and its streaming
replica in throwaway clusters under the run folder), with a publisher token so CSW-T is on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from geoportal.serve import free_port, stop
from tests.conftest import DEMO_CONFIG, PG_BIN, ROOT, ServedNode

TOKEN = "production-publisher-token"
OAI_PAGE_SIZE = 4  # OAI-PMH pages of four records: a harvest of the sample node follows resumption tokens


HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """These tests start the whole topology (minutes): they run in ``make test-production`` (which CI runs
    after ``make test``), or with GEOPORTAL_TEST_PRODUCTION=1."""
    if os.environ.get("GEOPORTAL_TEST_PRODUCTION") == "1":
        return
    skip = pytest.mark.skip(reason="production topology: run 'make test-production' (GEOPORTAL_TEST_PRODUCTION=1)")
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents and item.path.name != "test_topology.py":
            item.add_marker(skip)


@dataclass
class Production:
    run_dir: Path
    process: subprocess.Popen
    log: Path

    @property
    def state(self) -> dict:
        return json.loads((self.run_dir / "state.json").read_text())

    @property
    def base_url(self) -> str:
        return self.state["url"]

    @property
    def node(self) -> ServedNode:
        """The same shape as the embedded node fixtures, so their client tests run against this one."""
        s = self.state
        return ServedNode(s["url"], Path(s["workdir"]), Path(s["config"]), self.process)


def start_production(run_dir: Path, port: int, *extra: str, env: dict[str, str] | None = None,
                     timeout: float = 420) -> Production:
    log = run_dir.parent / f"{run_dir.name}.log"
    with open(log, "ab") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "geoportal.cli", "serve", str(DEMO_CONFIG), "--production",
                                 "--run-dir", str(run_dir), "--port", str(port), *extra],
                                stdout=fh, stderr=fh, start_new_session=True, cwd=ROOT,
                                env={**os.environ, **(env or {})})
    prod = Production(run_dir, proc, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"geoportal serve --production exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        state = run_dir / "state.json"
        if state.exists() and "pids" in json.loads(state.read_text()):
            return prod
        time.sleep(0.5)
    stop_production(prod, check=False)
    raise RuntimeError(f"geoportal serve --production not ready after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def running(pid: int) -> bool:
    """Whether a process still runs. A zombie does not: it has exited, and only waits for its parent to
    collect it — a server the launcher did not start itself (pg_ctl's postmaster) is re-parented to PID 1,
    which in a container may never reap it."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def stop_production(prod: Production, check: bool = True) -> None:
    """SIGTERM to the launcher, as Ctrl-C would; with ``check``: nothing of the topology is left running and
    its public port is free again (the stop is part of what is tested)."""
    state = prod.state if (prod.run_dir / "state.json").exists() else {}
    stop(prod.process, timeout=90)
    pids = [*state.get("pids", {}).values(), state.get("replica_pid"), state.get("primary_pid")]
    left = [pid for pid in pids if pid and running(pid)]
    pg = prod.run_dir / "pg"
    if pg.is_symlink():  # the clusters were put in /tmp for the postgres user (see geoportal.deploy.native)
        shutil.rmtree(pg.resolve(), ignore_errors=True)
    if check and state:
        assert prod.process.returncode == 0, f"the launcher exited {prod.process.returncode} on SIGTERM"
        shown = subprocess.run(["ps", "-o", "pid,ppid,etime,cmd", "-p", ",".join(map(str, left))],
                               capture_output=True, text=True).stdout if left else ""
        assert not left, f"still running after the stop: {left}\n{shown}"
        assert prod.state.get("stopped") is True
        host, _, port = state["listen"].rpartition(":")
        from geoportal.serve import ensure_port_free

        ensure_port_free(host, int(port))


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    if not (PG_BIN / "pg_basebackup").exists() or shutil.which("nginx", path="/usr/sbin:/usr/bin") is None:
        pytest.skip("PostgreSQL 15 and nginx-light are needed for the production topology (make system)")
    run_dir = tmp_path_factory.mktemp("production") / "run"
    prod = start_production(run_dir, free_port(), "--workers", "2", "--threads", "4", "--mapserv-workers", "2",
                            env={"GEOPORTAL_CSW_TOKENS": TOKEN, "GEOPORTAL_OAI_PAGE_SIZE": str(OAI_PAGE_SIZE)})
    yield prod
    stop_production(prod)
