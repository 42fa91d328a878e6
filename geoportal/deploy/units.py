"""systemd units and nginx.conf for one server (the native layout with fixed paths): written by
``geoportal deploy systemd`` for an operator to install; nothing here starts or enables them."""

from __future__ import annotations

import sys
from pathlib import Path

from geoportal.deploy.topology import Endpoint, Layout, Sizing, nginx_main, systemd_units
from geoportal.model import write_atomic

ROOT = Path(__file__).resolve().parents[2]


def server_layout(run_dir: Path, listen: str, size: Sizing) -> Layout:
    venv = Path(sys.executable).parent
    return Layout(
        kind="native", node_dir=str(run_dir / "node"), listen=listen, node=Endpoint.unix(str(run_dir / "node.sock")),
        csw=Endpoint("127.0.0.1:8001", "127.0.0.1:8001"),
        mapserv=tuple(Endpoint.unix(str(run_dir / "mapserv" / f"{i}.sock")) for i in range(1, size.mapserv_workers + 1)),
        gunicorn=str(venv / "gunicorn"), pycsw_gunicorn=str(ROOT / ".venv-pycsw" / "bin" / "gunicorn"),
        pycsw_app_dir=str(ROOT / "catalog" / "pycsw_process"),
        pycsw_config=str(run_dir / "node" / "services" / "pycsw-production.cfg"), nginx_bin="/usr/sbin/nginx",
        spawn_fcgi="/usr/bin/spawn-fcgi", run_dir=str(run_dir), env_file=str(run_dir / "secret.env"))


def write_systemd(out: Path, run_dir: Path, listen: str, size: Sizing) -> list[Path]:
    lay = server_layout(run_dir.resolve(), listen, size)
    out.mkdir(parents=True, exist_ok=True)
    conf = out / "nginx.conf"
    write_atomic(conf, nginx_main(lay, size))
    written = [conf]
    for name, text in systemd_units(lay, size, str(Path(lay.run_dir) / "nginx" / "nginx.conf")).items():
        write_atomic(out / name, text)
        written.append(out / name)
    return written
