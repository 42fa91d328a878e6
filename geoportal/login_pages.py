"""The pages of logging in, behind the access front: ``/login``, ``/logout``, ``/whoami``, the JWKS.

    GET  /login[?next=/path]   the form (Ukrainian; English with ?lang=en or Accept-Language)
    POST /login                name, password, csrf_token, next → session cookie and 303 to ``next``
    GET  /logout               a button (logging out changes state, so it is a POST)
    POST /logout               csrf_token → the session is deleted on the node, the cookie too
    GET  /whoami[?f=json]      who the node thinks you are, and your roles
    GET  /.well-known/jwks.json   the node's public signing keys, for nodes that trust its tokens

Every form carries the request's CSRF token; a POST without the right one is a 403 that says to reload.
``next`` is followed only to a path on this node (no scheme, no host, no ``//``): anything else goes to
``/``, so the login cannot be used to send people elsewhere. Pages about the caller are ``no-store``.
"""

from __future__ import annotations

import html
import json
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import parse_qs, urlencode, urlsplit

from access.errors import BadCredentials, LoginLocked
from access.sessions import CSRF_FIELD, RequestCsrf
from geoportal.access_request import IDENTITY, NO_CHALLENGE, Identity, cookie_header

if TYPE_CHECKING:
    from geoportal.access_front import AccessFront

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
MAX_FORM = 16 * 1024

TEXT = {
    "uk": {
        "login": "Вхід", "name": "Ім’я користувача", "password": "Пароль", "submit": "Увійти",
        "logout": "Вийти", "whoami": "Хто я", "anonymous": "Ви не ввійшли.",
        "you_are": "Ви ввійшли як", "roles": "Ролі", "organisation": "Організація (КАТОТТГ)",
        "datasets": "Набори даних", "issuer": "Видавець токена", "via": "Спосіб входу",
        "expires": "Сесія дійсна до", "home": "На головну", "other": "English", "search": "Пошук даних",
        "bad": "Неправильне ім’я або пароль (або обліковий запис вимкнено).",
        "locked": "Забагато невдалих спроб. Спробуйте знову через {s} с.",
        "empty": "Вкажіть ім’я користувача та пароль.",
        "csrf": "Форма застаріла або надіслана з іншого сайту. Оновіть сторінку й спробуйте ще раз.",
        "logout_q": "Вийти з геопорталу на цьому пристрої?", "logged_out": "Ви вийшли.",
    },
    "en": {
        "login": "Log in", "name": "User name", "password": "Password", "submit": "Log in",
        "logout": "Log out", "whoami": "Who am I", "anonymous": "You are not logged in.",
        "you_are": "You are logged in as", "roles": "Roles", "organisation": "Organisation (KATOTTH)",
        "datasets": "Datasets", "issuer": "Token issuer", "via": "Logged in by",
        "expires": "Session valid until", "home": "Home", "other": "Українською", "search": "Search data",
        "bad": "Wrong name or password (or the account is disabled).",
        "locked": "Too many failed attempts. Try again in {s} s.",
        "empty": "Give a user name and a password.",
        "csrf": "The form is out of date or was sent from another site. Reload the page and try again.",
        "logout_q": "Log out of the geoportal on this device?", "logged_out": "You are logged out.",
    },
}

STYLE = """
body { font-family: system-ui, "DejaVu Sans", sans-serif; margin: 0; color: #1d2a33; background: #f6f8fa; }
header { background: #0b4f6c; color: #fff; padding: 1rem 1.25rem; }
header a { color: #fff; }
main { padding: 1rem; max-width: 28rem; margin: auto; }
form, .card { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 1rem; margin: 1rem 0; }
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input[type=text], input[type=password] { box-sizing: border-box; width: 100%; font: inherit; padding: .6rem;
  border: 1px solid #8c959f; border-radius: 6px; }
button { font: inherit; margin-top: 1rem; padding: .6rem 1.2rem; border: 0; border-radius: 6px;
  background: #0b4f6c; color: #fff; cursor: pointer; min-height: 2.75rem; }
.error { background: #ffebe9; border: 1px solid #cf222e; border-radius: 6px; padding: .6rem; }
.ok { background: #dafbe1; border: 1px solid #1a7f37; border-radius: 6px; padding: .6rem; }
dt { font-weight: 600; } dd { margin: 0 0 .5rem; }
nav a { margin-right: 1rem; }
nav form { display: inline-block; background: none; border: 0; padding: 0; margin: .5rem 0 0; }
nav input[type=search] { font: inherit; padding: .35rem .5rem; border: 1px solid #fff; border-radius: 6px; width: 12rem;
  max-width: 60vw; }
"""

ROLES = {"uk": {"anonymous": "анонімний відвідувач", "citizen": "зареєстрований громадянин",
                "official": "посадова особа", "custodian": "розпорядник даних", "admin": "адміністратор"},
         "en": {"anonymous": "anonymous visitor", "citizen": "registered citizen", "official": "official",
                "custodian": "data custodian", "admin": "administrator"}}
VIA = {"uk": {"session": "форма входу (сесія)", "basic": "HTTP Basic (ім’я й пароль)", "bearer": "токен (Bearer)"},
       "en": {"session": "login form (session)", "basic": "HTTP Basic (name and password)", "bearer": "token (Bearer)"}}

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def lang_of(environ: Environ) -> str:
    """``uk`` unless ``?lang=en``, or the browser prefers English to Ukrainian (Accept-Language)."""
    q = parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=50).get("lang", [""])[0].lower()
    if q in TEXT:
        return q
    best: tuple[float, str] = (-1.0, "uk")
    for part in environ.get("HTTP_ACCEPT_LANGUAGE", "").split(",")[:30]:
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower().split("-")[0]
        if tag not in TEXT:
            continue
        try:
            weight = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            continue
        if weight > best[0]:
            best = (weight, tag)
    return best[1]


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this node, else ``/`` (no open redirect)."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def wants_json(environ: Environ) -> bool:
    f = parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=50).get("f", [""])[0].lower()
    if f:
        return f == "json"
    accept = environ.get("HTTP_ACCEPT", "").lower()
    return "application/json" in accept and "text/html" not in accept


class LoginPages:
    """The login, logout and whoami pages and the JWKS of one node's access front."""

    paths = frozenset({"/login", "/logout", "/whoami", "/.well-known/jwks.json"})

    def __init__(self, front: "AccessFront"):
        self.front = front

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        allowed = ("GET", "HEAD", "POST") if path in ("/login", "/logout") else ("GET", "HEAD")
        if method not in allowed:
            body = f"{path} answers {', '.join(allowed)}\n".encode()
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain; charset=utf-8"),
                                                      ("Allow", ", ".join(allowed)),
                                                      ("Content-Length", str(len(body)))])
            return [body]
        handler = {"/login": self.login, "/logout": self.logout, "/whoami": self.whoami,
                   "/.well-known/jwks.json": self.jwks}[path]
        out = handler(environ, start_response)
        return [] if method == "HEAD" else out

    # -- helpers -------------------------------------------------------------------------------------

    def _page(self, environ: Environ, start_response: StartResponse, status: str, title: str, body: str,
              headers: list[tuple[str, str]] | None = None) -> list[bytes]:
        lang = lang_of(environ)
        t = TEXT[lang]
        other = "uk" if lang == "en" else "en"
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=50).items()
                 if k in ("next", "f")}
        switch = html.escape(urlencode({**query, "lang": other}))
        nav = (f'<nav><a href="/">{t["home"]}</a><a href="/whoami?lang={lang}">{t["whoami"]}</a>'
               f'<a href="?{switch}" lang="{other}" hreflang="{other}">{t["other"]}</a>'
               f'<form role="search" action="/search" method="get"><input name="q" type="search" maxlength="500" '
               f'aria-label="{t["search"]}" placeholder="{t["search"]}"></form></nav>')
        page = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
                f"<header>{nav}</header><main><h1>{html.escape(title)}</h1>{body}</main></body></html>")
        data = page.encode("utf-8")
        start_response(status, [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data))),
                                ("Cache-Control", "no-store"), ("Content-Security-Policy", CSP),
                                ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"),
                                ("X-Content-Type-Options", "nosniff"), ("Content-Language", lang),
                                *(headers or [])])
        return [data]

    def _form(self, environ: Environ) -> dict[str, str] | None:
        """The fields of an urlencoded POST (first value of each), or None when the body is not one."""
        ctype = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if ctype != "application/x-www-form-urlencoded" or not 0 <= length <= MAX_FORM:
            return None
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            return None
        return {k: v[0] for k, v in fields.items()}

    @staticmethod
    def _csrf(environ: Environ) -> RequestCsrf:
        from access.sessions import CSRF

        return environ[CSRF]  # type: ignore[no-any-return]

    # -- /login --------------------------------------------------------------------------------------

    def login_form(self, environ: Environ, start_response: StartResponse, status: str = "200 OK",
                   message: str = "", name: str = "", next_path: str = "/",
                   headers: list[tuple[str, str]] | None = None) -> list[bytes]:
        t = TEXT[lang_of(environ)]
        e = html.escape
        note = f'<p class="error" role="alert">{e(message)}</p>' if message else ""
        body = (f'{note}<form method="post" action="/login?lang={lang_of(environ)}">'
                f'<input type="hidden" name="{CSRF_FIELD}" value="{e(self._csrf(environ).token)}">'
                f'<input type="hidden" name="next" value="{e(next_path)}">'
                f'<label for="name">{t["name"]}</label>'
                f'<input type="text" id="name" name="name" value="{e(name)}" autocomplete="username" '
                'autocapitalize="none" spellcheck="false" required autofocus>'
                f'<label for="password">{t["password"]}</label>'
                '<input type="password" id="password" name="password" autocomplete="current-password" required>'
                f'<button type="submit">{t["submit"]}</button></form>')
        environ[NO_CHALLENGE] = True  # a 401 here must not make the browser ask for Basic credentials
        return self._page(environ, start_response, status, t["login"], body, headers)

    def login(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        t = TEXT[lang_of(environ)]
        if environ.get("REQUEST_METHOD") != "POST":
            nxt = safe_next(parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=50).get("next", ["/"])[0])
            return self.login_form(environ, start_response, next_path=nxt)
        form = self._form(environ)
        if form is None:
            return self.login_form(environ, start_response, "400 Bad Request", t["empty"])
        nxt = safe_next(form.get("next"))
        if not self._csrf(environ).valid(form.get(CSRF_FIELD)):
            return self.login_form(environ, start_response, "403 Forbidden", t["csrf"], form.get("name", "")[:128], nxt)
        name, password = form.get("name", "").strip(), form.get("password", "")
        if not name or not password or len(name) > 128 or len(password) > 1024:
            return self.login_form(environ, start_response, "400 Bad Request", t["empty"], name[:128], nxt)
        address = self.front.address(environ)
        try:
            principal = self.front.login(name, password, address, via="form")
        except LoginLocked as e:
            return self.login_form(environ, start_response, "429 Too Many Requests", t["locked"].format(s=e.retry_after),
                                   name, nxt, [("Retry-After", str(e.retry_after))])
        except BadCredentials:
            return self.login_form(environ, start_response, "401 Unauthorized", t["bad"], name, nxt)
        ttl = self.front.access.config.token_ttl
        raw, _ = self.front.sessions.create(principal.name, ttl)
        ident: Identity = environ[IDENTITY]
        if ident.session_cookie:  # a login over a live session replaces it
            self.front.sessions.revoke(ident.session_cookie)
        start_response("303 See Other", [("Location", nxt), ("Cache-Control", "no-store"), ("Content-Length", "0"),
                                         ("Set-Cookie", cookie_header(environ, self.front.cookie, raw, ttl)),
                                         ("Set-Cookie", cookie_header(environ, self.front.pre_cookie, "", 0))])
        return []

    # -- /logout -------------------------------------------------------------------------------------

    def logout(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        t = TEXT[lang_of(environ)]
        e = html.escape
        form_html = (f'<form method="post" action="/logout?lang={lang_of(environ)}"><p>{t["logout_q"]}</p>'
                     f'<input type="hidden" name="{CSRF_FIELD}" value="{e(self._csrf(environ).token)}">'
                     f'<button type="submit">{t["logout"]}</button></form>')
        if environ.get("REQUEST_METHOD") != "POST":
            return self._page(environ, start_response, "200 OK", t["logout"], form_html)
        form = self._form(environ) or {}
        ident: Identity = environ[IDENTITY]
        if not self._csrf(environ).valid(form.get(CSRF_FIELD)):
            return self._page(environ, start_response, "403 Forbidden", t["logout"],
                              f'<p class="error" role="alert">{t["csrf"]}</p>{form_html}')
        if ident.session_cookie:
            self.front.sessions.revoke(ident.session_cookie)
            self.front.access.audit.append("logout", actor=ident.principal.name, user=ident.principal.name,
                                           address=self.front.address(environ), outcome="ok")
        start_response("303 See Other", [("Location", safe_next(form.get("next"))), ("Cache-Control", "no-store"),
                                         ("Content-Length", "0"),
                                         ("Set-Cookie", cookie_header(environ, self.front.cookie, "", 0))])
        return []

    # -- /whoami -------------------------------------------------------------------------------------

    def whoami(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        ident: Identity = environ[IDENTITY]
        p = ident.principal
        doc = {"name": None if p.is_anonymous else p.name, "anonymous": p.is_anonymous,
               "roles": sorted(r.value for r in p.roles), "organisation": p.organisation,
               "datasets": sorted(p.datasets), "issuer": p.issuer, "via": ident.via,
               "session_expires": int(ident.session.expires) if ident.session else None}
        if wants_json(environ):
            data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                                      ("Cache-Control", "no-store")])
            return [data]
        lang = lang_of(environ)
        t = TEXT[lang]
        e = html.escape
        if p.is_anonymous:
            body = f'<p class="card">{t["anonymous"]} <a href="/login?lang={lang_of(environ)}">{t["login"]}</a></p>'
        else:
            roles = ", ".join(f"{ROLES[lang].get(r, r)} ({r})" for r in doc["roles"])
            rows = [(t["roles"], roles), (t["organisation"], p.organisation or "—"),
                    (t["datasets"], ", ".join(doc["datasets"]) or "—"), (t["via"], VIA[lang].get(ident.via, ident.via))]
            if p.issuer:
                rows.append((t["issuer"], p.issuer))
            if ident.session:
                rows.append((t["expires"], time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ident.session.expires))))
            dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in rows)
            body = (f'<div class="card"><p>{t["you_are"]} <strong id="user">{e(p.name)}</strong></p><dl>{dl}</dl></div>')
            if ident.session:
                body += (f'<form method="post" action="/logout?lang={lang_of(environ)}">'
                         f'<input type="hidden" name="{CSRF_FIELD}" value="{e(self._csrf(environ).token)}">'
                         f'<button type="submit">{t["logout"]}</button></form>')
        return self._page(environ, start_response, "200 OK", t["whoami"], body)

    # -- JWKS ----------------------------------------------------------------------------------------

    def jwks(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        data = json.dumps(self.front.access.jwks()).encode("utf-8")
        start_response("200 OK", [("Content-Type", "application/jwk-set+json"), ("Content-Length", str(len(data))),
                                  ("Cache-Control", "public, max-age=300"), ("Access-Control-Allow-Origin", "*")])
        return [data]
