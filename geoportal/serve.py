"""Serve a built node on one local address.

    /            landing page (static, built with the node)
    /ogcapi/     pygeoapi (OGC API Features), in this process
    /ows         MapServer 8 ``mapserv`` run as CGI per request (WMS, WFS)
    /csw         pycsw, a separate gunicorn process in its own venv, reverse-proxied
    /downloads/  the files of publishers.downloads

The front is gunicorn with threads; responses of MapServer and pycsw are streamed, not buffered. The
pycsw process is started before and stopped after the front, whatever way the front exits.
"""

from __future__ import annotations

import http.client
import io
import logging
import mimetypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote

from geoportal.errors import ServeError
from geoportal.model import Workspace

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade"}
mimetypes.add_type("application/geopackage+sqlite3", ".gpkg")


def _plain(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


class MapServerCGI:
    """Runs ``mapserv`` as a CGI program for each request and streams its output."""

    def __init__(self, config_file: Path, mapserv: str = "mapserv"):
        self.config_file = config_file
        self.mapserv = mapserv

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
        proc = subprocess.Popen([self.mapserv], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(body)
        proc.stdin.close()
        status, headers = "200 OK", []
        while True:
            line = proc.stdout.readline()
            if not line or line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = value.strip()
            else:
                headers.append((name.strip(), value.strip()))
        start_response(status, headers)
        return self._stream(proc)

    @staticmethod
    def _stream(proc: subprocess.Popen[bytes]) -> Iterator[bytes]:
        assert proc.stdout is not None
        try:
            while chunk := proc.stdout.read(65536):
                yield chunk
        finally:
            proc.stdout.close()
            proc.wait()


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


TRANSACTION_OPS = {"transaction", "harvest"}


class CatalogGate:
    """CSW-T (Transaction, Harvest) only for authenticated publishers; every other request passes.

    Publishers present ``Authorization: Bearer <token>``; the node's tokens come from the environment
    variable GEOPORTAL_CSW_TOKENS (comma-separated), so no secret is written in a config file. pycsw itself
    accepts transactions only from 127.0.0.1, i.e. only through this gate.
    """

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]], tokens: set[str]):
        self.app, self.tokens = app, tokens

    @staticmethod
    def _operation(environ: Environ, body: bytes) -> str:
        from urllib.parse import parse_qs

        qs = {k.lower(): v for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if "request" in qs:
            return qs["request"][0].lower()
        if body:
            from lxml import etree

            try:
                root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True,
                                                              load_dtd=False))
            except etree.XMLSyntaxError:
                return ""
            return etree.QName(root).localname.lower()
        return ""

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if self._operation(environ, body) in TRANSACTION_OPS:
            auth = environ.get("HTTP_AUTHORIZATION", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            if not token or token not in self.tokens:
                body403 = (b'<?xml version="1.0" encoding="UTF-8"?>\n<ows:ExceptionReport '
                           b'xmlns:ows="http://www.opengis.net/ows" version="1.2.0"><ows:Exception '
                           b'exceptionCode="NoApplicableCode"><ows:ExceptionText>CSW-T (Transaction, Harvest) '
                           b'needs a publisher token: send Authorization: Bearer TOKEN</ows:ExceptionText>'
                           b'</ows:Exception></ows:ExceptionReport>')
                start_response("401 Unauthorized", [("Content-Type", "application/xml; charset=utf-8"),
                                                    ("WWW-Authenticate", 'Bearer realm="csw"'),
                                                    ("Content-Length", str(len(body403)))])
                return [body403]
        environ = dict(environ, **{"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
        environ["QUERY_STRING"] = self._prefer_202(environ.get("QUERY_STRING", ""))
        return self.app(environ, start_response)

    @staticmethod
    def _prefer_202(query: str) -> str:
        """A GetCapabilities that names no version gets CSW 2.0.2 (pycsw would answer 3.0.0): most harvesters
        (GeoNetwork, GDAL's CSW driver, CKAN) speak 2.0.2 and follow the version the server reports.
        Clients that want 3.0 say so (acceptversions=3.0.0)."""
        from urllib.parse import parse_qsl

        keys = {k.lower(): v.lower() for k, v in parse_qsl(query, keep_blank_values=True)}
        if keys.get("request") == "getcapabilities" and "acceptversions" not in keys and "version" not in keys:
            return query + "&acceptversions=2.0.2,3.0.0"
        return query


class StaticFiles:
    def __init__(self, root: Path):
        self.root = root.resolve()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        rel = environ.get("PATH_INFO", "").lstrip("/")
        path = (self.root / rel).resolve()
        if not rel or self.root not in path.parents or not path.is_file():
            return _plain(start_response, "404 Not Found", f"no such file: /{rel}")
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("xml"):
            ctype += "; charset=utf-8"
        start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(path.stat().st_size))])
        f = path.open("rb")
        wrapper = environ.get("wsgi.file_wrapper")
        return wrapper(f, 65536) if wrapper else iter(lambda: f.read(65536), b"")


class NodeApp:
    """The one WSGI application of a node: dispatches on the first path segment."""

    def __init__(self, ws: Workspace, csw_port: int):
        from catalog.pycsw import config_path as pycsw_config
        from metadata.oaipmh import OaiPmhFront
        from publishers import mapserver, pygeoapi
        from publishers.ogcapi.cql2_front import Cql2Front

        os.environ["PYGEOAPI_CONFIG"] = str(pygeoapi.config_path(ws))
        os.environ["PYGEOAPI_OPENAPI"] = str(pygeoapi.openapi_path(ws))
        from pygeoapi.flask_app import APP  # reads the two variables above at import

        self.ws = ws
        self.routes: dict[str, Callable[[Environ, StartResponse], Iterable[bytes]]] = {
            "ogcapi": Cql2Front(APP.wsgi_app),
            "ows": MapServerCGI(mapserver.config_file_path(ws)),
            # OAI-PMH (mode=oaipmh) is answered by the node over the same repository, see metadata.oaipmh
            "csw": OaiPmhFront(CatalogGate(Proxy("127.0.0.1", csw_port, "/"), publisher_tokens()),
                               pycsw_config(ws)),
            "downloads": StaticFiles(ws.downloads),
            "passport": StaticFiles(ws.root / "passport"),
        }
        self.index = (ws.root / "index.html").read_bytes()

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
        if head == "dcat.jsonld":
            body = (self.ws.root / "dcat.jsonld").read_bytes()
            start_response("200 OK", [("Content-Type", "application/ld+json"), ("Content-Length", str(len(body)))])
            return [body]
        if head == "" or head == "index.html":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                      ("Content-Length", str(len(self.index)))])
            return [self.index]
        app = self.routes.get(head)
        if app is None:
            return _plain(start_response, "404 Not Found",
                          f"no such path: {path} (try /, /ogcapi/, /ows, /csw, /downloads/)")
        environ = dict(environ, SCRIPT_NAME=environ.get("SCRIPT_NAME", "") + "/" + head,
                       PATH_INFO=("/" + rest) if (rest or path.endswith("/")) else "")
        return app(environ, start_response)


def publisher_tokens() -> set[str]:
    return {t.strip() for t in os.environ.get("GEOPORTAL_CSW_TOKENS", "").split(",") if t.strip()}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(host: str, port: int, path: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServeError(f"the service on port {port} exited with code {proc.returncode} while starting")
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise ServeError(f"no answer from {host}:{port}{path} after {timeout:.0f} s")


def start_catalog(ws: Workspace, port: int) -> subprocess.Popen[bytes]:
    from catalog import pycsw

    cmd, env = pycsw.server_command(ws, "127.0.0.1", port)
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


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run(ws: Workspace, host: str, port: int, workers: int = 2, threads: int = 8) -> None:
    """Start the catalog process and the front; blocks until Ctrl-C / SIGTERM."""
    from gunicorn.app.base import BaseApplication

    csw_port = free_port()
    catalog = start_catalog(ws, csw_port)

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

        def load(self) -> NodeApp:
            return NodeApp(ws, csw_port)

    master = os.getpid()
    try:
        Front().run()
    finally:
        if os.getpid() == master:  # forked workers unwind through here too
            stop(catalog)
