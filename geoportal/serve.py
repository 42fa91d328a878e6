"""Serve a built node on one local address.

    /            landing page (static, built with the node)
    /ogcapi/     pygeoapi (OGC API Features), in this process
    /ows         MapServer 8 ``mapserv`` run as CGI per request (WMS, WFS)
    /csw         pycsw, a separate gunicorn process in its own venv, reverse-proxied behind the
                 CatalogGate (geoportal.catalog_gate): CSW-T only with a publisher token
    /downloads/  the files of publishers.downloads     } geoportal.static_files: folders listed,
    /passport/   the hromada passports                  } client errors answered 4xx
    /decisions/  the decision register: pages, index, Atom feeds (decisions.publish) }
    /search      the node's search (HTML; ?f=json), over the index built with the node (search.web)
    /login, /logout, /whoami, /.well-known/jwks.json   the access front (geoportal.access_front), which
                 wraps all of the above and tells each service who is asking
    /map         the map viewer: WMS layers over the offline basemap of /tiles/ (geoportal.map_viewer)
    /invest/     the investment sites: map with filters, a page per site (geoportal.invest)
    /assets/     the one CSS and script of the node's pages (geoportal.portal)

The front is gunicorn with threads; responses of MapServer and pycsw are streamed, not buffered. The
pycsw process is started before and stopped after the front, whatever way the front exits; it gets a
per-start secret that only the gate sends, with authorised transactions. The port is checked before
anything starts (ServeError, exit 8).
"""

from __future__ import annotations

import http.client
import errno
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote

from access.web import principal_of
from geoportal.catalog_gate import UPSTREAM_HEADERS, CatalogGate
from geoportal.errors import ServeError
from geoportal.fastcgi import FastCGIError, FastCGIUpstreams
from geoportal.mapserver_answer import (RETRY_AFTER_SECONDS, Answer, Unanswered, database_failure,
                                        is_error_document, read_answer, without_image_exceptions)
from geoportal.model import Workspace
from geoportal.not_found import not_found
from geoportal.portal import ASSETS, Site
from geoportal.static_files import StaticFiles, plain

__all__ = ["CatalogGate", "MapServerCGI", "NodeApp", "Proxy", "StaticFiles", "ensure_port_free", "run"]

log = logging.getLogger(__name__)
#: MapServer asked again after a database failure: a failover under a map request, worth a line in the
#: node's log even where a library set the root logger to errors only (pygeoapi does)
mapserver_log = logging.getLogger("geoportal.mapserver")

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade"}


_plain = plain


def with_charset(ctype: str) -> str:
    """A text or XML Content-Type of a service that names no charset gets UTF-8 (what the node's
    services write), so browsers do not guess Cyrillic as Windows-1252."""
    base = ctype.split(";")[0].strip().lower()
    if "charset=" not in ctype.lower() and (base.startswith("text/") or base.endswith("xml")):
        return ctype + "; charset=utf-8"
    return ctype


class MapServerCGI:
    """Runs MapServer for each request and passes its answer on — unless the answer reports that MapServer
    could not read its database (:mod:`geoportal.mapserver_answer`): then it asks once more (a fresh
    connection finds the primary when the replica died under the first), and if that fails too answers
    503 with Retry-After, never an exception report a client would take for the map.

    ``mapserv`` runs as a CGI program; with ``fastcgi`` set (the production topology, geoportal.deploy) a
    GET goes to MapServer's FastCGI processes instead (:mod:`geoportal.fastcgi`), a POST (its body is not
    carried over) still runs here."""

    fastcgi: FastCGIUpstreams | None = None

    def __init__(self, config_file: Path, mapserv: str = "mapserv"):
        self.config_file = config_file
        self.mapserv = mapserv
        if mapserver_log.level == logging.NOTSET:
            mapserver_log.setLevel(logging.WARNING)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        env = {
            "MAPSERVER_CONFIG_FILE": str(self.config_file),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": environ.get("REQUEST_METHOD", "GET"),
            "QUERY_STRING": environ.get("QUERY_STRING", ""),
            "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
            "CONTENT_LENGTH": environ.get("CONTENT_LENGTH", "") or "",
            "SERVER_NAME": environ.get("SERVER_NAME", "localhost"),
            "SERVER_PORT": str(environ.get("SERVER_PORT", "80")),
            "SERVER_PROTOCOL": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
            "HTTP_HOST": environ.get("HTTP_HOST", ""),
        }
        body = b""
        if env["REQUEST_METHOD"] == "POST":
            length = int(env["CONTENT_LENGTH"] or 0)
            body = environ["wsgi.input"].read(length) if length else b""
        # errors drawn into the image (EXCEPTIONS=INIMAGE/BLANK) would be a 200 image the node cannot read:
        # MapServer is asked for an exception document first, and the client's own error again as it asked
        readable = without_image_exceptions(env["QUERY_STRING"])
        answer = self._answer(dict(env, QUERY_STRING=readable) if readable is not None else env, body)
        if readable is not None and isinstance(answer, Answer) and is_error_document(answer):
            answer.close()
            answer = self._answer(env, body)
        if isinstance(answer, Unanswered):
            return _plain(start_response, answer.status, answer.text, answer.headers)
        start_response(answer.status, answer.headers)
        return answer.body()

    def _answer(self, env: dict[str, str], body: bytes) -> "Answer | Unanswered":
        """MapServer's answer, asked twice at most when it reports a database failure."""
        failure = ""
        for attempt in (1, 2):
            try:
                answer = read_answer(self._run(env, body))
            except FastCGIError as e:  # nothing was answered yet: a client may simply ask again
                mapserver_log.warning("MapServer (%s): %s", self.config_file, e)
                return Unanswered("502 Bad Gateway", f"MapServer did not answer ({e}); try again")
            if not database_failure(answer):
                return answer
            answer.close()
            failure = answer.head.decode("utf-8", "replace")
            mapserver_log.warning("MapServer (%s) could not read its database (attempt %d of 2) for %s: %s",
                        self.config_file, attempt, env["QUERY_STRING"][:200],
                        " ".join(re.findall(r"msPostGIS\w*\(\)[^<\n]*", failure))[:300])
        return Unanswered("503 Service Unavailable",
                          "the map database cannot be read at the moment (a failover under way?); "
                          f"try again in {RETRY_AFTER_SECONDS} s. MapServer said: "
                          + " ".join(re.findall(r"ms\w+\(\)[^<\n]*", failure))[:500],
                          [("Retry-After", str(RETRY_AFTER_SECONDS))])

    def _run(self, env: dict[str, str], body: bytes) -> Iterator[bytes]:
        """MapServer's CGI output: from a FastCGI process for a GET in production, else from ``mapserv``."""
        if self.fastcgi is not None and env["REQUEST_METHOD"] in ("GET", "HEAD"):
            params = {k: v for k, v in env.items() if k != "PATH"}
            return self.fastcgi.request(params)
        return self._cgi(env, body)

    def _cgi(self, env: dict[str, str], body: bytes) -> Iterator[bytes]:
        proc = subprocess.Popen([self.mapserv], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(body)
            proc.stdin.close()
            while chunk := proc.stdout.read1(65536):
                yield chunk
        finally:
            proc.stdout.close()
            if proc.poll() is None:
                proc.kill()  # an answer not read to its end (replaced by a second try, a client gone)
            proc.wait()


class Tiles:
    """XYZ tiles of the node's own layers, ``/tiles/<layer,layer>/<z>/<x>/<y>.png``, drawn by MapServer's tile
    mode: a basemap with no internet. A path, not a query string, so that it can sit in pygeoapi's page
    templates (which HTML-escape the ``&`` of a query inside their scripts)."""

    PATH = re.compile(r"^/([a-z0-9_,-]{1,300})/(\d{1,2})/(\d{1,7})/(\d{1,7})\.png$")

    def __init__(self, mapserver: "MapServerCGI", allowed: set[str] | None = None):
        self.mapserver = mapserver
        # an access view's layers that WMS GetMap may draw: tile mode is not an OWS request, so MapServer does
        # not apply wms_enable_request to it (None: every layer of the mapfile, the node's static one)
        self.allowed = allowed

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        m = self.PATH.match(environ.get("PATH_INFO", ""))
        if m is None or environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _plain(start_response, "404 Not Found",
                          "tiles are /tiles/<layer,layer>/<z>/<x>/<y>.png (z up to 20)")
        layers, z, x, y = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
        if z > 20 or x >= 2 ** z or y >= 2 ** z:
            return _plain(start_response, "404 Not Found", f"no tile {z}/{x}/{y}")
        if self.allowed is not None and not set(layers.split(",")) <= self.allowed:
            return _plain(start_response, "404 Not Found", f"no such layer: {layers}")
        query = f"mode=tile&tilemode=gmap&tile={x}+{y}+{z}&layers={layers.replace(',', '+')}"  # space-separated in CGI mode
        return self.mapserver(dict(environ, QUERY_STRING=query, REQUEST_METHOD="GET"), start_response)


class Proxy:
    """A streaming reverse proxy to a service on this machine (pycsw)."""

    def __init__(self, host: str, port: int, prefix: str):
        self.host, self.port, self.prefix = host, port, prefix

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = self.prefix + quote(environ.get("PATH_INFO", ""))
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        headers = {"Host": environ.get("HTTP_HOST", f"{self.host}:{self.port}")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        headers.update(environ.get(UPSTREAM_HEADERS, {}))  # e.g. the catalog gate's secret
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(environ.get("REQUEST_METHOD", "GET"), path, body=body, headers=headers)
            resp = conn.getresponse()
        except OSError as e:
            conn.close()
            return _plain(start_response, "502 Bad Gateway", f"the catalog service is not answering ({e})")
        start_response(f"{resp.status} {resp.reason}",
                       [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP])

        def stream() -> Iterator[bytes]:
            try:
                while chunk := resp.read(65536):
                    yield chunk
            finally:
                conn.close()

        return stream()


class NodeApp:
    """The one WSGI application of a node: dispatches on the first path segment."""

    def __init__(self, ws: Workspace, csw_port: int, csw_secret: str = "", csw_host: str = "127.0.0.1",
                 catalog_config: Path | None = None, cfg: Any = None):
        """``catalog_config``: the pycsw configuration the catalog process runs with, when it is not the
        build's (production: PostgreSQL); every reader of the catalog here reads the repository it names.
        ``cfg``: the node config, with which the search index is rebuilt after each CSW-T transaction."""
        from catalog.access_view import CatalogViews
        from catalog.pycsw import config_path as pycsw_config
        from catalog.repository import SqliteRepository, repository_of
        from decisions.comments_web import DecisionPages
        from decisions.web import DecisionsWeb
        from geoportal.map_viewer import MapViewer
        from metadata.oaipmh import OaiPmhFront
        from passport.serve import FULL_DIR, PassportFiles
        from publishers import mapserver, pygeoapi
        from publishers.ogcapi.cql2_front import Cql2Front
        from search.index import index_path
        from search.refresh import SearchRefresh
        from search.web import SearchApp

        os.environ["PYGEOAPI_CONFIG"] = str(pygeoapi.config_path(ws))
        os.environ["PYGEOAPI_OPENAPI"] = str(pygeoapi.openapi_path(ws))
        quiet_known_noise()
        from pygeoapi.flask_app import APP, CONFIG  # reads the two variables above at import

        # pygeoapi logs at the level its config names: its own logging set-up does nothing where logging was
        # set up before (``geoportal serve``: WARNING), and a warning pygeoapi makes on every items request
        # (NOISE) was then built, formatted and dropped each time
        level = str((CONFIG.get("logging") or {}).get("level", "ERROR")).upper()
        logging.getLogger("pygeoapi").setLevel(level)

        self.ws = ws
        self._site = Site.of_workspace(ws.root)  # the header of the search and the 404 page
        self._csw_host, self._csw_port, self._csw_secret = csw_host, csw_port, csw_secret
        self._fronts: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._routes_of: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()  # view apps → routes
        # the repository pycsw serves and CSW-T writes: every catalog read of the node reads it
        self.catalog_config = catalog_config or pycsw_config(ws)
        self.catalog = repository_of(catalog_config) if catalog_config else SqliteRepository(ws.catalog_db)
        # who sees which catalog records: one object for CSW, OAI-PMH, Records, DCAT and search
        self.views = CatalogViews(ws.root, repository=self.catalog)
        self.search_refresh = SearchRefresh(cfg, ws, self.catalog) if cfg is not None else None
        self.routes: dict[str, Callable[[Environ, StartResponse], Iterable[bytes]]] = {
            # OGC API Part 4 writes on the decision register's collections go through its lifecycle; OGC API
            # Records reads the catalog process with the caller's view (publishers.ogcapi.records)
            "ogcapi": self._ogcapi_front(Cql2Front(APP.wsgi_app)),
            "ows": MapServerCGI(mapserver.config_file_path(ws)),
            "tiles": Tiles(MapServerCGI(mapserver.config_file_path(ws))),
            # OAI-PMH (mode=oaipmh) is answered by the node over the same repository, see metadata.oaipmh
            "csw": OaiPmhFront(CatalogGate(Proxy(csw_host, csw_port, "/"), publisher_tokens(), csw_secret,
                                           self.views, on_write=self._catalog_written), self.catalog_config,
                               self.views, repository=self.catalog),
            "downloads": StaticFiles(ws.downloads, "Downloads"),
            "passport": PassportFiles(ws.root, StaticFiles(ws.root / "passport", "Hromada passports"),
                                      StaticFiles(ws.root / FULL_DIR, "Hromada passports"), self.views),
            "datasets": StaticFiles(ws.root / "datasets", "Datasets"),
            # the pages and feeds (with the comment form of a logged-in caller), the agreement inbox and the
            # signed messages between nodes
            "decisions": DecisionsWeb(ws.root, DecisionPages(ws.root, "Decisions")),
            "search": SearchApp(index_path(ws), self.views, self._site),
            "map": MapViewer(ws),
            "invest": StaticFiles(ws.root / "invest", "Investment sites"),
            "assets": StaticFiles(ASSETS, "Assets"),
        }
        self.index = (ws.root / "index.html").read_bytes()
        self.viewed = _viewed(ws, self.routes)

    def _catalog_written(self) -> None:
        """A publisher's transaction was answered: the search index follows the repository."""
        if self.search_refresh is not None:
            self.search_refresh.request()

    def _ogcapi_front(self, api: Any) -> Any:
        """What stands before a pygeoapi (the node's, or a caller's view's): the decision register's Part 4
        writes and the catalog view of OGC API Records — the same for every view, so that a logged-in
        official's writes and record searches take the same path as anyone's. One front per pygeoapi,
        dropped with it."""
        front = self._fronts.get(api)  # per request of a caller with a view of their own: looked up first
        if front is None:
            from decisions.api import DecisionWrites
            from catalog.catalog_view import HEADER as VIEW_HEADER
            from publishers.ogcapi.records import CatalogContext

            secret = self._csw_secret
            front = CatalogContext(DecisionWrites(api, self.ws.root), f"http://{self._csw_host}:{self._csw_port}/",
                                   lambda env: {VIEW_HEADER: self.views.for_environ(env).encode(secret)}
                                   if secret else {})
            self._fronts[api] = front
        return front

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "HEAD":  # the same headers as GET, no body
            body = self._dispatch(dict(environ, REQUEST_METHOD="GET"), start_response)
            close = getattr(body, "close", None)
            if close:
                close()
            return []
        return self._dispatch(environ, start_response)

    def _dispatch(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        head, _, rest = path.lstrip("/").partition("/")
        routes, index = self.routes, self.index
        if self.viewed is not None:
            # the caller's view, looked up once; the access front makes a logged-in caller's answer private
            seen = self.viewed.seen(principal_of(environ))
            if not self.viewed.audit(seen, head, rest, environ):
                return _plain(start_response, "503 Service Unavailable",
                              "the audit log cannot be written, so restricted data is not served now; "
                              "an administrator should check the node's log and the audit folder",
                              [("Retry-After", "60")])
            apps = seen.apps
            if apps is not None:  # the caller's access view differs from the anonymous one
                routes = self._view_routes(apps, head == "ogcapi" and self.viewed.as_anonymous(apps.view, rest))
                index = apps.index
        if head == "dcat.jsonld":
            from catalog.access_view import private_headers
            from metadata.dcat_serve import dcat_body

            body = dcat_body(self.ws.root, self.views.for_environ(environ, "dcat"))
            start_response("200 OK", [("Content-Type", "application/ld+json"), ("Content-Length", str(len(body))),
                                      *private_headers()])
            return [body]
        if head == "" or head == "index.html":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                      ("Content-Length", str(len(index)))])
            return [index]
        app = routes.get(head)
        if app is None:
            return not_found(environ, start_response, self._site, path)
        environ = dict(environ, SCRIPT_NAME=environ.get("SCRIPT_NAME", "") + "/" + head,
                       PATH_INFO=("/" + rest) if (rest or path.endswith("/")) else "")

        def start_utf8(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            """Text from the services (pygeoapi HTML, MapServer, pycsw) says its charset."""
            return start_response(status, [(k, with_charset(v) if k.lower() == "content-type" else v)
                                           for k, v in headers], *exc)

        return app(environ, start_utf8)

    def _view_routes(self, apps: Any, ogcapi_as_anonymous: bool) -> dict[str, Any]:
        """The routes of a view's caller — the node's, with the view's services — made once per view's
        applications (and OGC API request read as anonymous or not), not per request."""
        both = self._routes_of.get(apps)
        if both is None:
            view = {**self.routes, "ogcapi": self._ogcapi_front(apps.ogcapi), "ows": apps.ows,
                    "tiles": apps.tiles, "downloads": apps.downloads, "datasets": apps.datasets}
            both = self._routes_of[apps] = (view, {**view, "ogcapi": self.routes["ogcapi"]})
            freeze_long_lived()  # the view's pygeoapi, MapServer and pages: kept while the view is in use
        return both[1] if ogcapi_as_anonymous else both[0]


def freeze_long_lived(collect: bool = False) -> None:
    """Take what exists now (the node's applications, a view's just made) out of the garbage collector's
    full collections. Requests allocate enough containers to trigger one now and then, and each walked
    every object of the process — some 140,000 at start, tens of thousands more per access view: about
    3 % of the CPU time of a worker serving logged-in callers, measured in-process (the ingest freezes its
    start-up objects likewise, ingest/streaming.py). Frozen objects are still freed when nothing refers to
    them; only a cycle among objects of requests in flight at that moment would stay, once per view made.
    ``collect``: free the garbage of start-up first (a worker's start, not a request)."""
    import gc

    if collect:
        gc.collect()
    gc.freeze()


def _viewed(ws: Workspace, routes: dict[str, Any]) -> Any:
    """The access views of logged-in callers (geoportal/views_web.py); None for a workspace built before
    them, whose callers all get the static (anonymous) services: fail closed."""
    from geoportal.views_web import ViewedServices

    try:
        return ViewedServices(ws, routes, MapServerCGI,
                              lambda conf, layers: Tiles(MapServerCGI(conf), layers))
    except FileNotFoundError as e:
        log.warning("access views are off: %s", e)
        return None


class _DropKnownNoise(logging.Filter):
    """Drops the records of one logger whose whole message matches ``pattern``."""

    def __init__(self, pattern: str):
        super().__init__()
        self.pattern = re.compile(pattern)

    def filter(self, record: logging.LogRecord) -> bool:
        return self.pattern.fullmatch(str(record.getMessage())) is None


# Warnings of the pinned libraries that say nothing about the node, each logged on every request:
NOISE = {
    # pygeoapi 0.21 l10n.translate() probes every key of every dict in the config and the responses as a
    # possible locale and warns for each that is not one ('type', 'href', …), although it asks to be silent
    "pygeoapi.l10n": r"unknown locale '[^']*'|'[^']*' is not a valid locale identifier",
    # pygeoapi 0.21 flask_app passes CORS_EXPOSE_HEADERS as a keyword Flask-CORS does not know
    "flask_cors.core": r"Unknown option passed to Flask-CORS: CORS_EXPOSE_HEADERS",
    # pygeoapi 0.21 itemtypes does int(None) when a request has no 'offset' and warns before using 0
    "pygeoapi.api.itemtypes": r"int\(\) argument must be a string, a bytes-like object or a real number, not 'NoneType'",
}


def quiet_known_noise() -> None:
    """Install the filters of NOISE (once); every other warning of these loggers still shows."""
    for name, pattern in NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropKnownNoise) for f in logger.filters):
            logger.addFilter(_DropKnownNoise(pattern))


def publisher_tokens() -> set[str]:
    return {t.strip() for t in os.environ.get("GEOPORTAL_CSW_TOKENS", "").split(",") if t.strip()}


def _server_ports() -> range:
    """Ports for the services a node starts, outside the kernel's ephemeral range. A client polling a port
    in that range before its server listens can be given that very port as its own and connect to itself
    (TCP simultaneous open): it then reads back its own request ("BadStatusLine: GET / HTTP/1.1", seen in a
    full test run). Ports below the range never meet an outgoing connection's."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    if low - 10000 >= 4000:
        return range(10000, low)
    if 65535 - high >= 4000:
        return range(high + 1, 65536)
    return range(low, high + 1)  # no room outside it: wait_for still notices a connection to itself


def free_port_block(n: int, host: str = "127.0.0.1") -> int:
    """The first of ``n`` consecutive free ports (a sample network takes one block). The search starts at a
    random place so that runs side by side on one machine rarely reach for the same block."""
    import random

    ports = _server_ports()
    start = random.randrange(ports.start, ports.stop - n)
    for base in (*range(start, ports.stop - n, 37), *range(ports.start, start, 37)):
        socks: list[socket.socket] = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind((host, p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise ServeError(f"no block of {n} free ports on {host}")


def free_port(host: str = "127.0.0.1") -> int:
    """A free port outside the ephemeral range (see ``_server_ports``), picked at random."""
    return free_port_block(1, host)


def wait_for(host: str, port: int, path: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServeError(f"the service on port {port} exited with code {proc.returncode} while starting")
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.connect()
            if conn.sock.getsockname() == conn.sock.getpeername():  # connected to itself: nobody listens yet
                conn.close()
                raise ConnectionRefusedError(f"port {port} answered by its own client")
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    raise ServeError(f"no answer from {host}:{port}{path} after {timeout:.0f} s")


def start_catalog(ws: Workspace, port: int, secret: str = "") -> subprocess.Popen[bytes]:
    """Start the catalog process on 127.0.0.1:``port``. It takes CSW-T only from requests that carry
    ``secret`` (the front's CatalogGate adds it to authorised transactions); with no secret, none."""
    from catalog import pycsw

    cmd, env = pycsw.server_command(ws, "127.0.0.1", port, secret)
    logf = open(ws.root / "pycsw-server.log", "ab")
    proc = subprocess.Popen(cmd, env=env, stdout=logf, stderr=logf, start_new_session=True,
                            preexec_fn=_die_with_parent)
    wait_for("127.0.0.1", port, "/?service=CSW&version=2.0.2&request=GetCapabilities", proc=proc)
    return proc


def _die_with_parent() -> None:
    """In the catalog's process: be terminated when the node's front dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def stop_with_the_front(catalog: subprocess.Popen[bytes]) -> None:
    """In gunicorn's master, once its signal handlers are set: when it is told to stop (SIGTERM, Ctrl-C's
    SIGINT, SIGQUIT), tell the catalog at once too, so that both wind down together. The catalog (its own
    session, so Ctrl-C never reaches it) was told only after the front's workers had gone, and its sync
    workers take ~1 s to notice: every stop of a node took that second longer (3.4 s instead of 2.1 s with
    a client's connection kept alive)."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: Any, previous: Callable[..., Any] = previous) -> None:
            if catalog.poll() is None:
                try:
                    os.killpg(catalog.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            previous(signum, frame)

        signal.signal(sig, handler)


def stop(*procs: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """Stop process groups started with ``start_new_session``: SIGTERM to all first (so they wind down
    together), SIGKILL to whoever has not exited after ``timeout`` seconds."""
    running = [p for p in procs if p is not None and p.poll() is None]
    for p in running:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in running:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def start_node(config: Path, workdir: Path, port: int, log: Path,
               env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``geoportal serve CONFIG`` as a process group of its own, its output appended to ``log``; ``env``:
    variables to set for it (e.g. GEOPORTAL_CSW_TOKENS), on top of this process's environment."""
    import sys

    with open(log, "ab") as fh:
        return subprocess.Popen([sys.executable, "-m", "geoportal.cli", "serve", str(config), "--workdir",
                                 str(workdir), "--port", str(port)], stdout=fh, stderr=fh, start_new_session=True,
                                cwd=Path(__file__).resolve().parent.parent, env={**os.environ, **(env or {})})


def ensure_port_free(host: str, port: int) -> None:
    """Raise ServeError (exit 8) when ``host:port`` cannot be bound — checked before anything is built, so
    a second ``geoportal serve`` on the same port fails in a second, not after a build."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn: TIME_WAIT does not count
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ServeError(f"port {port} on {host} is already in use by another program: stop it, or "
                                 f"serve on another port with --port") from None
            raise ServeError(f"cannot listen on {host}:{port} ({e.strerror}): choose another --host/--port") from None


def run(ws: Workspace, host: str, port: int, workers: int = 2, threads: int = 8, cfg: Any = None) -> None:
    """Start the catalog process and the front; blocks until Ctrl-C / SIGTERM. With the node's ``cfg`` the
    app is served behind the access front (geoportal.access_front): logins, sessions, tokens."""
    from gunicorn.app.base import BaseApplication

    ensure_port_free(host, port)
    csw_port = free_port()
    csw_secret = secrets.token_urlsafe(32)  # per start: lets the front, and only it, write to the catalog
    catalog = start_catalog(ws, csw_port, csw_secret)

    class Front(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("timeout", 120)
            self.cfg.set("loglevel", "warning")
            if os.environ.get("GEOPORTAL_ACCESS_LOG"):
                self.cfg.set("accesslog", "-")
            self.cfg.set("when_ready", lambda server: stop_with_the_front(catalog))

        def load(self) -> Any:
            app = NodeApp(ws, csw_port, csw_secret, cfg=cfg)
            if cfg is not None:
                from geoportal.access_front import wrap

                app = wrap(app, cfg, ws.root, publisher_tokens())  # else every service sees anonymous
            freeze_long_lived(collect=True)
            return app

    master = os.getpid()
    try:
        Front().run()
    finally:
        if os.getpid() == master:  # forked workers unwind through here too
            stop(catalog)
