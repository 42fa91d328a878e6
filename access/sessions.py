"""Web sessions and CSRF tokens: what a browser holds after logging in at ``/login``.

A session is opaque: the cookie carries 32 random bytes, the node keeps only their SHA-256 with the user
name and the expiry, in ``<workspace>/sessions.db`` (mode 0600). Logging out deletes the row, so an old
cookie stops working at once — a signed, self-contained cookie could not be taken back. Each request
re-reads the user, so a user disabled or demoted since the login is disabled or demoted in the session too.

CSRF tokens are HMAC-SHA256 over the session (or, before a login, over a random pre-session cookie) with a
per-node secret (``<workspace>/keys/session.secret``, mode 0600, never printed): a form posted from another
site cannot carry the right token, and a token copied from one session is worthless in another. Services
with forms of their own read the token of the request with :func:`csrf_of`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from access.errors import AccessError
from access.secret_files import create_private, require_private
from geoportal.errors import StoreError

#: environ key under which the access front puts the request's :class:`RequestCsrf`
CSRF = "geoportal.csrf"
#: the name of the form field that carries the CSRF token, on every state-changing form of the node
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Session:
    """One logged-in browser: the user it stands for and until when (epoch seconds)."""

    key: str  # SHA-256 of the cookie value; the value itself is never stored
    user: str
    created: float
    expires: float


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()


def _private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


class SessionStore:
    """Server-side sessions of one node in an SQLite file of its workspace (shared by all its workers)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            _private_file(self.path)
        except OSError as e:
            raise StoreError(
                f"{self.path}: cannot create the node's session database ({e.strerror}); give a "
                "workspace (--workdir) the node may write"
            ) from None
        self._run(
            "CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, user TEXT NOT NULL, "
            "created REAL NOT NULL, expires REAL NOT NULL)"
        )

    def _run(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            conn = sqlite3.connect(self.path, timeout=10)
            try:
                with conn:
                    return conn.execute(query, params).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise StoreError(
                f"{self.path}: the node's session database cannot be read or written ({e}); check the "
                "file's owner, permissions and free space"
            ) from None

    def create(self, user: str, ttl: int, now: float | None = None) -> tuple[str, Session]:
        """A new session for ``user`` lasting ``ttl`` seconds: the cookie value (shown once) and the row."""
        now = time.time() if now is None else now
        raw = secrets.token_urlsafe(32)
        session = Session(key=_digest(raw), user=user, created=now, expires=now + ttl)
        self._run(
            "INSERT INTO sessions (key, user, created, expires) VALUES (?, ?, ?, ?)",
            (session.key, user, session.created, session.expires),
        )
        self._run("DELETE FROM sessions WHERE expires < ?", (now,))  # keep the table small
        return raw, session

    def get(self, raw: str, now: float | None = None) -> Session | None:
        """The live session of a cookie value, or None (unknown, logged out or expired)."""
        if not raw or len(raw) > 256:
            return None
        now = time.time() if now is None else now
        rows = self._run("SELECT key, user, created, expires FROM sessions WHERE key = ?", (_digest(raw),))
        if not rows or rows[0][3] <= now:
            return None
        return Session(*rows[0])

    def revoke(self, raw: str) -> bool:
        """Forget the session of a cookie value (logout); True if there was one."""
        key = _digest(raw)
        found = bool(self._run("SELECT 1 FROM sessions WHERE key = ?", (key,)))
        self._run("DELETE FROM sessions WHERE key = ?", (key,))
        return found

    def revoke_user(self, user: str) -> int:
        """Forget every session of ``user`` (e.g. after a password change); how many there were."""
        n = len(self._run("SELECT 1 FROM sessions WHERE user = ?", (user,)))
        self._run("DELETE FROM sessions WHERE user = ?", (user,))
        return n


class SessionSecret:
    """The node's secret for CSRF tokens, ``<workspace>/keys/session.secret``, made on first use."""

    def __init__(self, workspace_root: Path):
        self.path = Path(workspace_root) / "keys" / "session.secret"

    def load(self) -> bytes:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self.path.parent, 0o700)
            create_private(self.path, secrets.token_bytes(32))
        require_private(self.path, "session secret",
                        "or delete it: a new one is made, and open forms must be reloaded")
        data = self.path.read_bytes()
        if len(data) < 32:
            raise AccessError(f"{self.path}: the session secret is too short; delete it to make a new one")
        return data


def csrf_token(secret: bytes, binding: str) -> str:
    """The CSRF token of a session key or pre-session nonce."""
    return hmac.new(secret, b"csrf\0" + binding.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


@dataclass
class RequestCsrf:
    """The CSRF token of one request, bound to its session (or pre-session cookie).

    ``token`` goes into a hidden ``csrf_token`` field of every form that changes something; :meth:`valid`
    checks what a POST brought back. ``new_binding`` is set when the request had no binding cookie yet:
    the front then sets the pre-session cookie on the response, so the token in the page matches the
    browser's next POST."""

    secret: bytes
    bound: str | None  # "s:<session>" / "p:<pre-session cookie>"; None: a new binding, made when first used
    new_binding: bool = False
    issued: bool = False  # the token went into a page: a new binding must then reach the browser

    @property
    def binding(self) -> str:
        """What the token is bound to; a new pre-session binding is drawn only when a page needs a token
        (most requests — every tool's request with credentials — never do)."""
        if self.bound is None:
            self.bound = "p:" + secrets.token_urlsafe(24)
        return self.bound

    @property
    def token(self) -> str:
        self.issued = True
        return csrf_token(self.secret, self.binding)

    def valid(self, submitted: str | None) -> bool:
        if not submitted or self.new_binding:
            return False  # a fresh binding cannot have been in a form the browser was given before
        return hmac.compare_digest(submitted.encode("utf-8", "surrogateescape"), self.token.encode())


def csrf_of(environ: dict[str, Any]) -> RequestCsrf | None:
    """The CSRF guard the access front attached to this request (None when no front ran: refuse forms)."""
    c = environ.get(CSRF)
    return c if isinstance(c, RequestCsrf) else None
