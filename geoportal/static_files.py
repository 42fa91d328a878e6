"""Files of a folder served over WSGI (the node's /downloads/ and /passport/), with client errors as 4xx.

A WSGI PATH_INFO is the request's bytes decoded as latin-1; they are re-read as UTF-8 here, so file names
in Cyrillic are found and bytes that are not UTF-8 get a 400, not a lookup of mojibake. A NUL byte, a
``..`` segment or an over-long path is refused before the file system is asked. A folder answers its
``index.html`` if it has one, else a small HTML listing of its files with their sizes.
"""

from __future__ import annotations

import html
import mimetypes
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import quote

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
MAX_PATH = 1024
mimetypes.add_type("application/geopackage+sqlite3", ".gpkg")
mimetypes.add_type("application/atom+xml", ".atom")  # the decision register's feeds


def plain(start_response: StartResponse, status: str, text: str,
          headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = (text + "\n").encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                            *(headers or [])])
    return [body]


def content_type(name: str) -> str:
    """The Content-Type of a file by its name; text and XML are UTF-8 in a node."""
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype.endswith("xml"):
        ctype += "; charset=utf-8"
    return ctype


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


class StaticFiles:
    """Serves the files under ``root``; ``title`` names the folder in listings.

    With ``accel`` set (the production topology, geoportal.deploy), a file that passed every check here
    is answered with an ``X-Accel-Redirect`` to ``accel + <path>``, an internal nginx location over the
    same folder, and nginx sends the bytes."""

    accel: str = ""

    def __init__(self, root: Path, title: str = ""):
        self.root = root.resolve()
        self.title = title or root.name

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        raw = environ.get("PATH_INFO", "")
        if len(raw) > MAX_PATH:
            return plain(start_response, "414 URI Too Long", f"the path is longer than {MAX_PATH} characters")
        try:
            rel = raw.encode("latin-1").decode("utf-8")
        except UnicodeError:
            return plain(start_response, "400 Bad Request", "the path is not valid UTF-8: check the link")
        if "\x00" in rel:
            return plain(start_response, "400 Bad Request", "the path contains a NUL byte: check the link")
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        if ".." in parts:
            return plain(start_response, "400 Bad Request", "'..' is not allowed in a path")
        shown = environ.get("SCRIPT_NAME", "") + rel
        try:
            path = self.root.joinpath(*parts).resolve()
            inside = path == self.root or self.root in path.parents
            is_dir, is_file = inside and path.is_dir(), inside and path.is_file()
        except (OSError, ValueError):  # e.g. a name longer than the file system allows
            is_dir = is_file = False
        if is_dir:
            if not rel.endswith("/"):  # relative links in the folder's page need the slash
                name = parts[-1] if parts else environ.get("SCRIPT_NAME", "").rstrip("/").rpartition("/")[2]
                return plain(start_response, "301 Moved Permanently", f"see {shown}/",
                             [("Location", quote(name) + "/")])
            if (path / "index.html").is_file():
                return self._file(environ, start_response, path / "index.html")
            return self._listing(start_response, path, shown)
        if is_file:
            return self._file(environ, start_response, path)
        return plain(start_response, "404 Not Found", f"no such file: {shown}")

    def _file(self, environ: Environ, start_response: StartResponse, path: Path) -> Iterable[bytes]:
        if self.accel:
            rel = path.relative_to(self.root).as_posix()
            start_response("200 OK", [("Content-Type", content_type(path.name)), ("Content-Length", "0"),
                                      ("X-Accel-Redirect", self.accel + quote(rel))])
            return []
        f = path.open("rb")
        start_response("200 OK", [("Content-Type", content_type(path.name)),
                                  ("Content-Length", str(path.stat().st_size))])
        wrapper = environ.get("wsgi.file_wrapper")
        return wrapper(f, 65536) if wrapper else iter(lambda: f.read(65536), b"")

    def _listing(self, start_response: StartResponse, folder: Path, shown: str) -> list[bytes]:
        rows = []
        for entry in sorted(folder.iterdir(), key=lambda p: (not p.is_dir(), p.name)):
            if entry.name.startswith("."):
                continue
            name = entry.name + ("/" if entry.is_dir() else "")
            size = "" if entry.is_dir() else human_size(entry.stat().st_size)
            rows.append(f'<tr><td><a href="{html.escape(quote(name))}">{html.escape(name)}</a></td>'
                        f'<td class="size">{size}</td></tr>')
        title = html.escape(f"{self.title} — {shown}")
        page = ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>' + title + '</title>'
                '<style>body{font-family:sans-serif;margin:2em}td{padding:.2em 1em}.size{text-align:right}</style>'
                '</head><body><h1>' + title + '</h1><p><a href="../">↑</a></p><table>'
                + "".join(rows) + ("" if rows else "<tr><td>(empty)</td></tr>") + "</table></body></html>\n")
        body = page.encode("utf-8")
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]
