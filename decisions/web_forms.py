"""What every form of the register's pages shares: who is asking, the CSRF check, reading the form (also a
file upload), the fields a person types (dates, numbers), and how a refusal reaches the browser.

- Who: :func:`decisions.permissions.actor_of` of the access front's principal — the same actor the OGC API
  Part 4 front makes, so a form and a PATCH are allowed or refused by the one permission table. Nobody
  logged in: :class:`LoginRequired`, which a page answers with a redirect to ``/login?next=<this page>``
  (and a JSON caller with 401).
- CSRF: every form carries the access front's ``csrf_token``; a POST without it, or with another session's,
  is a 403 (:func:`check_csrf`), also when no access front ran (fail closed).
- Refusals: any :class:`~decisions.errors.DecisionError` becomes a small page in the node's look with the
  status :func:`decisions.api.http_status` gives it (the one mapping: 400 bad input, 403 not allowed,
  404 unknown, 409 the lifecycle's refusal, 422 what a move still needs) and the register's own sentence,
  never a 500.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import quote

from decisions.errors import DecisionError, Forbidden, NotLoggedIn
from decisions.model import Actor, parse_time
from geoportal.portal import CSRF_ENVIRON, CSRF_FIELD, Site, login_state

StartResponse = Callable[..., Any]
#: the largest form accepted: an adopted text (a scanned PDF) fits
MAX_FORM = 25 * 1024 * 1024
#: the fields other than files, together
MAX_FIELDS = 200_000
#: a day (the day included) or a moment in UTC, as the register's dates are
MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?)?$")
NO_STORE = [("Cache-Control", "private, no-store"), ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy", "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")]


class LoginRequired(NotLoggedIn):
    """Nobody is logged in; a page sends the browser to the login form, which brings it back here."""


class BadForm(DecisionError):
    """A field of the form is missing or not what it should be (400), named in the message."""


class WrongMethod(BadForm):
    """The address takes a POST of the page's form (405)."""


class TooLarge(DecisionError):
    """The form is larger than :data:`MAX_FORM` (413)."""


def status_of(e: DecisionError) -> int:
    from decisions.api import http_status

    if isinstance(e, WrongMethod):
        return 405
    if isinstance(e, BadForm):
        return 400
    if isinstance(e, TooLarge):
        return 413
    return http_status(e)


@dataclass
class Form:
    """The fields and files of one POST."""

    fields: Any  # werkzeug MultiDict
    files: Any

    def text(self, name: str, *, required: bool = False, limit: int = 5000) -> str:
        v = (self.fields.get(name) or "").strip()
        if required and not v:
            raise BadForm(f"field '{name}': fill it in")
        if len(v) > limit:
            raise BadForm(f"field '{name}': at most {limit} characters (got {len(v)})")
        return v

    def integer(self, name: str, low: int, high: int) -> int:
        raw = self.text(name, required=True, limit=20)
        try:
            v = int(raw)
        except ValueError:
            raise BadForm(f"field '{name}': '{raw}' is not a whole number") from None
        if not low <= v <= high:
            raise BadForm(f"field '{name}': give a number from {low} to {high} (got {v})")
        return v

    def moment(self, name: str, *, required: bool = False) -> str | None:
        """A day (``2026-03-31``, the day included) or a moment in UTC (``2026-03-31T14:00``); the time may
        come in its own field ``<name>_time`` (what a browser's date and time inputs send)."""
        day = self.text(name, required=required, limit=40)
        clock = self.text(f"{name}_time", limit=12)
        if not day:
            if clock:
                raise BadForm(f"field '{name}': give the day as well as the time")
            return None
        value = f"{day}T{clock}" if clock and "T" not in day and " " not in day else day
        if not MOMENT.match(value):
            raise BadForm(f"field '{name}': '{value}' is not a day (YYYY-MM-DD) or a moment (YYYY-MM-DDTHH:MM, UTC)")
        try:
            parse_time(value)
        except ValueError as e:
            raise BadForm(f"field '{name}': '{value}' is not a real date or time ({e})") from None
        return value

    def day(self, name: str) -> str:
        raw = self.text(name, required=True, limit=10)
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise BadForm(f"field '{name}': '{raw}' is not a day; give YYYY-MM-DD") from None

    def upload(self, name: str) -> tuple[str, bytes] | None:
        """(the file's own name, its bytes), or None when no file was chosen."""
        f = self.files.get(name)
        if f is None or not f.filename:
            return None
        data = f.read()
        if not data:
            raise BadForm(f"field '{name}': the file {f.filename} is empty")
        return Path(f.filename.replace("\\", "/")).name, data


def read_form(environ: dict[str, Any]) -> Form:
    """The POSTed form (url-encoded or multipart), within :data:`MAX_FORM`."""
    from werkzeug.exceptions import RequestEntityTooLarge
    from werkzeug.formparser import parse_form_data

    ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    if ctype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise BadForm(f"send the page's form (Content-Type '{ctype or 'none'}' is not a form)")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadForm("Content-Length is not a number") from None
    if length > MAX_FORM:
        raise TooLarge(f"the form is {length} bytes; up to {MAX_FORM // (1024 * 1024)} MB are accepted")
    try:
        _, fields, files = parse_form_data(environ, max_content_length=MAX_FORM, max_form_memory_size=MAX_FIELDS,
                                           silent=False, max_form_parts=200)
    except RequestEntityTooLarge:
        raise TooLarge(f"the form is larger than {MAX_FORM // (1024 * 1024)} MB (or a field is too long)") from None
    except ValueError as e:
        raise BadForm(f"the form could not be read ({e}); send it again from the page") from None
    return Form(fields, files)


def check_csrf(environ: dict[str, Any], form: Form) -> None:
    guard = environ.get(CSRF_ENVIRON)
    if guard is None or not guard.valid(form.fields.get(CSRF_FIELD)):
        raise Forbidden("the form's CSRF token is missing or stale (or the form came from another site): reload "
                        "the page and send it again")


def actor(environ: dict[str, Any], cfg: Any) -> Actor:
    """The register's actor of the logged-in caller; :class:`LoginRequired` for nobody."""
    from access.web import principal_of
    from decisions.permissions import actor_of

    a = actor_of(principal_of(environ), cfg.decisions.heads, cfg.decisions.moderators)
    if a is None:
        raise LoginRequired("log in to do this")
    return a


def node_root(environ: dict[str, Any]) -> str:
    """The node's root path as the browser sees it, ending in '/' (``SCRIPT_NAME`` is ``<prefix>/decisions``)."""
    script = environ.get("SCRIPT_NAME", "")
    return (script[: -len("/decisions")] if script.endswith("/decisions") else "") + "/"


def login_redirect(environ: dict[str, Any], start_response: StartResponse, back: str | None = None) -> list[bytes]:
    """303 to the login form, which sends the browser back to ``back`` (default: this page)."""
    here = back or environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    start_response("303 See Other", [("Location", f"{node_root(environ)}login?next={quote(here, safe='/')}"),
                                     ("Content-Length", "0"), ("Cache-Control", "no-store")])
    return []


def see_other(start_response: StartResponse, location: str) -> list[bytes]:
    start_response("303 See Other", [("Location", location), ("Content-Length", "0"), ("Cache-Control", "no-store")])
    return []


def page(environ: dict[str, Any], start_response: StartResponse, status: int, template: str, ws_root: Path,
         headers: tuple[tuple[str, str], ...] = (), **context: Any) -> list[bytes]:
    """A page of the register's own (never cached: it is about the caller) in the node's look."""
    from decisions.api import STATUS_TEXT
    from decisions.page import _env

    login = login_state(environ)
    body = _env().get_template(template).render(site=Site.of_workspace(ws_root), root=node_root(environ),
                                                login=login, csrf=login.csrf, **context).encode("utf-8")
    start_response(f"{status} {STATUS_TEXT.get(status, '')}".strip(),
                   [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))), *NO_STORE,
                    *headers])
    return [body]


def refusal(environ: dict[str, Any], start_response: StartResponse, e: DecisionError, ws_root: Path,
            back: str | None = None) -> list[bytes]:
    """The register's refusal as a page: its status and sentence, and the way back to the form."""
    code = status_of(e)
    if code == 401 or isinstance(e, NotLoggedIn):
        return login_redirect(environ, start_response, back)
    return page(environ, start_response, code, "refused.html", ws_root,
                (("Allow", "POST"),) if isinstance(e, WrongMethod) else (), code=code, kind=type(e).__name__,
                message=str(e), back=back)


def wants_json(environ: dict[str, Any]) -> bool:
    from urllib.parse import parse_qs

    q = parse_qs(environ.get("QUERY_STRING", ""))
    if "f" in q:
        return q["f"][0] == "json"
    accept = environ.get("HTTP_ACCEPT", "")
    return "application/json" in accept and "text/html" not in accept


def node_config(ws_root: Path) -> Any:
    from geoportal.config import load_config

    node = json.loads((ws_root / "node.json").read_text(encoding="utf-8"))
    return load_config(Path(node["config"]))


def json_reply(start_response: StartResponse, code: int, doc: Any) -> Iterable[bytes]:
    from decisions.api import _reply

    return _reply(start_response, code, doc)
