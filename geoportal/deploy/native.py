"""``geoportal serve --production``: the production topology started natively, as one process tree with
all its state under a run directory, supervised until SIGTERM / Ctrl-C.

    <run>/node/            the built node (Workspace)          <run>/logs/      one log per program
    <run>/pg/primary       PostgreSQL primary (PostGIS data, the catalog)
    <run>/pg/replica       its streaming replica (hot standby): the reads of pygeoapi and MapServer
    <run>/nginx/           nginx.conf, pid, temp folders        <run>/mapserv/   FastCGI sockets
    <run>/state.json       addresses, pids, DSNs (what an operator or a test reads)

Start order: primary → build into it → replica (pg_basebackup, caught up) → pycsw → MapServer FastCGI →
node (gunicorn) → nginx. A program that dies is started again (gunicorn replaces its own workers; the
launcher restarts a FastCGI process, the replica, or any master); the stop is the reverse order. The
commands are the topology's (geoportal.deploy.topology), the same that the systemd units and the compose
file run.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from geoportal.deploy import postgres
from geoportal.deploy.topology import Endpoint, Layout, Process, Sizing, nginx_main, processes
from geoportal.errors import ServeError
from geoportal.model import Workspace, write_atomic
from geoportal.serve import ensure_port_free, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    config: Path
    run_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str | None = None
    sizing: Sizing = field(default_factory=Sizing)
    replica: bool = True


def require_programs() -> dict[str, str]:
    """The programs of the topology, found; one line naming the Debian package of a missing one."""
    from catalog.pycsw import pycsw_venv

    found: dict[str, str] = {}
    for prog, pkg in (("nginx", "nginx-light"), ("spawn-fcgi", "spawn-fcgi"), ("mapserv", "cgi-mapserver")):
        path = shutil.which(prog, path=os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin")
        if path is None:
            raise ServeError(f"'{prog}' is not installed: install the Debian package {pkg} (make system)")
        found[prog] = path
    venv = pycsw_venv()
    if not (venv / "bin" / "gunicorn").exists():
        raise ServeError(f"gunicorn is missing in {venv}: run 'make pycsw-venv'")
    found["pycsw_gunicorn"] = str(venv / "bin" / "gunicorn")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        raise ServeError(f"gunicorn is missing beside {sys.executable}: run 'make venv'")
    found["gunicorn"] = str(gunicorn)
    postgres.require_binaries()
    return found


def _pg_home(run: Path) -> Path:
    """The clusters' folder. Run as root, the server runs as 'postgres', which must reach it: a run
    folder it cannot enter (e.g. under a 0700 home) gets its clusters in /tmp, linked from <run>/pg."""
    link = run / "pg"
    if link.is_symlink() or link.exists():
        return link.resolve()
    if os.geteuid() == 0:
        probe = subprocess.run(postgres.as_postgres(["test", "-x", str(run)]), capture_output=True)
        if probe.returncode != 0:
            home = Path(tempfile.mkdtemp(prefix="geoportal-pg-", dir="/tmp"))
            os.chmod(home, 0o755)
            link.symlink_to(home)
            return home
    link.mkdir(parents=True)
    return link


@dataclass
class Child:
    """A supervised program: started again when it dies (at most once a second)."""

    spec: Process
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started: float = 0.0

    def start(self) -> None:
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(list(self.spec.argv), env={**os.environ, **self.spec.env}, stdout=fh,
                                         stderr=fh, stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=_die_with_parent, cwd=str(ROOT))
        self.started = time.monotonic()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Production:
    """The running topology (see the module docstring)."""

    def __init__(self, opts: Options, progress: Progress):
        self.opts, self.progress = opts, progress
        self.run = opts.run_dir.resolve()
        self.ws = Workspace(self.run / "node")
        self.children: list[Child] = []
        self.primary: postgres.Cluster | None = None
        self.replica: postgres.Cluster | None = None
        self.stopping = threading.Event()
        self.state: dict[str, object] = {}
        self._lock = threading.Lock()

    # -- start ---------------------------------------------------------------------------------------
    def start(self) -> None:
        o = self.opts
        ensure_port_free(o.host, o.port)
        progs = require_programs()
        for sub in ("logs", "nginx/tmp", "mapserv"):
            (self.run / sub).mkdir(parents=True, exist_ok=True)
        pg = _pg_home(self.run)
        sock = pg / "sock"
        ports = _cluster_ports(self.run)
        self.primary = postgres.Cluster("primary", pg / "primary", ports["primary"], sock, pg / "primary.log")
        self.replica = postgres.Cluster("replica", pg / "replica", ports["replica"], sock, pg / "replica.log")
        postgres.init_primary(self.primary)
        self.primary.start()
        postgres.ensure_database(self.primary, "geoportal", postgis=True)
        postgres.ensure_database(self.primary, "geoportal_catalog", postgis=True)
        dsn, catalog_dsn = self.primary.dsn("geoportal"), self.primary.dsn("geoportal_catalog")
        read_dsn = postgres.read_dsn(self.replica, self.primary, "geoportal") if o.replica else None
        base_url = o.base_url or f"http://{'127.0.0.1' if o.host in ('0.0.0.0', '') else o.host}:{o.port}"

        from geoportal.deploy.prepare import prepare, production_pycsw_config

        # the replica is made after the build: it starts with every table, and the build's reads (which
        # name the replica first) go to the primary meanwhile
        prepare(o.config, self.ws, base_url, dsn, read_dsn, catalog_dsn, self.progress)
        if o.replica:
            made = postgres.init_replica(self.primary, self.replica)
            self.replica.start()
            postgres.wait_caught_up(self.primary)
            self.progress(f"replica: {'made with pg_basebackup, ' if made else ''}streaming on port {self.replica.port}")

        secret = secrets.token_urlsafe(32)  # per start: only this node's gate can make pycsw write
        size = o.sizing
        lay = Layout(
            kind="native", node_dir=str(self.ws.root), listen=f"{o.host}:{o.port}",
            node=Endpoint.unix(str(self.run / "node.sock")),
            csw=_tcp(free_port()),
            mapserv=tuple(Endpoint.unix(str(self.run / "mapserv" / f"{i}.sock")) for i in range(1, size.mapserv_workers + 1)),
            gunicorn=progs["gunicorn"], pycsw_gunicorn=progs["pycsw_gunicorn"],
            pycsw_app_dir=str(ROOT / "catalog" / "pycsw_process"), pycsw_config=str(production_pycsw_config(self.ws)),
            spawn_fcgi=progs["spawn-fcgi"], mapserv_bin=progs["mapserv"], nginx_bin=progs["nginx"],
            run_dir=str(self.run), nginx_user="root" if os.geteuid() == 0 else "")
        conf = self.run / "nginx" / "nginx.conf"
        write_atomic(conf, nginx_main(lay, size))
        check = subprocess.run([lay.nginx_bin, "-t", "-q", "-p", f"{self.run}/nginx", "-e",
                                f"{self.run}/logs/nginx-error.log", "-c", str(conf)], capture_output=True, text=True)
        if check.returncode != 0:
            raise ServeError(f"nginx refused the generated {conf}: {check.stderr.strip()[-600:]}")
        for p in processes(lay, size, secret, str(conf)):
            child = Child(p, self.run / "logs" / f"{p.name}.log")
            self.children.append(child)
            child.start()
            self._wait_ready(child, lay)
        self.state = {
            "url": base_url, "listen": lay.listen, "run_dir": str(self.run), "workdir": str(self.ws.root),
            "config": str(self.ws.root.parent / f"{self.ws.root.name}-production.yaml"),
            "primary": {"port": self.primary.port, "data": str(self.primary.data), "dsn": dsn},
            "replica": ({"port": self.replica.port, "data": str(self.replica.data),
                         "dsn": self.replica.dsn("geoportal")} if o.replica else None),
            "read_dsn": read_dsn, "catalog_dsn": catalog_dsn, "csw": lay.csw.connect,
            "sizing": {k: getattr(size, k) for k in ("node_workers", "node_threads", "csw_workers", "mapserv_workers")},
        }
        self._write_state()

    def _wait_ready(self, child: Child, lay: Layout, timeout: float = 120) -> None:
        name = child.spec.name
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.alive():
                tail = child.log.read_text(errors="replace")[-1500:] if child.log.exists() else ""
                raise ServeError(f"{name} exited while starting (see {child.log}):\n{tail}")
            if name == "pycsw":
                host, _, port = lay.csw.connect.rpartition(":")
                wait_for(host, int(port), "/?service=CSW&version=2.0.2&request=GetCapabilities", timeout=timeout,
                         proc=child.proc)
                return
            if name.startswith("mapserv-") or name == "node":
                path = lay.mapserv[int(name.split("-")[1]) - 1].bind if name != "node" else lay.node.bind
                if Path(path).exists():
                    return
            elif name == "nginx":
                host = "127.0.0.1" if self.opts.host in ("0.0.0.0", "") else self.opts.host
                wait_for(host, self.opts.port, "/", timeout=timeout, proc=child.proc)
                return
            time.sleep(0.1)
        raise ServeError(f"{name} did not become ready in {timeout:.0f} s (see {child.log})")

    def _write_state(self) -> None:
        with self._lock:
            self.state["pids"] = {c.spec.name: c.proc.pid for c in self.children if c.proc is not None}
            self.state["restarts"] = {c.spec.name: c.restarts for c in self.children}
            if self.replica is not None and self.opts.replica:
                self.state["replica_pid"] = self.replica.pid()
            self.state["primary_pid"] = self.primary.pid() if self.primary else None
            write_atomic(self.run / "state.json", json.dumps(self.state, indent=2))

    # -- supervise -----------------------------------------------------------------------------------
    def supervise(self, interval: float = 0.3) -> None:
        """Until stop(): start again whatever died (a FastCGI process, the replica, a gunicorn master…)."""
        replica_retry = 0.0
        while not self.stopping.wait(interval):
            changed = False
            for c in self.children:
                if not c.alive() and not self.stopping.is_set() and time.monotonic() - c.started > 1.0:
                    code = c.proc.returncode if c.proc else None
                    self.progress(f"{c.spec.name} exited ({code}); starting it again")
                    c.restarts += 1
                    c.start()
                    changed = True
            if (self.opts.replica and self.replica is not None and self.replica.pid() is None
                    and time.monotonic() >= replica_retry and not self.stopping.is_set()):
                self.progress("replica is down; starting it again (reads go to the primary meanwhile)")
                try:
                    self.replica.start(timeout=20)
                except ServeError as e:
                    self.progress(f"replica did not start yet: {str(e).splitlines()[0]}")
                    replica_retry = time.monotonic() + 2
                changed = True
            if changed:
                self._write_state()

    # -- stop ----------------------------------------------------------------------------------------
    def stop(self) -> None:
        self.stopping.set()
        for c in reversed(self.children):  # nginx first, pycsw last
            if c.alive():
                try:
                    os.killpg(c.proc.pid, signal.SIGTERM)  # type: ignore[union-attr]
                except ProcessLookupError:
                    pass
        t0 = time.monotonic()
        for c in reversed(self.children):
            if c.proc is None:
                continue
            try:
                c.proc.wait(timeout=max(0.1, t0 + c.spec.stop_grace - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(c.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                c.proc.wait()
        for cluster in (self.replica, self.primary):
            if cluster is not None:
                cluster.stop()
        if self.state:
            self.state["stopped"] = True
            write_atomic(self.run / "state.json", json.dumps(self.state, indent=2))


def _cluster_ports(run: Path) -> dict[str, int]:
    """The clusters' ports, chosen on the first start and kept (the replica's primary_conninfo names the
    primary's port); a port taken by another program meanwhile is one clear error."""
    path = run / "pg-ports.json"
    if path.exists():
        ports = {k: int(v) for k, v in json.loads(path.read_text()).items()}
        for name, port in ports.items():
            try:
                ensure_port_free("127.0.0.1", port)
            except ServeError:
                raise ServeError(f"port {port} of the {name} PostgreSQL cluster of {run} is in use by another "
                                 f"program (a previous run still going?): stop it, or remove {path}") from None
        return ports
    ports = {"primary": free_port(), "replica": free_port()}
    write_atomic(path, json.dumps(ports))
    return ports


def _tcp(port: int) -> Endpoint:
    return Endpoint(f"127.0.0.1:{port}", f"127.0.0.1:{port}")


def run(opts: Options, progress: Progress) -> None:
    """Start, supervise until SIGTERM/SIGINT, stop everything; a failed start stops what had started."""
    prod = Production(opts, progress)
    stop_now = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop_now.set()
        prod.stopping.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        prod.start()
        if not stop_now.is_set():
            progress(f"production node on {prod.state['url']}/ (run dir {prod.run}; Ctrl-C to stop)")
            prod.supervise()
    finally:
        prod.stop()
        for s, h in old.items():
            signal.signal(s, h)
