"""What MapServer answered, read far enough to decide whether to pass it on.

MapServer reports an error as an OGC exception report (WMS 1.3.0: HTTP 200, ``text/xml``; WFS 2.0: HTTP
400) or, in tile mode, as an HTML page — also when the error is its database's: a PostGIS connection cut
under a request (the replica killed, a backend ended) gives ``msPostGISLayerWhichShapes(): Query error``.
Passed on, that is a map-shaped wrong answer (a 200 a client takes for the map) or a 400 that tells the
client its request was wrong and not to repeat it. :func:`database_failure` recognises such an answer
from its head; the caller (``geoportal.serve.MapServerCGI``) asks once more — a fresh connection
(``CLOSE_CONNECTION=ALWAYS``) finds the primary — and otherwise answers 503 with Retry-After.

Other exception reports (a layer that does not exist, a bad BBOX) are the client's and pass unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator
from urllib.parse import parse_qsl, urlencode

HEAD_BYTES = 65536  # an exception report is far smaller; a map or GML answer is decided from its start
EXCEPTION_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:Service)?ExceptionReport\b"  # WMS, OWS (WFS 2.0)
                            rb"|<TITLE>MapServer Message</TITLE>")  # tile mode's HTML page
# every PostGIS-layer function of MapServer names itself in its errors (msPostGISLayerOpen,
# msPostGISLayerWhichShapes, msPostGISLayerGetItems, …): the data could not be read from the database
DATABASE_ERROR = re.compile(rb"msPostGIS\w*\(\)")
RETRY_AFTER_SECONDS = 2


@dataclass
class Answer:
    """MapServer's CGI output split into status, headers and body: the body's first ``HEAD_BYTES`` are
    read (``head``), the rest is still to come (``rest``)."""

    status: str
    headers: list[tuple[str, str]]
    head: bytes
    rest: Iterator[bytes] = field(default_factory=lambda: iter(()))

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k.lower() == "content-type"), "")

    def body(self) -> Iterator[bytes]:
        if self.head:
            yield self.head
        yield from self.rest

    def close(self) -> None:
        close = getattr(self.rest, "close", None)
        if close is not None:
            close()


@dataclass
class Unanswered:
    """No answer of MapServer's to pass on: what the node answers instead (a 5xx a client may repeat)."""

    status: str
    text: str
    headers: list[tuple[str, str]] = field(default_factory=list)


def read_answer(output: Iterable[bytes]) -> Answer:
    """Split CGI output (``Status:`` and other header lines, a blank line, the body) and read the body's head.

    Raises what ``output`` raises while it is read (a FastCGI process that died before the head was
    complete): nothing has been answered yet, so the caller can still ask again."""
    it = iter(output)
    buf = b""
    while b"\r\n\r\n" not in buf and b"\n\n" not in buf:
        chunk = next(it, None)
        if chunk is None:
            break
        buf += chunk
    crlf, lf = buf.find(b"\r\n\r\n"), buf.find(b"\n\n")
    ends = [(i, 4) for i in (crlf,) if i >= 0] + [(i, 2) for i in (lf,) if i >= 0]
    end, sep = min(ends) if ends else (len(buf), 0)
    status, headers = "200 OK", []
    for line in buf[:end].decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if not name.strip():
            continue
        if name.strip().lower() == "status":
            status = value.strip()
        else:
            headers.append((name.strip(), value.strip()))
    head = buf[end + sep:]
    while len(head) < HEAD_BYTES:
        chunk = next(it, None)
        if chunk is None:
            break
        head += chunk
    return Answer(status, headers, head, it)


def database_failure(answer: Answer) -> bool:
    """Whether MapServer's answer reports that it could not read its database (see the module docstring).
    A map, a GML answer or a client's error is not: only an error document naming a PostGIS function."""
    if answer.content_type.split(";")[0].strip().lower().startswith("image/"):
        return False
    return bool(EXCEPTION_ROOT.search(answer.head) and DATABASE_ERROR.search(answer.head))


def is_error_document(answer: Answer) -> bool:
    """An exception report or MapServer's HTML error page, rather than the thing asked for."""
    if answer.content_type.split(";")[0].strip().lower().startswith("image/"):
        return False
    return bool(EXCEPTION_ROOT.search(answer.head))


def without_image_exceptions(query: str) -> str | None:
    """``query`` with an ``EXCEPTIONS`` parameter that asks for errors drawn into the image (INIMAGE,
    BLANK) taken out, so that MapServer reports a failure as a document the node can read; None when
    the query has none. A client's own error is then asked for again with the client's query."""
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs
            if not (k.lower() == "exceptions" and re.search(r"inimage|blank", v, re.I))]
    return urlencode(kept) if len(kept) != len(pairs) else None
