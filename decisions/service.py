"""The actions of the register. Each one opens ONE repository transaction, reads the current value, checks
the permission (permissions.check) and the lifecycle, makes the new value, and writes it with one history
row per changed field (who, when, old → new, why). Any error — a refused check, a storage failure, a crash
in between — rolls the transaction back: the previous state stays whole.

Time is a parameter (``now``) of every action, so deadlines are decided by the caller's clock and tests can
step across them.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from decisions import checks, permissions
from decisions.errors import DeadlineError, DecisionError, IllegalTransition, NotFound
from decisions.geometry import drawn, from_features
from decisions.history import diff
from decisions.justification import DEFAULT_AREA_CRS, cited_indicators, justify
from decisions.model import (NEXT, Actor, Answer, Comment, Decision, Document, HistoryRow, Kind, Milestone,
                             Status, Target, Text, iso, parse_time, utcnow)
from decisions.agreement import AgreementActions
from decisions.messages import NodeInfo
from decisions.projects import ProjectActions
from decisions.repository import DECISIONS, Repository
from decisions.stores import DocumentStore, open_documents
from decisions.versions import check_match
from geoportal.model import StoredLayer

OPEN = {s.value for s, nxt in NEXT.items() if nxt}


def sha256_file(path: Path) -> Document:
    """The checksum of a file without keeping it (kept for callers that only identify a file)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return Document(name=path.name, sha256=h.hexdigest(), size=path.stat().st_size)


@dataclass
class Register(ProjectActions, AgreementActions):
    """The decision register of one node: its repository and what justification needs from the node (its
    stored layers, the passports, the dataset labels, the equal-area CRS); ``node``: who the node is on the
    network (the sender of its agreement requests; None: requests are not queued)."""

    repo: Repository
    layers: dict[str, StoredLayer] = field(default_factory=dict)
    passports_gpkg: Path | None = None  # the node's passports.gpkg; needed only when a decision cites indicators
    labels: dict[str, str | None] = field(default_factory=dict)
    area_crs: str = DEFAULT_AREA_CRS
    node: NodeInfo | None = None
    retry_max_seconds: int = 3600
    #: where the bytes of the documents are kept; None: next to a GeoPackage register (see __post_init__)
    documents: DocumentStore | None = None

    def __post_init__(self) -> None:
        from decisions.repo_gpkg import GpkgRepository

        if self.documents is None and isinstance(self.repo, GpkgRepository):
            self.documents = open_documents(self.repo.path.parent)

    @classmethod
    def for_node(cls, cfg: Any, ws: Any) -> "Register":
        from decisions.stores import open_repository

        area_crs = DEFAULT_AREA_CRS
        if cfg.passport:
            from passport.config import load_passport_config

            area_crs = load_passport_config(cfg.resolve(cfg.passport)).area_crs
        from decisions.nodeurl import node_base_url

        node = NodeInfo(cfg.node.id, cfg.node.katotth, node_base_url(cfg, ws))
        return cls(open_repository(cfg, ws.root), ws.read_layers(), ws.root / "passport" / "passports.gpkg",
                   {d.id: d.label for d in cfg.datasets}, area_crs, node, cfg.decisions.retry_max_seconds,
                   open_documents(ws.root))

    # -- reading ---------------------------------------------------------------------------------------
    def get(self, id: str) -> Decision:
        with self.repo.transaction(write=False) as tx:
            return tx.get_decision(id, lock=False)

    def list(self, status: str | None = None, kind: str | None = None) -> list[Decision]:
        with self.repo.transaction(write=False) as tx:
            return tx.list_decisions(status, kind)

    def history(self, id: str, entity: str = "decision") -> list[HistoryRow]:
        with self.repo.transaction(write=False) as tx:
            (tx.get_decision if entity == "decision" else tx.get_project)(id, lock=False)
            return tx.history(entity, id)

    # -- decisions -------------------------------------------------------------------------------------
    def create(self, actor: Actor, *, title: Text, summary: Text, kind: str, issuer: str,
               geometry: str | dict[str, Any] | None = None, features: tuple[str, list[int]] | None = None,
               parties: list[str] = (), cites: list[dict[str, str]] = (), documents: list[Path] = (),  # type: ignore[assignment]
               reason: str = "drafted", now: datetime | None = None) -> Decision:
        """A new decision in ``draft``. Geometry is drawn (WKT/GeoJSON) or ``features=(dataset, ids)``."""
        now = now or utcnow()
        checks.katotth(issuer, "issuer")
        permissions.check(actor, "draft", owner=issuer)
        if kind not in {k.value for k in Kind}:
            raise DecisionError(f"kind '{kind}' is not one of: {', '.join(k.value for k in Kind)}")
        if not title.uk.strip():
            raise DecisionError("title: the Ukrainian title is required")
        wkt, source = self._geometry(geometry, features)
        for p in parties:
            checks.party(p)
        checks.check_cites(cites)
        docs = [self._document(Path(p), "draft-text", now) for p in documents]
        with self.repo.transaction() as tx:
            prefix = f"D-{now.year}-"
            n = max(tx.count_ids(DECISIONS, prefix), tx.count_created("decision", prefix)) + 1
            d = Decision(id=f"D-{now.year}-{n:03d}", title=title, summary=summary, kind=kind, issuer=issuer,
                         geometry=wkt, geometry_source=source, documents=docs, parties=list(parties),
                         cites=[dict(c) for c in cites], created_at=iso(now), updated_at=iso(now))
            tx.put_decision(d, new=True)
            tx.log(diff("decision", None, d.to_dict(), actor, "create", iso(now), reason))
        return d

    def _geometry(self, geometry: str | dict[str, Any] | None,
                  features: tuple[str, list[int]] | None) -> tuple[str | None, dict[str, Any]]:
        if geometry is not None and features is not None:
            raise DecisionError("give the geometry OR the features it is taken from, not both")
        if features is not None:
            ds, fids = features
            if ds not in self.layers:
                raise DecisionError(f"dataset '{ds}' is not a stored layer of this node "
                                    f"(stored: {', '.join(sorted(self.layers)) or 'none'})")
            return from_features(self.layers[ds], list(fids))
        if geometry is None:
            return None, {}
        return drawn(geometry)

    def document_store(self) -> DocumentStore:
        if self.documents is None:
            raise DecisionError("this register has no document store, so a document's file would be lost; open "
                                "it with Register.for_node (documents in <workspace>/decision-documents)")
        return self.documents

    def _document(self, path: Path, role: str, now: datetime) -> Document:
        """The file kept in the document store (before the transaction that records it) and its record."""
        if not path.is_file():
            raise DecisionError(f"{path}: no such document file")
        sha, size = self.document_store().put_file(path)
        return Document(path.name, sha, size, role, iso(now))

    def keep_document(self, name: str, data: bytes, role: str = "draft-text", now: datetime | None = None) -> Document:
        """Bytes received over the web (an adopted text in a PATCH) kept like a file given to the CLI."""
        sha, size = self.document_store().put_bytes(data)
        return Document(Path(name).name, sha, size, role, iso(now or utcnow()))

    def _change(self, actor: Actor, id: str, action: str, reason: str | None, now: datetime | None,
                change: Any, if_match: str | None = None) -> Decision:
        """The frame of every change: lock, copy, ``change(tx, new, now)``, save + history, all in one tx.
        ``if_match``: the entity tag the caller read; a different stored one refuses the change."""
        now = now or utcnow()
        with self.repo.transaction() as tx:
            old = tx.get_decision(id)
            check_match(old, if_match, f"decision {id}")
            new = copy.deepcopy(old)
            change(tx, new, now)
            new.updated_at = iso(now)
            tx.put_decision(new)
            tx.log(diff("decision", old.to_dict(), new.to_dict(), actor, action, iso(now), reason))
        return new

    def edit(self, actor: Actor, id: str, *, reason: str, now: datetime | None = None,
             title: Text | None = None, summary: Text | None = None, geometry: str | dict[str, Any] | None = None,
             features: tuple[str, list[int]] | None = None, parties: list[str] | None = None,
             cites: list[dict[str, str]] | None = None, kind: str | None = None,
             if_match: str | None = None) -> Decision:
        """Change a draft (after consultation opens the text and geometry are what people commented on)."""
        if kind is not None and kind not in {k.value for k in Kind}:
            raise DecisionError(f"kind '{kind}' is not one of: {', '.join(k.value for k in Kind)}")
        def change(tx: Any, d: Decision, now: datetime) -> None:
            permissions.check(actor, "draft", owner=d.issuer)
            if d.status != Status.DRAFT.value:
                raise IllegalTransition(f"decision {d.id} is in '{d.status}': only a draft can be edited")
            if title is not None:
                if not title.uk.strip():
                    raise DecisionError("title: the Ukrainian title is required")
                d.title = title
            if kind is not None:
                d.kind = kind
            if summary is not None:
                d.summary = summary
            if geometry is not None or features is not None:
                d.geometry, d.geometry_source = self._geometry(geometry, features)
            if parties is not None:
                d.parties = [checks.party(p) for p in parties]
            if cites is not None:
                d.cites = [dict(c) for c in checks.check_cites(cites)]
        return self._change(actor, id, "edit", checks.reason(reason), now, change, if_match)

    def delete(self, actor: Actor, id: str, *, reason: str = "draft withdrawn", now: datetime | None = None,
               if_match: str | None = None) -> None:
        """Remove a draft nobody has seen yet. Anything past draft was public: it is cancelled, never
        removed (its history stays; the delete itself is one history row)."""
        now = now or utcnow()
        with self.repo.transaction() as tx:
            d = tx.get_decision(id)
            check_match(d, if_match, f"decision {id}")
            permissions.check(actor, "draft", owner=d.issuer)
            if d.status != Status.DRAFT.value:
                raise IllegalTransition(f"decision {id} is in '{d.status}': only a draft can be deleted; cancel it "
                                        "instead (status → cancelled), which keeps it and its history public")
            tx.delete(DECISIONS, id)
            tx.log(diff("decision", d.to_dict(), {"id": id, "status": "deleted"}, actor, "delete", iso(now),
                        checks.reason(reason)))

    def add_document(self, actor: Actor, id: str, path: Path, role: str = "draft-text", *, reason: str = "document added",
                     now: datetime | None = None) -> Decision:
        doc = self._document(Path(path), role, now or utcnow())

        def change(tx: Any, d: Decision, now: datetime) -> None:
            permissions.check(actor, "draft", owner=d.issuer)
            if d.status not in OPEN:
                raise IllegalTransition(f"decision {d.id} is '{d.status}': no documents are added to a closed decision")
            d.documents.append(doc)
        return self._change(actor, id, "document", reason, now, change)

    def transition(self, actor: Actor, id: str, to: str, *, reason: str, now: datetime | None = None,
                   consultation_until: str | date | None = None, agreement_deadline: str | date | None = None,
                   adopted_text: Path | Document | None = None, if_match: str | None = None) -> Decision:
        """Move a decision one step of its lifecycle (or cancel it). Moving to consultation freezes the
        justification; to agreement needs the consultation over and a deadline for the parties; to adopted
        needs the adopted text (a file, kept by its sha256) and records the silence of parties who did not
        answer by the deadline."""
        reason = checks.reason(reason)
        if isinstance(adopted_text, Document):
            if not self.document_store().has(adopted_text.sha256):
                raise DecisionError(f"adopted text {adopted_text.name}: its bytes (sha256:{adopted_text.sha256}) are "
                                    "not in the register's document store; give the file (--text FILE) or the "
                                    "content (adopted_text.content_base64)")
            doc: Document | None = Document(adopted_text.name, adopted_text.sha256, adopted_text.size, "adopted-text",
                                            iso(now or utcnow()))
        else:
            doc = self._document(Path(adopted_text), "adopted-text", now or utcnow()) if adopted_text else None

        def change(tx: Any, d: Decision, now: datetime) -> None:
            cur = Status(d.status)
            nxt = [s.value for s in NEXT[cur]]
            if to not in nxt:
                raise IllegalTransition(f"decision {d.id} is in '{cur.value}'; it can move to: "
                                        f"{', '.join(nxt) or 'nothing (final state)'} — not to '{to}'")
            permissions.check(actor, permissions.TRANSITION_ACTION[to], owner=d.issuer)
            getattr(self, f"_enter_{to}")(d, now, consultation_until, agreement_deadline, doc)
            d.status = to
            if to == Status.AGREEMENT.value:
                self._queue_requests(tx, d, now)  # the requests travel only if this move is committed
        return self._change(actor, id, "transition", reason, now, change, if_match)

    def _enter_consultation(self, d: Decision, now: datetime, until: Any, _deadline: Any, _doc: Any) -> None:
        if until is None:
            raise DecisionError(f"decision {d.id}: consultation needs --until (the date comments close)")
        if parse_time(until) <= now:
            raise DeadlineError(f"decision {d.id}: the consultation date {until} is already past; give a later one")
        if d.geometry is None and not d.cites:
            raise DecisionError(f"decision {d.id}: nothing to justify it — draw a geometry or cite indicators first")
        d.consultation_until = iso(parse_time(until))
        d.justification = justify(d.geometry, self.layers, self.passports_gpkg, d.cites, labels=self.labels,
                                  area_crs=self.area_crs, at=iso(now))

    def _enter_agreement(self, d: Decision, now: datetime, _until: Any, deadline: Any, _doc: Any) -> None:
        if d.consultation_until and now <= parse_time(d.consultation_until):
            raise DeadlineError(f"decision {d.id}: the consultation is open until {d.consultation_until}; move "
                                "it to agreement after that")
        if d.parties:
            if deadline is None:
                raise DecisionError(f"decision {d.id}: agreement with {len(d.parties)} parties needs --deadline")
            if parse_time(deadline) <= now:
                raise DeadlineError(f"decision {d.id}: the agreement deadline {deadline} is already past")
            d.agreement_deadline = iso(parse_time(deadline))

    def _enter_adopted(self, d: Decision, now: datetime, _u: Any, _d: Any, doc: Document | None) -> None:
        waiting = [p for p in d.parties if d.answer_of(p) is None]
        if waiting and d.agreement_deadline and now <= parse_time(d.agreement_deadline):
            raise DeadlineError(f"decision {d.id}: {', '.join(waiting)} may still answer until "
                                f"{d.agreement_deadline}; adopt after the deadline or when all have answered")
        for p in waiting:  # silence after the deadline is recorded as silence
            d.answers.append(Answer(id=f"urn:uuid:{uuid.uuid4()}", decision=d.id, party=p, answer="silence",
                                    at=iso(now), by=None, reasons="no answer by the deadline"))
        if doc is None and not any(x.role == "adopted-text" for x in d.documents):
            raise DecisionError(f"decision {d.id}: adoption needs the adopted text (--text FILE)")
        if doc is not None:
            d.documents.append(doc)

    def _enter_implementation(self, d: Decision, *_: Any) -> None:
        pass

    def _enter_completed(self, d: Decision, now: datetime, *_: Any) -> None:
        undone = [m.title for m in d.milestones if m.done_at is None]
        if undone:
            raise DecisionError(f"decision {d.id}: milestones not done: {'; '.join(undone)}; report them first")

    def _enter_cancelled(self, d: Decision, *_: Any) -> None:
        pass

    # -- consultation ----------------------------------------------------------------------------------
    def comment(self, actor: Actor, id: str, text: str, *, now: datetime | None = None) -> Comment:
        if not text.strip():
            raise DecisionError("comment: the text is empty")
        made: list[Comment] = []

        def change(tx: Any, d: Decision, now: datetime) -> None:
            permissions.check(actor, "comment")
            if d.status != Status.CONSULTATION.value:
                raise DeadlineError(f"decision {d.id} is in '{d.status}', not in consultation: comments are closed")
            if now > parse_time(d.consultation_until or now):
                raise DeadlineError(f"decision {d.id}: the consultation closed at {d.consultation_until}; "
                                    "no more comments are accepted")
            c = Comment(id=len(d.comments) + 1, author=actor.name, at=iso(now), text=text.strip())
            d.comments.append(c)
            made.append(c)
        self._change(actor, id, "comment", None, now, change)
        return made[0]

    def hide_comment(self, actor: Actor, id: str, comment_id: int, *, reason: str,
                     now: datetime | None = None) -> Decision:
        """Hide (never delete) a comment; the text stays in the register and its history."""
        reason = checks.reason(reason)

        def change(tx: Any, d: Decision, now: datetime) -> None:
            permissions.check(actor, "moderate")
            c = next((c for c in d.comments if c.id == comment_id), None)
            if c is None:
                raise NotFound(f"decision {d.id} has no comment {comment_id}")
            if c.hidden:
                raise DecisionError(f"decision {d.id}: comment {comment_id} is already hidden")
            c.hidden, c.hidden_by, c.hidden_at, c.hidden_reason = True, actor.name, iso(now), reason
        return self._change(actor, id, "hide-comment", reason, now, change)

    # -- agreement -------------------------------------------------------------------------------------
    def answer(self, actor: Actor, id: str, party: str, answer: str, *, reasons: str | None = None,
               now: datetime | None = None) -> Answer:
        if answer not in ("agree", "object"):
            raise DecisionError(f"answer '{answer}': give agree or object")
        if answer == "object" and not (reasons or "").strip():
            raise DecisionError("an objection needs its reasons (--reasons)")
        made: list[Answer] = []

        def change(tx: Any, d: Decision, now: datetime) -> None:
            permissions.check(actor, "answer", party=party)
            if d.status != Status.AGREEMENT.value:
                raise DeadlineError(f"decision {d.id} is in '{d.status}', not in agreement: answers are closed")
            if party not in d.parties:
                raise DecisionError(f"decision {d.id} does not ask {party} to agree (parties: {', '.join(d.parties)})")
            if d.answer_of(party) is not None:
                raise DecisionError(f"decision {d.id}: {party} has already answered; an answer is never changed")
            if d.agreement_deadline and now > parse_time(d.agreement_deadline):
                raise DeadlineError(f"decision {d.id}: the agreement deadline {d.agreement_deadline} has passed; "
                                    "the silence of the party is recorded")
            a = Answer(id=f"urn:uuid:{uuid.uuid4()}", decision=d.id, party=party, answer=answer, at=iso(now),
                       by=actor.name, reasons=reasons)
            d.answers.append(a)
            made.append(a)
        self._change(actor, id, "answer", reasons, now, change)
        return made[0]

    # -- implementation --------------------------------------------------------------------------------
    def add_milestone(self, actor: Actor, id: str, title: str, due: str, responsible: str, *,
                      reason: str = "milestone planned", now: datetime | None = None) -> Milestone:
        date.fromisoformat(checks.day(due))
        checks.katotth(responsible, "responsible body")
        made: list[Milestone] = []

        def change(tx: Any, d: Decision, now: datetime) -> None:
            permissions.check(actor, "milestone", owner=d.issuer)
            if d.status not in OPEN:
                raise IllegalTransition(f"decision {d.id} is '{d.status}': no milestones are added to it")
            m = Milestone(id=len(d.milestones) + 1, title=title, due=due, responsible=responsible)
            d.milestones.append(m)
            made.append(m)
        self._change(actor, id, "milestone", reason, now, change)
        return made[0]

    def report(self, actor: Actor, id: str, milestone: int, progress: int, text: str, *,
               now: datetime | None = None) -> Milestone:
        """A progress report (0–100 %); 100 marks the milestone done."""
        if not 0 <= progress <= 100:
            raise DecisionError(f"progress {progress}: give a percentage 0–100")
        made: list[Milestone] = []

        def change(tx: Any, d: Decision, now: datetime) -> None:
            m = next((m for m in d.milestones if m.id == milestone), None)
            if m is None:
                raise NotFound(f"decision {d.id} has no milestone {milestone}")
            permissions.check(actor, "report", owner=d.issuer, also=(m.responsible,))
            if d.status != Status.IMPLEMENTATION.value:
                raise IllegalTransition(f"decision {d.id} is '{d.status}': progress is reported in implementation")
            m.reports.append({"at": iso(now), "by": actor.name, "progress": progress, "text": text})
            if progress == 100 and m.done_at is None:
                m.done_at = iso(now)
            made.append(m)
        self._change(actor, id, "report", text, now, change)
        return made[0]

    def add_target(self, actor: Actor, id: str, indicator: str, katotth: str, from_value: float, to_value: float, *,
                   now: datetime | None = None) -> Decision:
        checks.katotth(katotth, "target hromada")

        def change(tx: Any, d: Decision, now: datetime) -> None:
            permissions.check(actor, "milestone", owner=d.issuer)
            d.targets.append(Target(indicator, katotth, float(from_value), float(to_value)))
        return self._change(actor, id, "target", f"target {indicator}: {from_value} → {to_value}", now, change)

    def recompute_targets(self, actor: Actor, id: str, *, now: datetime | None = None) -> Decision:
        """Read each target's actual value again from the node's passport (its latest computation)."""
        def change(tx: Any, d: Decision, now: datetime) -> None:
            permissions.check(actor, "report", owner=d.issuer)
            vals = cited_indicators(self.passports_gpkg, [{"katotth": t.katotth, "indicator": t.indicator}
                                                          for t in d.targets])
            for t, v in zip(d.targets, vals):
                t.actual, t.actual_at, t.actual_source_version = v["value"], v["computed_at"], v["source_version"]
        return self._change(actor, id, "recompute-targets", "actual values recomputed", now, change)

    def overdue(self, as_of: date | str) -> list[tuple[Decision, Milestone]]:
        """Milestones of open decisions due before ``as_of`` and not done."""
        day = date.fromisoformat(checks.day(str(as_of)))
        return [(d, m) for d in self.list() if d.status in OPEN for m in d.milestones
                if m.done_at is None and date.fromisoformat(m.due) < day]


def agreement_state(d: Decision, now: datetime | None = None) -> dict[str, str]:
    """Each party's position: agree / object / silence (recorded, or deadline passed) / pending."""
    now = now or utcnow()
    out = {}
    for p in d.parties:
        a = d.answer_of(p)
        if a is not None:
            out[p] = a.answer
        elif d.agreement_deadline and now > parse_time(d.agreement_deadline):
            out[p] = "silence"
        else:
            out[p] = "pending"
    return out


def answer_document(a: Answer) -> dict[str, Any]:
    """An answer as the immutable JSON document nodes exchange (to be signed later)."""
    return {"type": "decision-answer", "version": 1, **asdict(a)}
