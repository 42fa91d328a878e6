"""``/decisions/``: the register's static pages, plus the parts that depend on who is asking — citizens'
comments on a decision open for consultation, and what an official or a moderator may do with it.

- ``GET /decisions/<id>.html``: the page as built, except that for a caller the access front resolved
  (``access.web.principal_of``) its marked blocks are filled: the comment block (which tells everyone else
  to log in) becomes a comment form carrying the front's CSRF token (``csrf_token``); the actions block
  becomes the forms of what the caller may do now (decisions.actions_web.panel); a moderator gets a hide
  button under each visible comment. Who is who: :func:`decisions.permissions.actor_of` (heads and
  moderators are named in the node config), as for every other write.
- ``POST /decisions/<id>/comments`` (form: ``text``, ``csrf_token``): the comment, through the register's
  own action (its permissions, the consultation's deadline, the history), then the pages are republished
  and the caller is sent back to the page (303). Refused: anonymous 401 (with a link to log in); without a
  valid CSRF token 403 (also when no access front ran: fail closed); a role that may not comment 403; a
  closed consultation 409; an unknown decision 404; an empty or too long text 400 — each with one line
  saying what to do.

Everything else is a file of ``<workspace>/decisions``.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from geoportal.portal import CSRF_ENVIRON, CSRF_FIELD, login_state
from geoportal.static_files import StaticFiles, plain

StartResponse = Callable[..., Any]
MARKED = re.compile(rb"<!--comment-form-->.*?<!--/comment-form-->", re.S)
ACTIONS = re.compile(rb"<!--actions-->.*?<!--/actions-->", re.S)
HIDE = re.compile(rb"<!--hide:(\d{1,9})-->")
#: the shared header as a static page has it (a link to log in), replaced by the caller's (name, log out)
HEADER = re.compile(rb'<a class="skip".*?</header>', re.S)
ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}"
PAGE = re.compile(rf"^/({ID})\.html$")
POST = re.compile(rf"^/({ID})/comments/?$")
MAX_BODY = 20_000
MAX_TEXT = 5000


def comment_form(decision_id: str, name: str, csrf: str | None) -> str:
    """The form a logged-in caller sees: who comments, the text, the CSRF token of the session."""
    e = html.escape
    token = f'<input type="hidden" name="{CSRF_FIELD}" value="{e(csrf)}">' if csrf else ""
    return (f'<form class="comment noprint" method="post" action="{e(decision_id)}/comments">{token}'
            f'<p><label for="comment-text">Ваш коментар <span lang="en">/ your comment</span> ({e(name)})</label></p>'
            f'<p><textarea id="comment-text" name="text" rows="4" maxlength="{MAX_TEXT}" required></textarea></p>'
            '<p><button type="submit">Надіслати <span lang="en">/ send</span></button></p></form>')


class DecisionPages:
    """The folder ``<workspace>/decisions`` with the comment form and its POST (see the module)."""

    def __init__(self, workspace_root: Path, title: str = "Decisions"):
        self.ws_root = Path(workspace_root)
        self.root = self.ws_root / "decisions"
        self.files = StaticFiles(self.root, title)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET").upper()
        posted = POST.match(path)
        if posted:
            if method != "POST":
                return plain(start_response, "405 Method Not Allowed", "comments are sent with POST from the "
                             "decision's page", [("Allow", "POST")])
            return self._comment(environ, start_response, posted.group(1))
        m = PAGE.match(path)
        login = login_state(environ)
        if m is None or login.name is None or method != "GET":
            return self.files(environ, start_response)
        try:
            page = (self.root / f"{m.group(1)}.html").read_bytes()
        except OSError:
            return self.files(environ, start_response)
        body = self._for_caller(environ, m.group(1), page, login)
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
                                  ("Cache-Control", "private, no-store")])
        return [body]

    def _for_caller(self, environ: dict[str, Any], decision_id: str, page: bytes, login: Any) -> bytes:
        """The page with its marked blocks filled for the logged-in caller."""
        from access.web import principal_of
        from decisions.actions_web import hide_buttons, panel
        from decisions.errors import DecisionError
        from decisions.permissions import actor_of
        from geoportal.portal import Site, header

        mine = str(header(Site.of_workspace(self.ws_root), "../", "decisions", login)).encode("utf-8")
        page = HEADER.sub(lambda _m: mine, page, count=1)
        cfg, _, register = self._register()
        who = actor_of(principal_of(environ), cfg.decisions.heads, cfg.decisions.moderators)
        if who is None:
            return page
        form = comment_form(decision_id, login.name, login.csrf).encode("utf-8")
        page = MARKED.sub(lambda _m: form, page, count=1)
        try:
            d = register.get(decision_id)
        except DecisionError:
            return page  # the index, a project's page: nothing to act on here
        actions = panel(who, d, login.csrf).encode("utf-8")
        page = ACTIONS.sub(lambda _m: actions, page, count=1)
        buttons = {k: v.encode("utf-8") for k, v in hide_buttons(who, d, login.csrf).items()}
        return HIDE.sub(lambda x: buttons.get(int(x.group(1)), b""), page)

    def _comment(self, environ: dict[str, Any], start_response: StartResponse, decision_id: str) -> Iterable[bytes]:
        from access.web import principal_of
        from decisions.errors import DeadlineError, DecisionError, Forbidden, NotFound
        from decisions.permissions import actor_of

        principal = principal_of(environ)
        if principal.is_anonymous:
            return plain(start_response, "401 Unauthorized", "log in (/login) to comment on a decision")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            return plain(start_response, "413 Content Too Large" if length > MAX_BODY else "400 Bad Request",
                         f"send the comment as a form of at most {MAX_BODY} bytes")
        try:
            form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8"), max_num_fields=10)
        except (UnicodeDecodeError, ValueError):
            return plain(start_response, "400 Bad Request", "the form is not valid UTF-8 form data")
        guard = environ.get(CSRF_ENVIRON)
        if guard is None or not guard.valid((form.get(CSRF_FIELD) or [None])[0]):
            return plain(start_response, "403 Forbidden", "the form's CSRF token is missing or stale: reload the "
                         "decision's page and send the comment again")
        text = (form.get("text") or [""])[0].strip()
        if not text or len(text) > MAX_TEXT:
            return plain(start_response, "400 Bad Request", f"field 'text': write a comment of 1 to {MAX_TEXT} characters")
        cfg, ws, register = self._register()
        who = actor_of(principal, cfg.decisions.heads, cfg.decisions.moderators)
        if who is None:
            return plain(start_response, "403 Forbidden", f"{principal.name} has no role that may comment")
        try:
            register.comment(who, decision_id, text)
        except NotFound as e:
            return plain(start_response, "404 Not Found", str(e))
        except Forbidden as e:
            return plain(start_response, "403 Forbidden", str(e))
        except DeadlineError as e:
            return plain(start_response, "409 Conflict", str(e))
        except DecisionError as e:
            return plain(start_response, "400 Bad Request", str(e))
        from decisions.publish import publish_register

        publish_register(cfg, ws)  # the page, the index, the feeds and the layers show it at once
        start_response("303 See Other", [("Location", f"../{decision_id}.html#comments"), ("Content-Length", "0")])
        return []

    def _register(self) -> tuple[Any, Any, Any]:
        from decisions.service import Register
        from geoportal.config import load_config
        from geoportal.model import Workspace

        node = json.loads((self.ws_root / "node.json").read_text(encoding="utf-8"))
        cfg = load_config(Path(node["config"]))
        ws = Workspace(self.ws_root)
        return cfg, ws, Register.for_node(cfg, ws)
