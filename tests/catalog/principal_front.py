"""A node's front for tests of access by role, run as its own process: ``python principal_front.py WORKSPACE
PORT PRINCIPALS.json``.

The access front (helper ``authweb``) resolves a caller from a session, a bearer JWT or Basic; these tests
are about what the catalog shows a given caller, so this front resolves ``Authorization: Bearer <name>``
to the principal of that name in ``PRINCIPALS.json`` ({name: {"roles": [...], "organisation": ...}}) and
puts it under ``environ["geoportal.principal"]`` — the one contract the services read. An unknown name is
anonymous. Everything behind it is the real node: NodeApp, the catalog process (pycsw), pygeoapi.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from access.config import Role
from access.principal import Principal
from access.web import PRINCIPAL
from geoportal.model import Workspace
from geoportal.serve import NodeApp, free_port, start_catalog, stop


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def principals(path: Path) -> dict[str, Principal]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {name: Principal(name=name, roles=frozenset(Role(r) for r in p["roles"]),
                            organisation=p.get("organisation"), datasets=frozenset(p.get("datasets", [])))
            for name, p in raw.items()}


def front(app, known: dict[str, Principal]):  # type: ignore[no-untyped-def]
    def wrapped(environ, start_response):  # type: ignore[no-untyped-def]
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if auth.lower().startswith("bearer ") and auth[7:].strip() in known:
            environ[PRINCIPAL] = known[auth[7:].strip()]
            del environ["HTTP_AUTHORIZATION"]
        return app(environ, start_response)
    return wrapped


def main() -> None:
    ws, port, path = Workspace(Path(sys.argv[1])), int(sys.argv[2]), Path(sys.argv[3])
    csw_port, secret = free_port(), secrets.token_urlsafe(32)
    catalog = start_catalog(ws, csw_port, secret)
    try:
        server = make_server("127.0.0.1", port, front(NodeApp(ws, csw_port, secret), principals(path)),
                             server_class=_Threading, handler_class=_Quiet)
        server.serve_forever()
    finally:
        stop(catalog)


if __name__ == "__main__":
    main()
