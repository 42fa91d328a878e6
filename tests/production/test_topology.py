"""One description of the production topology: the committed docker files are exactly what it generates,
docker-compose accepts them, nginx accepts the native configuration, and the systemd units run the same
commands. Cheap (no server is started): part of ``make test``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from geoportal.deploy import compose
from geoportal.deploy.topology import Endpoint, Layout, Sizing, nginx_main, processes, systemd_units
from geoportal.deploy.units import write_systemd


@pytest.mark.parametrize("name", sorted(compose.files()))
def test_committed_docker_files_are_generated(name: str) -> None:
    committed = (compose.DOCKER / name).read_text(encoding="utf-8")
    assert committed == compose.files()[name], (
        f"docker/{name} differs from the topology: run 'geoportal deploy compose' and commit the result")


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian docker-compose is not installed")
def test_compose_file_is_valid() -> None:
    out = subprocess.run(["docker-compose", "-f", str(compose.DOCKER / "docker-compose.yml"), "config", "-q"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_compose_runs_the_topology_commands() -> None:
    """The services of the compose file run what the native launcher runs, with container paths."""
    services = yaml.safe_load((compose.DOCKER / "docker-compose.yml").read_text())["services"]
    lay = compose.layout()
    procs = {p.name: p for p in processes(lay, compose.SIZING, "x")}
    assert {"postgis", "postgis-replica", "build", "nginx", *procs} == set(services)
    for name, p in procs.items():
        assert services[name]["command"] == list(p.argv), name
    assert "pg_basebackup" in services["postgis-replica"]["entrypoint"][-1]
    build = services["build"]["command"]
    assert build[:3] == ["geoportal", "deploy", "prepare"] and "--read-dsn" in build
    # the node asks MapServer's FastCGI processes itself (it reads their answers: geoportal.fastcgi)
    assert services["node"]["environment"]["GEOPORTAL_MAPSERV_FASTCGI"] == ",".join(
        f"mapserv-{i}:9000" for i in range(1, compose.SIZING.mapserv_workers + 1))
    assert "mapserv" not in (compose.DOCKER / "nginx.conf").read_text()


def _native(tmp_path: Path, size: Sizing) -> Layout:
    return Layout(kind="native", node_dir=str(tmp_path / "node"), listen="127.0.0.1:18080",
                  node=Endpoint.unix(str(tmp_path / "node.sock")), csw=Endpoint("127.0.0.1:18081", "127.0.0.1:18081"),
                  mapserv=tuple(Endpoint.unix(str(tmp_path / f"m{i}.sock")) for i in range(size.mapserv_workers)),
                  gunicorn="/x/gunicorn", pycsw_gunicorn="/y/gunicorn", pycsw_app_dir="/z", pycsw_config="/c.cfg",
                  run_dir=str(tmp_path), nginx_user="root")


@pytest.mark.skipif(shutil.which("nginx", path="/usr/sbin:/usr/bin") is None, reason="nginx-light is not installed")
def test_nginx_accepts_the_native_configuration(tmp_path: Path) -> None:
    size = Sizing(mapserv_workers=3)
    conf = tmp_path / "nginx" / "nginx.conf"
    (tmp_path / "nginx" / "tmp").mkdir(parents=True)
    (tmp_path / "logs").mkdir()
    conf.write_text(nginx_main(_native(tmp_path, size), size))
    out = subprocess.run([shutil.which("nginx", path="/usr/sbin:/usr/bin"), "-t", "-p", str(tmp_path / "nginx"), "-e",
                          str(tmp_path / "logs" / "e.log"), "-c", str(conf)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("[warn]") == 0, out.stderr
    text = conf.read_text()
    assert text.count("internal;") == 4  # the four file folders: reachable only by X-Accel-Redirect
    node = next(p for p in processes(_native(tmp_path, size), size, "x") if p.name == "node")
    assert node.env["GEOPORTAL_MAPSERV_FASTCGI"] == ",".join(f"{tmp_path}/m{i}.sock" for i in range(3))


def test_systemd_units_run_the_same_commands(tmp_path: Path) -> None:
    size = Sizing(node_workers=3, mapserv_workers=2)
    written = write_systemd(tmp_path / "units", tmp_path / "srv", "80", size)
    names = sorted(p.name for p in written)
    assert names == ["geoportal-mapserv-1.service", "geoportal-mapserv-2.service", "geoportal-nginx.service",
                     "geoportal-node.service", "geoportal-pycsw.service", "nginx.conf"]
    node = (tmp_path / "units" / "geoportal-node.service").read_text()
    assert "--workers 3" in node and "geoportal.deploy.wsgi:make_app()" in node
    assert "GEOPORTAL_CSW_GATE_SECRET" not in node  # the secret comes from EnvironmentFile, not the unit
    assert f"EnvironmentFile={tmp_path / 'srv' / 'secret.env'}" in node
    mapserv = (tmp_path / "units" / "geoportal-mapserv-1.service").read_text()
    assert "spawn-fcgi -n -s" in mapserv and "Restart=always" in mapserv


def test_sizing_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="node_workers must be between 1 and 256"):
        Sizing(node_workers=0)


def test_units_have_every_process() -> None:
    lay = _native(Path("/srv/x"), Sizing())
    units = systemd_units(lay, Sizing(), "/srv/x/nginx/nginx.conf")
    assert set(units) == {f"geoportal-{p.name}.service" for p in processes(lay, Sizing(), "", "c")}


def _serve_production(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os
    import sys

    from tests.conftest import DEMO_CONFIG, ROOT

    return subprocess.run([sys.executable, "-m", "geoportal.cli", "serve", str(DEMO_CONFIG), "--production", *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, **(env or {})})


def test_a_busy_port_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = _serve_production("--run-dir", str(tmp_path / "run"), "--port", str(port))
    assert out.returncode == 8, out.stderr
    assert out.stderr.strip() == (f"error: port {port} on 127.0.0.1 is already in use by another program: stop it, "
                                  "or serve on another port with --port")
    assert not (tmp_path / "run").exists()  # nothing was started or written


def test_missing_postgresql_is_one_line(tmp_path: Path) -> None:
    from geoportal.serve import free_port

    out = _serve_production("--run-dir", str(tmp_path / "run"), "--port", str(free_port()),
                            env={"GEOPORTAL_PG_BIN": str(tmp_path / "no-postgres")})
    assert out.returncode == 8, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "PostgreSQL 15 programs not found" in lines[0] and "postgresql-15" in lines[0], lines


def test_production_options_are_checked() -> None:
    out = _serve_production("--workers", "0")
    assert out.returncode == 2 and "node_workers must be between 1 and 256" in out.stderr


def test_read_dsn_is_for_postgis_only() -> None:
    from pydantic import ValidationError

    from geoportal.config import Storage

    s = Storage(backend="postgis", dsn="postgresql://u@p/db", read_dsn="postgresql://u@r:5432,p:5432/db")
    assert s.read_dsn.startswith("postgresql://u@r:5432,p:5432")
    with pytest.raises(ValidationError, match="'read_dsn' is for the postgis backend"):
        Storage(backend="geopackage", read_dsn="postgresql://u@r/db")
    with pytest.raises(ValidationError, match="'read_dsn' must start with postgresql://"):
        Storage(backend="postgis", dsn="postgresql://u@p/db", read_dsn="mysql://x")
