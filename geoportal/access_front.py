"""The access front: who is asking, resolved once per request before any service runs.

    AccessFront(NodeApp(...), NodeAccess(cfg, ws.root), node_id)

For every request the front reads, in this order,

* ``Authorization: Bearer <JWT>`` — a token of this node or of an issuer in ``access.trusted_issuers``
  (``NodeAccess.principal``); a configured catalog publisher token (``GEOPORTAL_CSW_TOKENS``) passes
  through untouched for the CatalogGate, as anonymous;
* ``Authorization: Basic`` — name and password checked by the same rate-limited, audited
  :func:`access.passwords.login` as the web form (what QGIS's authentication configuration, OWSLib and
  GDAL send); a good credential is remembered in this process only as a MAC under a key made at start,
  while it is used (forgotten after a minute unused, checked again after an hour at most), so a WMS client
  drawing tiles does not pay argon2 per tile nor write a login per tile to the audit; the threads that
  bring one credential at once wait for one check of it instead of each paying argon2;
* the session cookie set by ``/login`` (:mod:`access.sessions`);

and puts the :class:`~access.principal.Principal` under ``access.web.PRINCIPAL``, the
:class:`~access.node.NodeAccess` under ``access.web.NODE_ACCESS`` and the request's CSRF guard under
``access.sessions.CSRF``. Credentials that are present but wrong are never ignored (fail closed): 401 with
``WWW-Authenticate`` and one line saying why, 429 with ``Retry-After`` when the login is locked out. A stale
session cookie (logged out, expired, user disabled) is not an error: the browser is anonymous again and
the cookie is deleted.

Caching, owned here for every service: every response gets ``Vary: Authorization, Cookie``; a response to
someone logged in is ``private, no-store`` (or the service's own ``no-store``), so that no cache — shared,
or a client's own that ignores ``Vary`` — hands one user's answer to another; a response to a request that
carried credentials but is anonymous (a catalog publisher's token) or that a service marked personal is made
``private`` (``public`` and ``s-maxage`` removed). Anonymous public responses keep their caching.

A service that refuses a caller answers with :func:`deny` (401 for anonymous, with the challenge that makes
QGIS send its credentials; 403 for someone known); any 401 without ``WWW-Authenticate`` gets the challenge
added here. Forms that change state put ``csrf_of(environ).token`` in a ``csrf_token`` field and check it
with ``csrf_of(environ).valid(...)`` (:mod:`access.sessions`).

The pages of logging in (``/login``, ``/logout``, ``/whoami``, ``/.well-known/jwks.json``) are in
:mod:`geoportal.login_pages`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import secrets
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote

from access.errors import AccessError, AuthenticationError, BadCredentials, LoginLocked, TokenError, TokenMalformed
from access.node import NodeAccess
from access.principal import ANONYMOUS, Principal
from access.sessions import CSRF, RequestCsrf, SessionSecret, SessionStore
from access.web import NODE_ACCESS, PRINCIPAL
from geoportal.access_request import (  # noqa: F401  (re-exported for services)
    IDENTITY,
    NO_CHALLENGE,
    PERSONAL,
    Identity,
    cookie_header,
    is_https,
    parse_cookies,
    wants_html,
)
from geoportal.errors import GeoportalError

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

MAX_AUTHORIZATION = 8192
MAX_NAME = 128
MAX_PASSWORD = 1024
BASIC_CACHE_SECONDS = 60.0
BASIC_CACHE_MAX_AGE = 3600.0
BASIC_CACHE_SIZE = 1024


def private_cache_control(value: str | None) -> str:
    """``value`` made safe for one user's answer: ``private`` added, ``public``/``s-maxage`` removed;
    ``no-store`` is kept as it is; no value at all becomes ``private, no-cache``."""
    if not value or not value.strip():
        return "private, no-cache"
    directives = [d.strip() for d in value.split(",") if d.strip()]
    low = [d.lower() for d in directives]
    if "no-store" in low and "public" not in low:
        return value
    kept = [d for d in directives if d.lower() != "public" and not d.lower().startswith("s-maxage")]
    if "private" not in low:
        kept.insert(0, "private")
    return ", ".join(kept)


def logged_in_cache_control(value: str | None) -> str:
    """The ``Cache-Control`` of an answer to someone logged in: never stored (``private, no-store``, or the
    service's own ``no-store``). ``private`` with ``Vary`` is not enough: clients with a cache of their own
    ignore ``Vary`` (QGIS kept a logged-in layer's WFS answer and gave it to the same machine's anonymous
    connection), so an answer made for a user's view is not kept anywhere."""
    if value and "no-store" in value.lower() and "public" not in value.lower():
        return value
    return "private, no-store"


def add_vary(value: str | None) -> str:
    if value and value.strip() == "*":
        return "*"
    have = [v.strip() for v in (value or "").split(",") if v.strip()]
    low = {v.lower() for v in have}
    return ", ".join(have + [v for v in ("Authorization", "Cookie") if v.lower() not in low])


def _quoted(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class BasicCache:
    """Basic credentials that logged in lately, kept as MACs (under a per-process key) of the credential as
    sent, with the user and principal they stand for — so a hit costs one keyed hash and the re-read of the
    user, and no decoding.

    A credential is kept while it is used: forgotten ``seconds`` after its last use, and after ``max_age``
    seconds in any case (then the password is checked, and the login audited, again). A client that keeps
    asking (a WMS client drawing tiles, a harvester paging) would otherwise pay argon2 — and every thread of
    a worker that brought the credential in that moment would — once a minute. The password itself is never
    kept; the user is re-read on every hit, so a disabled user is refused at once, and a credential is good
    only while the stored password hash is the one it logged in against (after ``geoportal users passwd``
    the old password stops working at once). Bounded, thread-safe (gunicorn's gthread workers)."""

    def __init__(self, seconds: float = BASIC_CACHE_SECONDS, size: int = BASIC_CACHE_SIZE,
                 max_age: float = BASIC_CACHE_MAX_AGE, clock: Callable[[], float] = time.monotonic):
        self.seconds, self.size, self.max_age, self.clock = seconds, size, max_age, clock
        self._key = secrets.token_bytes(32)
        # mac → (until, logged in at, name, stamp: the stored password hash then, the user, its principal)
        self._entries: dict[bytes, tuple[float, float, str, str, Any, Principal]] = {}
        self._checking: dict[bytes, threading.Event] = {}
        self._lock = threading.Lock()

    def mac(self, credential: str) -> bytes:
        """The key of a credential (the Basic value as sent): a MAC under the process's key (keyed BLAKE2b),
        so the cache never holds a password. Not HMAC-SHA256: OpenSSL 3's one-shot HMAC fetches its
        implementation on every call, ~40 µs of CPU in a served request against ~1.5 µs in a loop."""
        return hashlib.blake2b(credential.encode("utf-8", "surrogateescape"), key=self._key, digest_size=32).digest()

    def get(self, mac: bytes) -> tuple[str, str, Any, Principal] | None:
        """(name, stamp, user, principal) of a credential seen lately, else None; a hit keeps it another
        ``seconds`` (within ``max_age`` of its login)."""
        now = self.clock()
        with self._lock:
            hit = self._entries.get(mac)
            if hit is None:
                return None
            until, since, name, stamp, user, principal = hit
            if until < now:
                del self._entries[mac]
                return None
            self._entries[mac] = (min(now + self.seconds, since + self.max_age), since, name, stamp, user,
                                  principal)
            return name, stamp, user, principal

    def put(self, mac: bytes, name: str, stamp: str, user: Any, principal: Principal) -> None:
        now = self.clock()
        with self._lock:
            since = self._entries[mac][1] if mac in self._entries else now
            if len(self._entries) >= self.size and mac not in self._entries:
                for k in [k for k, e in self._entries.items() if e[0] < now] or list(self._entries)[:1]:
                    del self._entries[k]
            self._entries[mac] = (min(now + self.seconds, since + self.max_age), since, name, stamp, user,
                                  principal)

    def forget(self, name: str) -> None:
        with self._lock:
            for k in [k for k, e in self._entries.items() if e[2] == name]:
                del self._entries[k]

    @contextmanager
    def checking(self, mac: bytes) -> Iterator[bool]:
        """One check of a credential at a time: True for the thread that is to check it (the others wait
        until it is done, then get False and look in the cache again)."""
        with self._lock:
            running = self._checking.get(mac)
            if running is None:
                done = self._checking[mac] = threading.Event()
        if running is not None:
            running.wait()
            yield False
            return
        try:
            yield True
        finally:
            with self._lock:
                del self._checking[mac]
            done.set()


def decode_basic(value: str) -> tuple[str, str]:
    """Name and password of a Basic credential (RFC 7617; UTF-8, or Latin-1 from older clients)."""
    try:
        raw = base64.b64decode(value.strip().encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeError):
        raise BadCredentials("the Basic credentials are not base64 of 'name:password'") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    name, colon, password = text.partition(":")
    if not colon or not name:
        raise BadCredentials("the Basic credentials are not 'name:password'")
    if len(name) > MAX_NAME or len(password) > MAX_PASSWORD or any(ord(c) < 32 for c in name):
        raise BadCredentials("login refused: wrong name or password (or the account is disabled)")
    return name, password


class AccessFront:
    """WSGI middleware: resolves the caller, serves the login pages, keeps caches from mixing users."""

    def __init__(self, app: WSGIApp, access: NodeAccess, node_id: str,
                 passthrough_bearer: Iterable[str] = ()):
        from geoportal.login_pages import LoginPages

        self.app, self.access, self.node_id = app, access, node_id
        self.realm = f"geoportal {node_id}"
        self.cookie = f"gp_session_{node_id}"
        self.pre_cookie = f"gp_pre_{node_id}"
        self.sessions = SessionStore(access.root / "sessions.db")
        self.secret = SessionSecret(access.root).load()
        self.basic = BasicCache()
        self.passthrough = [t.encode() for t in passthrough_bearer if t]
        self.pages = LoginPages(self)

    # -- who is asking -------------------------------------------------------------------------------

    def identify(self, environ: Environ) -> Identity:
        """The identity of a request; AuthenticationError (401/429) when its credentials are refused."""
        auth = environ.get("HTTP_AUTHORIZATION", "").strip()
        cookie = environ.get("HTTP_COOKIE")
        raw = parse_cookies(cookie).get(self.cookie) if cookie else None
        ident = Identity(credentialed=bool(auth) or raw is not None)
        if auth:
            if len(auth) > MAX_AUTHORIZATION:
                raise TokenMalformed(f"the Authorization header is longer than {MAX_AUTHORIZATION} characters")
            scheme, _, value = auth.partition(" ")
            scheme = scheme.lower()
            if scheme == "basic":  # first: what QGIS, GDAL and OWSLib send with every request
                ident.principal, ident.via = self._basic(value, environ), "basic"
            elif scheme == "bearer":
                if self._is_publisher(value.strip()):
                    ident.via = "publisher"
                    return ident
                ident.principal, ident.via = self.access.principal("Bearer " + value.strip()), "bearer"
            else:
                raise TokenMalformed(f"the Authorization scheme '{scheme[:20]}' is not accepted here; "
                                     "use Basic (name and password) or Bearer (a token)")
            return ident
        if raw is not None:
            session = self.sessions.get(raw)
            user = self.access.users.get(session.user) if session else None
            if session is None or user is None or user.disabled:
                ident.clear_cookie = True  # logged out, expired or disabled: anonymous again
                return ident
            ident.principal, ident.via = user.principal(), "session"
            ident.session, ident.session_cookie = session, raw
        return ident

    def _is_publisher(self, token: str) -> bool:
        t = token.encode("utf-8", "surrogateescape")
        return any(hmac.compare_digest(t, p) for p in self.passthrough)

    def _basic(self, value: str, environ: Environ) -> Principal:
        mac = self.basic.mac(value)
        while True:
            principal = self._remembered(mac)
            if principal is not None:
                return principal
            with self.basic.checking(mac) as mine:
                if not mine:  # another thread checked this credential meanwhile: look again
                    continue
                name, password = decode_basic(value)
                principal = self.login(name, password, self.address(environ), via="basic")
                user = self.access.users.get(name)
                if user is not None:
                    self.basic.put(mac, name, user.password_hash, user, principal)
                return principal

    def _remembered(self, mac: bytes) -> Principal | None:
        """The principal of a credential that logged in lately, while its user may still log in with it."""
        hit = self.basic.get(mac)
        if hit is None:
            return None
        name, stamp, known, principal = hit
        user = self.access.users.get(name)
        if user is known:  # the same stored user as at the login (the store keeps it while nothing changed)
            return principal
        if user is not None and not user.disabled and hmac.compare_digest(user.password_hash, stamp):
            principal = user.principal()
            self.basic.put(mac, name, stamp, user, principal)
            return principal
        self.basic.forget(name)
        return None

    def login(self, name: str, password: str, address: str, via: str) -> Principal:
        """The one password check of the web (``via`` form or basic): rate-limited and audited."""
        from access.passwords import login

        return login(self.access.users, self.access.audit, self.access.config.login, name, password, address,
                     via=via)

    @staticmethod
    def address(environ: Environ) -> str:
        """The client's address as the socket saw it (X-Forwarded-For is not trusted: it would let anyone
        dodge the per-address rate limit)."""
        return str(environ.get("REMOTE_ADDR") or "unknown")[:64]

    def request_csrf(self, environ: Environ, ident: Identity) -> RequestCsrf:
        if ident.session is not None:
            return RequestCsrf(self.secret, "s:" + ident.session.key)
        pre = parse_cookies(environ.get("HTTP_COOKIE", "")).get(self.pre_cookie, "")
        if 20 <= len(pre) <= 64 and pre.replace("-", "").replace("_", "").isalnum():
            return RequestCsrf(self.secret, "p:" + pre)
        return RequestCsrf(self.secret, None, new_binding=True)

    # -- WSGI ----------------------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            ident = self.identify(environ)
        except LoginLocked as e:
            return self.refuse(environ, start_response, "429 Too Many Requests", str(e),
                               [("Retry-After", str(e.retry_after))])
        except AuthenticationError as e:
            return self.refuse(environ, start_response, "401 Unauthorized", str(e), self.challenge(e))
        except AccessError as e:
            return self.refuse(environ, start_response, f"{e.http_status} Refused", str(e), [])
        except GeoportalError as e:  # the user or session store cannot be read
            return self.refuse(environ, start_response, "503 Service Unavailable", str(e), [])
        environ = dict(environ)
        environ[PRINCIPAL], environ[NODE_ACCESS], environ[IDENTITY] = ident.principal, self.access, ident
        csrf = environ[CSRF] = self.request_csrf(environ, ident)
        wrapped = self._start(environ, start_response, ident, csrf)
        if environ.get("PATH_INFO", "") in self.pages.paths:
            return self.pages(environ, wrapped)
        return self.app(environ, wrapped)

    def challenge(self, error: Exception | None = None) -> list[tuple[str, str]]:
        """The ``WWW-Authenticate`` headers of a 401: Basic (what QGIS, OWSLib and GDAL answer), and Bearer
        with the reason when a token was refused."""
        headers = [("WWW-Authenticate", f"Basic realm={_quoted(self.realm)}, charset=\"UTF-8\"")]
        if isinstance(error, TokenError):
            desc = str(error).encode("ascii", "replace").decode().replace('"', "'")[:200]
            headers.append(("WWW-Authenticate",
                            f'Bearer realm={_quoted(self.realm)}, error="invalid_token", error_description="{desc}"'))
        return headers

    def refuse(self, environ: Environ, start_response: StartResponse, status: str, message: str,
               headers: list[tuple[str, str]]) -> list[bytes]:
        """A one-line refusal, never cached, the same for every service."""
        body = (message.strip().splitlines()[0] if message.strip() else status).encode("utf-8") + b"\n"
        cookies = parse_cookies(environ.get("HTTP_COOKIE", ""))
        extra = []
        if self.cookie in cookies and status.startswith("401"):  # whatever failed, the cookie is not trusted
            extra.append(("Set-Cookie", cookie_header(environ, self.cookie, "", 0)))
        start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                                ("Cache-Control", "no-store"), ("Vary", "Authorization, Cookie"),
                                *headers, *extra])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _start(self, environ: Environ, start_response: StartResponse, ident: Identity,
               csrf: RequestCsrf) -> StartResponse:
        def start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            logged_in = not ident.principal.is_anonymous
            personal = logged_in or ident.credentialed or bool(environ.get(PERSONAL))
            cc = vary = None
            challenged = False
            kept = []
            for k, v in headers:  # one pass: this runs for every answer of the node
                low = k.lower()
                if low == "vary":
                    vary = v if vary is None else vary
                elif low == "cache-control":
                    cc = v if cc is None else cc
                    if not personal:
                        kept.append((k, v))
                else:
                    challenged = challenged or low == "www-authenticate"
                    kept.append((k, v))
            kept.append(("Vary", add_vary(vary)))
            if personal:
                kept.append(("Cache-Control",
                             logged_in_cache_control(cc) if logged_in else private_cache_control(cc)))
            if status.startswith("401") and not challenged and not environ.get(NO_CHALLENGE):
                kept.extend(self.challenge())
            if ident.clear_cookie:
                kept.append(("Set-Cookie", cookie_header(environ, self.cookie, "", 0)))
            if csrf.new_binding and csrf.issued:
                kept.append(("Set-Cookie", cookie_header(environ, self.pre_cookie, csrf.binding[2:], 86400)))
            return start_response(status, kept, *exc)

        return start


def deny(environ: Environ, start_response: StartResponse, reason: str) -> list[bytes]:
    """How a service refuses what the rules do not allow this caller: anonymous → 401 (the front adds the
    Basic challenge, so QGIS, OWSLib and GDAL send their credentials; a browser asking for HTML gets a
    page with a link to the login form instead of a dialog), someone known → 403. ``reason`` is one line
    and must not reveal what is being withheld beyond what the caller asked for."""
    principal = environ.get(PRINCIPAL, ANONYMOUS)
    anonymous = not isinstance(principal, Principal) or principal.is_anonymous
    status = "401 Unauthorized" if anonymous else "403 Forbidden"
    if anonymous and wants_html(environ) and not environ.get("HTTP_AUTHORIZATION"):
        environ[NO_CHALLENGE] = True
        here = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
        if environ.get("QUERY_STRING"):
            here += "?" + quote(environ["QUERY_STRING"], safe="=&%+")
        body = (f'<!doctype html><html lang="uk"><meta charset="utf-8"><meta name="viewport" '
                f'content="width=device-width, initial-scale=1"><title>Потрібен вхід / Login needed</title>'
                f"<p>{html.escape(reason)}</p><p><a href=\"/login?next={html.escape(quote(here, safe=''))}\">"
                "Увійти / Log in</a></p></html>").encode("utf-8")
        ctype = "text/html; charset=utf-8"
    else:
        line = (reason.strip().splitlines() or ["access refused"])[0]
        body, ctype = line.encode("utf-8") + b"\n", "text/plain; charset=utf-8"
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
    return [body]


def wrap(app: WSGIApp, cfg: Any, ws_root: Any, passthrough_bearer: Iterable[str] = ()) -> AccessFront:
    """The node's app behind its access front (what ``geoportal serve`` runs)."""
    return AccessFront(app, NodeAccess(cfg, ws_root), cfg.node.id, passthrough_bearer)
