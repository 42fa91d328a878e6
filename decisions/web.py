"""``/decisions/`` of a node: the static pages and feeds (decisions.publish), plus the agreement endpoints.

    GET  /decisions/node              who this node is and whom it links to (how other nodes find a party)
    POST /decisions/messages          a message from another node, signed with its key (decisions.messages)
    GET  /decisions/inbox             the agreement requests of this node's body (HTML; JSON with ?f=json or
                                      Accept: application/json) — for its officials and admins only
    POST /decisions/inbox/{message}   an official answers: agree / object with reasons (JSON, or the page's form
                                      with the session's CSRF token); a browser not logged in is sent to /login
    GET  /decisions/overdue           what is overdue on a day here and in every node below (decisions.overdue_web)
    GET|POST /decisions/new           a new draft from the browser (decisions.actions_web)
    POST /decisions/{id}/actions/{a}  an official's action on a decision: the forms of its page (actions_web)
    GET  /decisions/{id}/documents/{sha256}
                                      a document of a decision (the adopted text, drafts): its bytes, checked
                                      against the hash on every read, under the name it was given

Everything else is a page or file of ``<workspace>/decisions`` (decisions.comments_web: the decision's page with
the comment form, the actions panel and the moderator's buttons filled in for a logged-in caller).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import unquote

from decisions.actions_web import ACTION
from decisions.errors import DecisionError, Forbidden, NotLoggedIn

log = logging.getLogger(__name__)
MAX_MESSAGE = 2 * 1024 * 1024
#: /{decision id}/documents/{sha256} (the id as comments_web.py takes it)
DOCUMENT = re.compile(r"^/([A-Za-z0-9][A-Za-z0-9._-]{0,80})/documents/([^/]*)$")
#: what a browser may show in place; anything else is downloaded (the node never renders an uploaded page)
INLINE = ("application/pdf", "text/plain", "image/png", "image/jpeg", "image/gif", "image/webp")
STATES_UK = {"open": "очікує відповіді", "answered": "відповідь надіслано", "silence": "мовчання (строк минув)"}


class DecisionsWeb:
    def __init__(self, workspace_root: Path, files: Callable[..., Iterable[bytes]]):
        from decisions.actions_web import DecisionForms

        self.root = Path(workspace_root)
        self.files = files
        self._lock = threading.Lock()
        self.forms = DecisionForms(self.root, self._publish, self._audit)

    @cached_property
    def cfg(self) -> Any:
        from geoportal.config import load_config

        node = json.loads((self.root / "node.json").read_text(encoding="utf-8"))
        return load_config(Path(node["config"]))

    @cached_property
    def verifier(self) -> Any:
        from access.tokens import Verifier

        return Verifier(self.cfg, self.root)

    def register(self) -> Any:
        from decisions.service import Register
        from geoportal.model import Workspace

        return Register.for_node(self.cfg, Workspace(self.root))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from decisions.api import _reply, http_status

        path = environ.get("PATH_INFO", "").rstrip("/")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        try:
            if path == "/node" and method == "GET":
                from decisions.delivery import node_card
                from decisions.publish import node_base_url
                from geoportal.model import Workspace

                return _reply(start_response, 200, node_card(self.cfg, node_base_url(self.cfg, Workspace(self.root))))
            if path == "/messages":
                if method != "POST":
                    return _reply(start_response, 405, {"code": "MethodNotAllowed",
                                                        "description": "POST a signed message"}, [("Allow", "POST")])
                return self._message(environ, start_response)
            if path == "/inbox" or path.startswith("/inbox/"):
                return self._inbox(environ, start_response, method, unquote(path[len("/inbox/"):]) or None)
            if path == "/new":
                return self.forms.new(environ, start_response)
            if path == "/overdue" and method == "GET":
                from decisions.overdue_web import overdue_page

                return overdue_page(environ, start_response, self.root)
            act = ACTION.match(path)
            if act:
                return self.forms.action(environ, start_response, act.group(1), act.group(2))
            doc = DOCUMENT.match(path)
            if doc:
                return self._document(start_response, method, doc.group(1), doc.group(2))
        except DecisionError as e:
            extra = [("WWW-Authenticate", 'Bearer realm="geoportal"')] if http_status(e) == 401 else []
            return _reply(start_response, http_status(e), {"code": type(e).__name__, "description": str(e)}, extra)
        return self.files(environ, start_response)

    # -- documents -------------------------------------------------------------------------------------
    def _document(self, start_response: Callable[..., Any], method: str, decision_id: str,
                  sha256: str) -> Iterable[bytes]:
        """A document of a decision, read-only. The name (hence the type and the download name) is the one the
        register recorded for this hash in this decision, never one taken from the address."""
        from decisions.api import _reply
        from decisions.errors import NotFound
        from decisions.stores import DocumentDamaged, media_type

        if method not in ("GET", "HEAD"):
            return _reply(start_response, 405, {"code": "MethodNotAllowed", "description":
                          "documents are read-only: GET them; a new document is added through the register"},
                          [("Allow", "GET, HEAD")])
        reg = self.register()
        d = reg.get(decision_id)
        rec = next((x for x in d.documents if x.sha256 == sha256), None)
        if rec is None:
            raise NotFound(f"decision {decision_id} has no document sha256:{sha256[:64]}; its page lists its "
                           "documents")
        try:
            blocks = reg.document_store().read_checked(sha256)
        except DocumentDamaged as e:
            log.error("node %s: %s", self.root.name, e)
            return _reply(start_response, 500, {"code": "DocumentDamaged", "description": str(e)})
        ctype = media_type(rec.name)
        headers = [("Content-Type", ctype + ("; charset=utf-8" if ctype.startswith("text/") else "")),
                   ("Content-Length", str(reg.document_store().path_of(sha256).stat().st_size)),
                   ("Content-Disposition", content_disposition(rec.name, ctype in INLINE)),
                   ("ETag", f'"{sha256}"'), ("Cache-Control", "public, max-age=31536000, immutable"),
                   ("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", "sandbox; default-src 'none'"),
                   ("Access-Control-Allow-Origin", "*")]
        start_response("200 OK", headers)
        return [] if method == "HEAD" else blocks

    # -- node to node ----------------------------------------------------------------------------------
    def _message(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from decisions.api import BadRequest, _reply
        from decisions.messages import SIGNATURE_HEADER, check_document, verify

        n = int(environ.get("CONTENT_LENGTH") or 0)
        if n > MAX_MESSAGE:
            raise BadRequest(f"the message is {n} bytes; up to {MAX_MESSAGE} are accepted")
        body = environ["wsgi.input"].read(n) if n else b""
        header = environ.get("HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_"))
        issuer, org = verify(self.verifier, header, body)
        try:
            doc = json.loads(body)
        except ValueError as e:
            raise BadRequest(f"the message is not JSON ({e})") from None
        check_document(doc)
        with self._lock:
            state = self.register().receive(doc, org, issuer)
            self._publish()
        self._audit("decisions.message", issuer, environ, "ok", message=doc["id"], kind=doc["type"], state=state)
        log.info("node %s: message %s (%s) from %s: %s", self.cfg.node.id, doc["id"], doc["type"], issuer, state)
        return _reply(start_response, 200, {"id": doc["id"], "state": state})

    # -- the inbox -------------------------------------------------------------------------------------
    def _official(self, environ: dict[str, Any]) -> Any:
        from access.web import principal_of
        from decisions.permissions import actor_of

        p = principal_of(environ)
        actor = actor_of(p, self.cfg.decisions.heads, self.cfg.decisions.moderators)
        if actor is None:
            raise NotLoggedIn("log in: the inbox is for the officials of this node's body")
        if actor.role != "admin" and (actor.role not in ("official", "head") or actor.org != self.cfg.node.katotth):
            raise Forbidden(f"{p.describe()} is not an official of {self.cfg.node.katotth}; the inbox is for the "
                            "officials of this node's body")
        return actor

    def _inbox(self, environ: dict[str, Any], start_response: Callable[..., Any], method: str,
               message: str | None) -> Iterable[bytes]:
        """The inbox: JSON for programs (errors as JSON), a page and forms for people (a browser not logged in is
        sent to the login form; a refused form answer is a page with the register's sentence)."""
        from decisions.api import BadRequest, _read_json, _reply
        from decisions.web_forms import check_csrf, read_form, refusal, wants_json

        ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        form = method == "POST" and ctype in ("application/x-www-form-urlencoded", "multipart/form-data")
        browser = form or (method == "GET" and not wants_json(environ))
        back = environ.get("SCRIPT_NAME", "") + "/inbox"
        try:
            actor = self._official(environ)
            if method == "GET" and message is None:
                items = self.register().inbox()
                if not browser:
                    return _reply(start_response, 200, {"node": self.cfg.node.id, "katotth": self.cfg.node.katotth,
                                                        "requests": items})
                return self._html(environ, start_response, items, actor)
            if method != "POST" or message is None:
                return _reply(start_response, 405, {"code": "MethodNotAllowed", "description":
                              "GET the inbox; POST an answer to /decisions/inbox/<message id>"})
            if form:
                posted = read_form(environ)
                check_csrf(environ, posted)
                body: Any = {k: posted.fields.get(k) for k in ("answer", "reasons") if posted.fields.get(k)}
            else:
                body = _read_json(environ)
            if not isinstance(body, dict) or body.get("answer") not in ("agree", "object"):
                raise BadRequest("answer: give agree or object (and reasons for an objection)")
            with self._lock:
                a = self.register().answer_request(actor, message, body["answer"], reasons=body.get("reasons"))
        except DecisionError as e:
            if not browser:
                raise
            if message is not None:
                self._audit("decisions.answer", _who(environ), environ, "refused", message=message, reason=str(e)[:300])
            return refusal(environ, start_response, e, self.root, back)
        self._audit("decisions.answer", actor.name, environ, "ok", message=message, answer=a.answer)
        if form:
            start_response("303 See Other", [("Location", "../inbox"), ("Content-Length", "0")])
            return [b""]
        from decisions.service import answer_document

        return _reply(start_response, 201, answer_document(a))

    def _html(self, environ: dict[str, Any], start_response: Callable[..., Any], items: list[dict[str, Any]],
              actor: Any) -> Iterable[bytes]:
        from decisions.web_forms import page

        return page(environ, start_response, 200, "inbox.html", self.root, items=items,
                    node_name=self.cfg.node.name.uk, katotth=self.cfg.node.katotth, who=f"{actor.name} ({actor.role})",
                    states_uk=STATES_UK)

    def _publish(self) -> None:
        from decisions.publish import publish_register
        from geoportal.model import Workspace

        publish_register(self.cfg, Workspace(self.root))

    def _audit(self, action: str, who: str, environ: dict[str, Any], outcome: str, **detail: Any) -> None:
        from access.audit import AuditLog

        try:
            AuditLog(self.root / "audit.log").append(action, actor=who, address=environ.get("REMOTE_ADDR"),
                                                     dataset="decisions", outcome=outcome, **detail)
        except Exception as e:  # noqa: BLE001 - the change is committed; a broken log is reported loudly
            log.error("node %s: the audit log refused an entry (%s)", self.cfg.node.id, e)


def content_disposition(name: str, inline: bool) -> str:
    """``Content-Disposition`` with the original name: an ASCII ``filename`` for old clients and the exact
    name as RFC 5987 ``filename*`` (UTF-8, percent-encoded) — a Cyrillic name arrives as it was given."""
    import unicodedata
    from urllib.parse import quote

    def ascii_of(text: str) -> str:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^A-Za-z0-9._ -]", "_", text).strip()

    stem = ascii_of(Path(name).stem)
    plain = (stem if stem.strip("_. ") else "document") + ascii_of(Path(name).suffix)
    return f"{'inline' if inline else 'attachment'}; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def _who(environ: dict[str, Any]) -> str:
    from access.web import principal_of

    return principal_of(environ).describe()
