"""The WSGI application gunicorn serves in the production topology (``geoportal.deploy.wsgi:make_app()``):
the node's own NodeApp (pygeoapi, search, the catalog gate) behind its access front (logins, sessions,
Basic, bearer and single sign-on, as ``geoportal serve`` runs it), configured from the environment the
topology gives it.

    GEOPORTAL_WORKDIR          the built node
    GEOPORTAL_CONFIG           the node config it was built from (default: the one its node.json names)
    GEOPORTAL_CSW_TOKENS       publisher tokens passed to the catalog gate (comma-separated)
    GEOPORTAL_CSW_UPSTREAM     host:port of the pycsw process
    GEOPORTAL_CSW_GATE_SECRET  the per-start secret the gate adds to authorised transactions
    GEOPORTAL_CATALOG_CONFIG   the pycsw configuration the catalog process runs with: OAI-PMH, the catalog
                               views and the search index read the repository it names (PostgreSQL), the
                               one CSW-T writes to (default: the build's SQLite catalog)
    GEOPORTAL_ACCEL=1          nginx is in front: answer an allowed file with an X-Accel-Redirect to
                               nginx's internal locations (geoportal.deploy.topology)
    GEOPORTAL_MAPSERV_FASTCGI  MapServer's FastCGI processes (comma-separated sockets or host:port): the
                               node's WMS/WFS GETs and tiles go there instead of a CGI process per request

Only the routes NodeApp built itself are switched to X-Accel-Redirect and FastCGI: a route another layer
wraps (an access guard, a view) keeps answering itself, so nothing gets past a check that runs here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from geoportal.deploy.topology import ACCEL_FILES, CATALOG_CONFIG_VAR, FILE_ROUTES, MAPSERV_VAR, SECRET_VAR
from geoportal.fastcgi import FastCGIUpstreams
from geoportal.model import Workspace
from geoportal.serve import MapServerCGI, NodeApp, Tiles
from geoportal.static_files import StaticFiles


def make_app() -> Any:
    workdir = os.environ.get("GEOPORTAL_WORKDIR")
    if not workdir or not (Path(workdir) / "index.html").exists():
        raise SystemExit(f"GEOPORTAL_WORKDIR={workdir!r} is not a built node (no index.html): run "
                         "'geoportal deploy prepare' first")
    host, _, port = os.environ.get("GEOPORTAL_CSW_UPSTREAM", "127.0.0.1:8001").rpartition(":")
    ws = Workspace(Path(workdir))
    cfg = node_config(ws)
    catalog = os.environ.get(CATALOG_CONFIG_VAR)
    if catalog and not Path(catalog).exists():
        raise SystemExit(f"{CATALOG_CONFIG_VAR}={catalog}: no such catalog configuration; run "
                         "'geoportal deploy prepare' first")
    app = NodeApp(ws, int(port), os.environ.get(SECRET_VAR, ""), csw_host=host or "127.0.0.1",
                  catalog_config=Path(catalog) if catalog else None, cfg=cfg)
    if os.environ.get("GEOPORTAL_ACCEL") == "1":
        accelerate(app)
    endpoints = [e.strip() for e in os.environ.get(MAPSERV_VAR, "").split(",") if e.strip()]
    if endpoints:
        use_fastcgi(app, FastCGIUpstreams(endpoints))
    from geoportal.access_front import wrap
    from geoportal.serve import publisher_tokens

    return wrap(app, cfg, ws.root, publisher_tokens())


def node_config(ws: Workspace) -> Any:
    """The node config the workspace was built from: ``GEOPORTAL_CONFIG``, else the path its node.json
    records. A node whose config cannot be read does not start: without its rules nobody could log in,
    and a front that guesses them is not one to serve restricted data behind."""
    from geoportal.config import load_config
    from geoportal.errors import GeoportalError

    named = os.environ.get("GEOPORTAL_CONFIG")
    if not named:
        try:
            named = json.loads((ws.root / "node.json").read_text(encoding="utf-8"))["config"]
        except (OSError, ValueError, KeyError) as e:
            raise SystemExit(f"{ws.root / 'node.json'}: the node config is not recorded ({e}); set "
                             "GEOPORTAL_CONFIG to the config the node was built from") from None
    try:
        return load_config(Path(named))
    except GeoportalError as e:
        raise SystemExit(f"the node config {named} cannot be read: {e}") from None


def accelerate(app: NodeApp) -> None:
    """Let nginx ship the bytes of the routes NodeApp answers with its own file apps."""
    for route in FILE_ROUTES:
        files = app.routes.get(route)
        if type(files) is StaticFiles:
            files.accel = f"{ACCEL_FILES}{route}/"


def use_fastcgi(app: NodeApp, upstreams: FastCGIUpstreams) -> None:
    """Send the GETs of NodeApp's own MapServer routes (WMS/WFS, tiles) to the FastCGI processes."""
    ows = app.routes.get("ows")
    if type(ows) is MapServerCGI:
        ows.fastcgi = upstreams
    tiles = app.routes.get("tiles")
    if type(tiles) is Tiles and type(tiles.mapserver) is MapServerCGI:
        tiles.mapserver.fastcgi = upstreams

