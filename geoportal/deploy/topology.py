"""The production topology of a node, described once: which processes run, with which command, where each
listens and who talks to whom. Every deployment artefact is generated from it — the nginx configuration,
the gunicorn / spawn-fcgi command lines, the systemd units and ``docker/docker-compose.yml`` — so the way the
node runs on this machine (``geoportal serve --production``) and in containers cannot drift apart
(``tests/production/test_topology.py`` regenerates the committed docker files and compares them).

The request path (who decides access, who ships the bytes):

    client ─▶ nginx ─▶ node (gunicorn, N workers: NodeApp — access front, pygeoapi, search, CSW gate)
                 ▲           │ X-Accel-Redirect for a file, once NodeApp said yes
                 └───────────┘
              nginx ─▶ internal: the node's files (sendfile)
              node  ─▶ MapServer FastCGI (spawn-fcgi, K processes): an allowed WMS/WFS GET or tile
              node  ─▶ pycsw (gunicorn in .venv-pycsw, M workers), CSW-T only with the per-start secret

nginx never serves a dynamic or a file path on its own: every request goes to NodeApp first, so whatever
the access front decides holds in production too; NodeApp answers an allowed download with an
``X-Accel-Redirect`` to an ``internal`` location, and nginx does the byte shipping. MapServer's answers
pass through the node (:mod:`geoportal.fastcgi`): MapServer reports a failure of its database as an
exception report with HTTP 200, which only a reader of the answer can turn into a retry or a 503.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Literal

ACCEL_FILES = "/_accel/files/"  # + <route>/<path>: a file NodeApp allowed, sent by nginx
FILE_ROUTES = ("downloads", "passport", "datasets", "decisions")  # NodeApp's static folders (= folder names)


@dataclass(frozen=True)
class Sizing:
    """How many of each worker: the one knob that changes with the machine."""

    node_workers: int = 4
    node_threads: int = 8
    csw_workers: int = 2
    mapserv_workers: int = 2
    nginx_workers: int = 2

    def __post_init__(self) -> None:
        for name in ("node_workers", "node_threads", "csw_workers", "mapserv_workers", "nginx_workers"):
            if not 1 <= getattr(self, name) <= 256:
                raise ValueError(f"{name} must be between 1 and 256, not {getattr(self, name)}")


@dataclass(frozen=True)
class Endpoint:
    """Where a service listens (``bind``) and how its clients reach it (``connect``): the same on one
    machine, different in containers (bind 0.0.0.0:8000, connect node:8000). A path is a Unix socket."""

    bind: str
    connect: str

    @staticmethod
    def unix(path: str) -> "Endpoint":
        return Endpoint(path, path)

    @property
    def is_unix(self) -> bool:
        return self.bind.startswith("/")

    def gunicorn(self) -> str:
        return f"unix:{self.bind}" if self.is_unix else self.bind

    def nginx(self) -> str:
        return f"unix:{self.connect}" if self.is_unix else self.connect

    def spawn_fcgi(self) -> list[str]:
        if self.is_unix:
            return ["-s", self.bind]
        host, _, port = self.bind.rpartition(":")
        return ["-a", host, "-p", port]


@dataclass(frozen=True)
class Layout:
    """Where everything is for one kind of deployment: paths of programs and of the node, addresses."""

    kind: Literal["native", "compose"]
    node_dir: str  # the built node (Workspace root): services/, downloads/, …
    listen: str  # nginx: "127.0.0.1:8080" or "80"
    node: Endpoint
    csw: Endpoint
    mapserv: tuple[Endpoint, ...]
    gunicorn: str  # of the node's venv
    pycsw_gunicorn: str  # of the pycsw venv
    pycsw_app_dir: str  # catalog/pycsw_process
    pycsw_config: str
    spawn_fcgi: str = "spawn-fcgi"
    mapserv_bin: str = "/usr/bin/mapserv"
    nginx_bin: str = "nginx"
    run_dir: str = ""  # native: logs, pid files, temp folders of nginx
    nginx_user: str = ""  # native, run by root: the user nginx's workers keep (they read the node's files)
    env_file: str = ""  # systemd: the file holding the per-deployment secret

    @property
    def mapserver_config(self) -> str:
        return f"{self.node_dir}/services/mapserver.conf"


@dataclass(frozen=True)
class Process:
    """One long-running program of the topology."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    description: str = ""
    restart: bool = True  # a supervisor (systemd, compose, the native launcher) starts it again if it dies
    stop_grace: float = 20.0  # seconds between SIGTERM and SIGKILL

    def command_line(self) -> str:
        return shlex.join(self.argv)


SECRET_VAR = "GEOPORTAL_CSW_GATE_SECRET"
#: the node reads the catalog (OAI-PMH, the views' markers, search) from the repository pycsw's own
#: configuration names: one file, so the two cannot read different repositories
CATALOG_CONFIG_VAR = "GEOPORTAL_CATALOG_CONFIG"
#: MapServer's FastCGI processes as the node reaches them (comma-separated: Unix socket paths or host:port)
MAPSERV_VAR = "GEOPORTAL_MAPSERV_FASTCGI"


def node_process(lay: Layout, size: Sizing, secret: str) -> Process:
    """NodeApp under gunicorn: pygeoapi in-process, the access front, the CSW gate, search, pages."""
    return Process(
        "node",
        (lay.gunicorn, "--bind", lay.node.gunicorn(), "--workers", str(size.node_workers), "--worker-class",
         "gthread", "--threads", str(size.node_threads), "--timeout", "120", "--graceful-timeout", "10",
         "--log-level", "warning", "--access-logfile", "/dev/null", "geoportal.deploy.wsgi:make_app()"),
        {"GEOPORTAL_WORKDIR": lay.node_dir, "GEOPORTAL_CSW_UPSTREAM": lay.csw.connect,
         CATALOG_CONFIG_VAR: lay.pycsw_config, MAPSERV_VAR: ",".join(ep.connect for ep in lay.mapserv),
         "GEOPORTAL_ACCEL": "1", SECRET_VAR: secret},
        "the node's WSGI application (NodeApp: access, OGC API, search, catalog gate)")


def csw_process(lay: Layout, size: Sizing, secret: str) -> Process:
    """pycsw in its own venv, the node's wrapper (CSW-T only with the gate's secret)."""
    return Process(
        "pycsw",
        (lay.pycsw_gunicorn, "--bind", lay.csw.gunicorn(), "--workers", str(size.csw_workers), "--timeout", "900",
         "--log-level", "warning", "--access-logfile", "/dev/null", "--pythonpath", lay.pycsw_app_dir,
         "geoportal_pycsw_app:application"),
        {"PYCSW_CONFIG": lay.pycsw_config, SECRET_VAR: secret},
        "pycsw 2.6 (CSW 2.0.2/3.0), repository in PostgreSQL")


def mapserv_processes(lay: Layout) -> list[Process]:
    """One ``spawn-fcgi -n`` per MapServer FastCGI process: each on its own socket, so a supervisor can
    start exactly the one that died again (``-F`` children of one spawn-fcgi cannot be replaced)."""
    # MapServer's FastCGI loop takes SIGTERM as "exit after the next request": an idle one needs SIGKILL
    return [Process(f"mapserv-{i}", (lay.spawn_fcgi, "-n", *ep.spawn_fcgi(), "--", lay.mapserv_bin),
                    {"MAPSERVER_CONFIG_FILE": lay.mapserver_config}, "MapServer 8 (WMS, WFS) as FastCGI",
                    stop_grace=2.0)
            for i, ep in enumerate(lay.mapserv, 1)]


def nginx_process(lay: Layout, conf: str) -> Process:
    return Process("nginx", (lay.nginx_bin, "-p", f"{lay.run_dir}/nginx", "-e", f"{lay.run_dir}/logs/nginx-error.log",
                             "-c", conf), {}, "the front: TLS/gzip/static bytes, proxies to the node")


def processes(lay: Layout, size: Sizing, secret: str, nginx_conf: str = "") -> list[Process]:
    """Every program of the topology except the database, in start order (nginx last)."""
    out = [csw_process(lay, size, secret), *mapserv_processes(lay), node_process(lay, size, secret)]
    if nginx_conf:
        out.append(nginx_process(lay, nginx_conf))
    return out


# -- nginx -----------------------------------------------------------------------------------------

GZIP_TYPES = ("application/json application/geo+json application/ld+json application/schema+json "
              "application/xml text/xml application/vnd.ogc.wms_xml application/vnd.ogc.se_xml "
              "application/gml+xml text/css text/plain application/javascript application/atom+xml")
CHARSET_TYPES = ("text/xml text/plain text/css application/javascript application/xml "
                 "application/vnd.ogc.wms_xml application/vnd.ogc.se_xml")


def nginx_server(lay: Layout, size: Sizing) -> str:
    """The upstreams and the server block: the whole of docker/nginx.conf, the http{} body natively."""
    files = "\n".join(
        f"    location {ACCEL_FILES}{route}/ {{\n        internal;\n        alias {lay.node_dir}/{route}/;\n    }}"
        for route in FILE_ROUTES)
    return f"""\
# Generated by geoportal.deploy.topology ({lay.kind}); edit the topology, not this file.
# Every request goes to the node first (access is decided there); the node hands files back to nginx with
# X-Accel-Redirect to the internal locations below, and asks MapServer's FastCGI processes itself.
upstream geoportal_node {{
    server {lay.node.nginx()} max_fails=0;
    keepalive 32;
}}

server {{
    listen {lay.listen};
    charset utf-8;
    charset_types {CHARSET_TYPES};
    client_max_body_size 64m;
    server_tokens off;
    gzip on;
    gzip_proxied any;
    gzip_min_length 1024;
    gzip_vary on;
    gzip_types {GZIP_TYPES};

    location / {{
        proxy_pass http://geoportal_node;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout 900s;
        proxy_buffering off;
        proxy_request_buffering on;
        # a node worker killed mid-connection: the next try goes to a live one (idempotent requests only)
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries 3;
    }}
{files}
}}
"""


def nginx_main(lay: Layout, size: Sizing) -> str:
    """A complete nginx.conf for one unprivileged nginx with all its state under the run directory."""
    run = lay.run_dir
    user = f"user {lay.nginx_user};\n" if lay.nginx_user else ""
    server = "\n".join(("    " + line) if line else "" for line in nginx_server(lay, size).splitlines())
    return f"""\
{user}daemon off;
worker_processes {size.nginx_workers};
pid {run}/nginx/nginx.pid;
error_log {run}/logs/nginx-error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    include /etc/nginx/mime.types;
    types {{
        application/geopackage+sqlite3 gpkg;
        application/geo+json geojson;
    }}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    client_body_temp_path {run}/nginx/tmp/body;
    proxy_temp_path {run}/nginx/tmp/proxy;
    fastcgi_temp_path {run}/nginx/tmp/fastcgi;
    uwsgi_temp_path {run}/nginx/tmp/uwsgi;
    scgi_temp_path {run}/nginx/tmp/scgi;
{server}
}}
"""


# -- systemd ---------------------------------------------------------------------------------------

def systemd_unit(p: Process, after: list[str], env_file: str = "") -> str:
    """A systemd service unit for one process (written by ``geoportal deploy``, started by the operator)."""
    env = "".join(f'Environment="{k}={v}"\n' for k, v in sorted(p.env.items()) if k != SECRET_VAR)
    if SECRET_VAR in p.env and env_file:
        env += f"EnvironmentFile={env_file}\n"  # the secret is not written into the unit
    deps = " ".join(f"geoportal-{a}.service" for a in after)
    return (f"[Unit]\nDescription=geoportal {p.name}: {p.description}\nAfter=network.target {deps}\n"
            + (f"Wants={deps}\n" if deps else "")
            + f"\n[Service]\nExecStart={p.command_line()}\n{env}"
            + f"Restart={'always' if p.restart else 'no'}\nRestartSec=1\nKillMode=mixed\n"
            + f"TimeoutStopSec={max(1, int(p.stop_grace))}\n"
            + "NoNewPrivileges=yes\nPrivateTmp=yes\n\n[Install]\nWantedBy=multi-user.target\n")


def systemd_units(lay: Layout, size: Sizing, nginx_conf: str) -> dict[str, str]:
    """File name → unit text, one per process (PostgreSQL has its own units in Debian)."""
    procs = processes(lay, size, "", nginx_conf)
    units: dict[str, str] = {}
    for p in procs:
        after = {"node": ["pycsw", *(q.name for q in procs if q.name.startswith("mapserv-"))], "nginx": ["node"]}
        units[f"geoportal-{p.name}.service"] = systemd_unit(p, after.get(p.name, []), lay.env_file)
    return units
