"""A FastCGI client for MapServer's FastCGI processes (the production topology).

Why the node asks MapServer itself rather than handing the request to nginx with X-Accel-Redirect:
MapServer answers a failure of its database (a replica killed mid-request) with an exception report and
HTTP 200 — an OGC habit a client cannot tell from a map — and nginx cannot look inside an answer. The
node reads the answer's head, asks again once when it names a database failure, and otherwise answers
503 with Retry-After (:mod:`geoportal.mapserver_answer`).

One request per connection (no FCGI_KEEP_CONN: a MapServer process serves one connection at a time and
closes it after the answer). The end of an answer is MapServer's FCGI_END_REQUEST, never the connection
closing: a process killed while answering is a :class:`FastCGIBroken`, not a short image passed off as
complete. A process that cannot be reached, or dies before its first byte, is skipped for the next one
(what nginx's ``fastcgi_next_upstream error`` did); only the FastCGI record layer (FastCGI 1.0, the
responder role) is implemented — about a hundred lines of a protocol that has not changed since 1996.
"""

from __future__ import annotations

import itertools
import socket
import struct
import threading
import time
from typing import Iterator, Mapping, Sequence

VERSION = 1
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
RESPONDER = 1
REQUEST_ID = 1
HEADER = struct.Struct("!BBHHBx")
MAX_CONTENT = 65535


class FastCGIError(OSError):
    """No MapServer FastCGI process answered (each refused, was missing or died before answering)."""


class FastCGIBroken(FastCGIError):
    """A MapServer process stopped in the middle of its answer (killed, or the connection cut)."""


def _record(kind: int, content: bytes = b"") -> bytes:
    out = []
    for i in range(0, max(len(content), 1), MAX_CONTENT):
        part = content[i:i + MAX_CONTENT]
        pad = -len(part) % 8
        out.append(HEADER.pack(VERSION, kind, REQUEST_ID, len(part), pad) + part + b"\0" * pad)
    return b"".join(out)


def _length(n: int) -> bytes:
    return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)


def encode_params(params: Mapping[str, str]) -> bytes:
    """FastCGI name-value pairs (lengths of 1 or 4 bytes, values as Latin-1 like CGI's environment)."""
    out = bytearray()
    for name, value in params.items():
        n, v = name.encode("latin-1"), value.encode("latin-1", "replace")
        out += _length(len(n)) + _length(len(v)) + n + v
    return bytes(out)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise FastCGIBroken("the MapServer process closed the connection before the end of its answer")
        buf += chunk
    return bytes(buf)


def _connect(endpoint: str, timeout: float) -> socket.socket:
    """``endpoint``: a Unix socket path (``/…``) or ``host:port``."""
    if endpoint.startswith("/"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(endpoint)
        except OSError:
            sock.close()
            raise
        return sock
    host, _, port = endpoint.rpartition(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


class FastCGIUpstreams:
    """MapServer's FastCGI processes, asked in turn (round robin), skipping one that is down."""

    def __init__(self, endpoints: Sequence[str], connect_timeout: float = 5.0, read_timeout: float = 120.0):
        if not endpoints:
            raise ValueError("no MapServer FastCGI endpoint given")
        self.endpoints = list(endpoints)
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self._next = itertools.count()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FastCGIUpstreams({self.endpoints!r})"

    def _order(self) -> list[str]:
        with self._lock:
            start = next(self._next) % len(self.endpoints)
        return self.endpoints[start:] + self.endpoints[:start]

    def request(self, params: Mapping[str, str], stdin: bytes = b"") -> Iterator[bytes]:
        """The responder's stdout (CGI headers, blank line, body) in chunks as they come.

        Raises :class:`FastCGIError` when no process could be asked (after every endpoint was tried and a
        short pause, then each once more: both processes may be restarting), :class:`FastCGIBroken` when
        the process answering stops before FCGI_END_REQUEST."""
        tried: list[str] = []
        for round_ in range(2):
            for endpoint in self._order():
                try:
                    sock = _connect(endpoint, self.connect_timeout)
                except OSError as e:
                    tried.append(f"{endpoint}: {e}")
                    continue
                answer = self._exchange(sock, params, stdin)
                try:
                    first = next(answer)
                except StopIteration:
                    return
                except OSError as e:  # died before its first byte: nothing was answered, ask the next one
                    tried.append(f"{endpoint}: {e}")
                    continue
                yield first
                yield from answer
                return
            if round_ == 0:
                time.sleep(0.5)
        raise FastCGIError("no MapServer FastCGI process answered (" + "; ".join(tried[-4:]) + ")")

    def _exchange(self, sock: socket.socket, params: Mapping[str, str], stdin: bytes) -> Iterator[bytes]:
        try:
            sock.settimeout(self.read_timeout)
            sock.sendall(_record(BEGIN_REQUEST, struct.pack("!HB5x", RESPONDER, 0))
                         + _record(PARAMS, encode_params(params)) + _record(PARAMS)
                         + (_record(STDIN, stdin) if stdin else b"") + _record(STDIN))
            while True:
                _, kind, _, length, pad = HEADER.unpack(_recv_exactly(sock, HEADER.size))
                content = _recv_exactly(sock, length + pad)[:length]
                if kind == STDOUT and content:
                    yield content
                elif kind == END_REQUEST:
                    return
                # STDERR: MapServer writes its errors to MS_ERRORFILE; anything else there is dropped
        except socket.timeout as e:
            raise FastCGIBroken(f"the MapServer process did not finish within {self.read_timeout:.0f} s; "
                                "see MS_ERRORFILE") from e
        except FastCGIBroken:
            raise
        except OSError as e:
            raise FastCGIBroken(f"the MapServer process's connection failed ({e})") from e
        finally:
            sock.close()
