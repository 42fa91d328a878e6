"""The WSGI application gunicorn serves in the production topology (``geoportal.deploy.wsgi:make_app()``):
the node's own NodeApp (access front, pygeoapi, search, the catalog gate), configured from the environment
the topology gives it.

    GEOPORTAL_WORKDIR          the built node
    GEOPORTAL_CSW_UPSTREAM     host:port of the pycsw process
    GEOPORTAL_CSW_GATE_SECRET  the per-start secret the gate adds to authorised transactions
    GEOPORTAL_ACCEL=1          nginx is in front: answer an allowed file or MapServer GET with an
                               X-Accel-Redirect to nginx's internal locations (geoportal.deploy.topology)

Only the routes NodeApp built itself are switched to X-Accel-Redirect: a route another layer wraps (an
access guard, a view) keeps answering the bytes itself, so nothing gets past a check that runs here.
"""

from __future__ import annotations

import os
from pathlib import Path

from geoportal.deploy.topology import ACCEL_FILES, ACCEL_MAPSERV, FILE_ROUTES, SECRET_VAR
from geoportal.model import Workspace
from geoportal.serve import MapServerCGI, NodeApp, Tiles
from geoportal.static_files import StaticFiles


def make_app() -> NodeApp:
    workdir = os.environ.get("GEOPORTAL_WORKDIR")
    if not workdir or not (Path(workdir) / "index.html").exists():
        raise SystemExit(f"GEOPORTAL_WORKDIR={workdir!r} is not a built node (no index.html): run "
                         "'geoportal deploy prepare' first")
    host, _, port = os.environ.get("GEOPORTAL_CSW_UPSTREAM", "127.0.0.1:8001").rpartition(":")
    app = NodeApp(Workspace(Path(workdir)), int(port), os.environ.get(SECRET_VAR, ""), csw_host=host or "127.0.0.1")
    if os.environ.get("GEOPORTAL_ACCEL") == "1":
        accelerate(app)
    return app


def accelerate(app: NodeApp) -> None:
    """Let nginx ship the bytes of the routes NodeApp answers with its own file and MapServer apps."""
    for route in FILE_ROUTES:
        files = app.routes.get(route)
        if type(files) is StaticFiles:
            files.accel = f"{ACCEL_FILES}{route}/"
    ows = app.routes.get("ows")
    if type(ows) is MapServerCGI:
        ows.accel = ACCEL_MAPSERV
    tiles = app.routes.get("tiles")
    if type(tiles) is Tiles and type(tiles.mapserver) is MapServerCGI:
        tiles.mapserver.accel = ACCEL_MAPSERV

