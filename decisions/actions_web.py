"""The officials' side of a decision's page: what the logged-in caller may do with it now, as forms that POST
to the node and run the register's own actions (decisions/service.py — what the CLI and OGC API Part 4 call).

    GET  /decisions/<id>.html                    the page; for a logged-in caller its marked blocks become
                                                 the actions panel (:func:`panel`) and, for moderators,
                                                 a hide button under each visible comment
    POST /decisions/<id>/actions/<action>        consultation (until), agreement (deadline), adopted (the
                                                 adopted text as a file), implementation, completed,
                                                 cancelled (each with a reason); milestone (title, due day,
                                                 responsible body); report (milestone, progress %, text);
                                                 hide-comment (comment, reason)
    GET  /decisions/new                          the form of a new draft (officials, heads, admins)
    POST /decisions/new                          title, kind, geometry (WKT / GeoJSON, or features of a
                                                 stored layer), parties → the draft, then its page

Which forms a caller sees is decided by :mod:`decisions.permissions` (the one table) and the lifecycle's
next states (:data:`decisions.model.NEXT`); the register decides again when the form arrives, so a form
shown a moment too early (the consultation not over yet) gets the lifecycle's own refusal, shown as a page
with its status (decisions.web_forms). After a change the register is published (pages, feeds, layers) and
the browser goes back to the decision's page.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from decisions import permissions
from decisions.errors import DecisionError, NotFound
from decisions.model import KIND_UK, NEXT, STATUS_UK, Actor, Decision, Kind, Milestone, Status, Text
from decisions.service import OPEN
from decisions.web_forms import (BadForm, Form, WrongMethod, actor, check_csrf, node_config, page, read_form,
                                 refusal, see_other)

StartResponse = Callable[..., Any]
ACTION = re.compile(r"^/([A-Za-z0-9][A-Za-z0-9._-]{0,80})/actions/([a-z-]{1,30})/?$")
MOVES = tuple(s.value for s in Status if s is not Status.DRAFT)
#: the register's actions a form may run besides the moves of the lifecycle
OTHER = ("milestone", "report", "hide-comment")
MOVE_UK = {"consultation": "Винести на громадське обговорення", "agreement": "Надіслати на погодження",
           "adopted": "Прийняти рішення", "implementation": "Розпочати виконання", "completed": "Позначити виконаним",
           "cancelled": "Скасувати рішення"}
MOVE_EN = {"consultation": "Open the public consultation", "agreement": "Send for agreement",
           "adopted": "Adopt", "implementation": "Start the implementation", "completed": "Mark as completed",
           "cancelled": "Cancel the decision"}


@dataclass
class Panel:
    """What one caller may do with one decision now."""

    moves: list[str] = field(default_factory=list)
    milestone: bool = False
    report: list[Milestone] = field(default_factory=list)
    moderate: bool = False

    def __bool__(self) -> bool:
        return bool(self.moves or self.milestone or self.report or self.moderate)


def available(who: Actor, d: Decision) -> Panel:
    """The forms to show: the lifecycle's next states the table lets ``who`` move into, milestones while the
    decision is open, progress on the milestones ``who`` answers for, hiding comments for moderators."""
    moves = [s.value for s in NEXT[Status(d.status)]
             if permissions.allowed(who, permissions.TRANSITION_ACTION[s.value], owner=d.issuer)]
    report = [m for m in d.milestones if m.done_at is None and d.status == Status.IMPLEMENTATION.value
              and permissions.allowed(who, "report", owner=d.issuer, also=(m.responsible,))]
    return Panel(moves=moves, milestone=d.status in OPEN and permissions.allowed(who, "milestone", owner=d.issuer),
                 report=report, moderate=bool(d.visible_comments()) and permissions.allowed(who, "moderate"))


def panel(who: Actor, d: Decision, csrf: str | None) -> str:
    """The actions block of the page for ``who`` (empty when there is nothing they may do)."""
    from decisions.page import _env

    p = available(who, d)
    if not (p.moves or p.milestone or p.report):
        return ""
    return _env().get_template("actions.html").render(d=d, p=p, who=who, csrf=csrf, move_uk=MOVE_UK,
                                                      move_en=MOVE_EN, status_uk=STATUS_UK)


def hide_buttons(who: Actor, d: Decision, csrf: str | None) -> dict[int, str]:
    """For a moderator: a hide form under each visible comment, by comment id."""
    from decisions.page import _env

    if not available(who, d).moderate:
        return {}
    t = _env().get_template("hide_comment.html")
    return {c.id: t.render(d=d, c=c, csrf=csrf) for c in d.visible_comments()}


class DecisionForms:
    """The POSTs of the actions panel and the draft form (mounted by decisions.web.DecisionsWeb)."""

    def __init__(self, ws_root: Path, publish: Callable[[], None], audit: Callable[..., None]):
        self.root = Path(ws_root)
        self.publish, self.audit = publish, audit
        self._lock = threading.Lock()  # one change at a time per process; the repository locks across them

    def register(self, cfg: Any) -> Any:
        from decisions.service import Register
        from geoportal.model import Workspace

        return Register.for_node(cfg, Workspace(self.root))

    # -- the actions of a decision -------------------------------------------------------------------------
    def action(self, environ: dict[str, Any], start_response: StartResponse, decision_id: str,
               name: str) -> Iterable[bytes]:
        back = f"{environ.get('SCRIPT_NAME', '')}/{decision_id}.html"
        if environ.get("REQUEST_METHOD", "GET").upper() != "POST":
            return refusal(environ, start_response, WrongMethod(f"'{name}' is done with the form on the decision's "
                                                                "page (POST)"), self.root, back)
        cfg = node_config(self.root)
        try:
            who = actor(environ, cfg)
            form = read_form(environ)
            check_csrf(environ, form)
            if name not in MOVES and name not in OTHER:
                raise NotFound(f"no action '{name}': the page offers {', '.join((*MOVES, *OTHER))}")
            with self._lock:
                anchor = self._run(self.register(cfg), who, decision_id, name, form)
                self.publish()
        except DecisionError as e:
            self.audit(f"decisions.web.{name}", _who(environ), environ, "refused", decision=decision_id,
                       reason=str(e)[:300])
            return refusal(environ, start_response, e, self.root, back)
        self.audit(f"decisions.web.{name}", who.name, environ, "ok", decision=decision_id)
        return see_other(start_response, f"../../{decision_id}.html#{anchor}")

    def _run(self, reg: Any, who: Actor, decision_id: str, name: str, form: Form) -> str:
        """Run one action through the register; the anchor of the page part it changed."""
        if name == "milestone":
            reg.add_milestone(who, decision_id, form.text("title", required=True, limit=500), form.day("due"),
                              form.text("responsible", required=True, limit=40),
                              reason=form.text("reason", limit=1000) or "milestone planned")
            return "implementation"
        if name == "report":
            reg.report(who, decision_id, form.integer("milestone", 1, 10_000), form.integer("progress", 0, 100),
                       form.text("text", required=True, limit=2000))
            return "implementation"
        if name == "hide-comment":
            reg.hide_comment(who, decision_id, form.integer("comment", 1, 1_000_000),
                             reason=form.text("reason", required=True, limit=1000))
            return "comments"
        reason = form.text("reason", required=True, limit=1000)
        text = None
        if name == "adopted":
            upload = form.upload("text")
            if upload is None:
                raise BadForm("field 'text': choose the file of the adopted text (PDF, DOCX, ODT…)")
            reg.get(decision_id)  # an unknown decision is a 404, before its file is kept
            text = reg.keep_document(upload[0], upload[1], "adopted-text")
        reg.transition(who, decision_id, name, reason=reason, consultation_until=form.moment("until"),
                       agreement_deadline=form.moment("deadline"), adopted_text=text)
        return "status"

    # -- a new draft ---------------------------------------------------------------------------------------
    def new(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        cfg = node_config(self.root)
        back = f"{environ.get('SCRIPT_NAME', '')}/new"
        try:
            who = actor(environ, cfg)
            if not permissions.allowed(who, "draft", owner=who.org):
                permissions.check(who, "draft", owner=cfg.node.katotth)  # refused with the table's sentence
            if environ.get("REQUEST_METHOD", "GET").upper() != "POST":
                return self._draft_page(environ, start_response, cfg, who, 200)
            form = read_form(environ)
            check_csrf(environ, form)
            with self._lock:
                d = self._create(self.register(cfg), cfg, who, form)
                self.publish()
        except DecisionError as e:
            self.audit("decisions.web.create", _who(environ), environ, "refused", reason=str(e)[:300])
            return refusal(environ, start_response, e, self.root, back)
        self.audit("decisions.web.create", who.name, environ, "ok", decision=d.id)
        return see_other(start_response, f"{d.id}.html")

    def _draft_page(self, environ: dict[str, Any], start_response: StartResponse, cfg: Any, who: Actor,
                    status: int) -> Iterable[bytes]:
        from geoportal.model import Workspace

        layers = sorted(Workspace(self.root).read_layers())
        return page(environ, start_response, status, "new.html", self.root, who=who, kinds=[k.value for k in Kind],
                    kind_uk=KIND_UK, issuer=who.org or cfg.node.katotth, admin=who.role == "admin", layers=layers)

    @staticmethod
    def _create(reg: Any, cfg: Any, who: Actor, form: Form) -> Decision:
        issuer = form.text("issuer", limit=40) if who.role == "admin" else (who.org or "")
        geometry = form.text("geometry", limit=200_000) or None
        layer, ids = form.text("layer", limit=80), form.text("features", limit=5000)
        features = None
        if ids or (layer and not geometry):
            if not layer:
                raise BadForm("field 'layer': choose the layer the feature ids are of")
            try:
                features = (layer, [int(x) for x in re.split(r"[\s,;]+", ids) if x])
            except ValueError:
                raise BadForm(f"field 'features': give feature ids as whole numbers, e.g. '3, 5' (got '{ids}')") \
                    from None
        parties = [p for p in re.split(r"[\s,;]+", form.text("parties", limit=5000)) if p]
        title = Text(form.text("title_uk", required=True, limit=500), form.text("title_en", limit=500))
        return reg.create(who, title=title,
                          summary=Text(form.text("summary_uk", limit=5000), form.text("summary_en", limit=5000)),
                          kind=form.text("kind", required=True, limit=40), issuer=issuer, geometry=geometry,
                          features=features, parties=parties, reason="drafted on the node's page")


def _who(environ: dict[str, Any]) -> str:
    from access.web import principal_of

    return principal_of(environ).describe()

