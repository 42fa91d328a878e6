"""Agreement across the network, as actions of the register (mixed into :class:`decisions.service.Register`):
the outbox and the inbox of a node, kept in its register's storage (table ``decision_messages``) so a request
is queued in the SAME transaction that moves the decision to agreement — it is never lost, never sent for a
move that was rolled back.

    issuing node                                       party's node
    transition → agreement: one request per party  ─►  receive(): in the inbox (idempotent by message id)
        (outbox, delivered by `decision sync`)           an official answers agree / object (answer_request)
    receive(): the answer joins the decision       ◄─  the answer in ITS outbox, delivered by its sync
    record_silence(): after the deadline, the parties that did not answer are recorded as silent

Message states: outbox ``pending`` → ``delivered`` (or ``refused`` when the receiver said the message itself is
wrong); inbox requests ``open`` → ``answered`` (or shown as ``silence`` after the deadline); inbox answers
``applied`` or ``late`` (arrived after the decision moved on; kept, not applied).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from decisions import permissions
from decisions.errors import DeadlineError, DecisionError, Forbidden, NotFound
from decisions.history import diff
from decisions.messages import ANSWER, REQUEST, NodeInfo, answer_message, party_body, request_document
from decisions.model import Actor, Answer, Decision, Status, iso, parse_time, utcnow
from decisions.repository import Repository

OUT, IN = "out", "in"
FIRST_RETRY = 30  # seconds after the first failure; doubles after each next one


def backoff(attempts: int, longest: int) -> int:
    return int(min(FIRST_RETRY * 2 ** max(attempts - 1, 0), longest))


class AgreementActions:
    repo: Repository
    node: NodeInfo | None
    retry_max_seconds: int

    # -- the issuing side ------------------------------------------------------------------------------
    def _queue_requests(self, tx: Any, d: Decision, now: datetime) -> None:
        """One request per party into the outbox, in the transaction that moves ``d`` to agreement."""
        if self.node is None:
            return
        for p in d.parties:
            body = request_document(d, p, self.node, iso(now))
            tx.put_message(OUT, {"id": body["id"], "state": "pending", "kind": REQUEST, "to": p,
                                 "to_body": party_body(p), "url": None, "body": body, "attempts": 0,
                                 "next_try": iso(now), "queued_at": iso(now), "delivered_at": None,
                                 "last_error": None}, new=True)

    def record_silence(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """After an agreement deadline, record each party that did not answer as ``silence`` (who: the
        register itself). Returns (decision, party) pairs recorded now."""
        now = now or utcnow()
        done: list[tuple[str, str]] = []
        for d in self.list(status=Status.AGREEMENT.value):  # type: ignore[attr-defined]
            if not d.agreement_deadline or now <= parse_time(d.agreement_deadline):
                continue
            silent = [p for p in d.parties if d.answer_of(p) is None]
            if not silent:
                continue

            def change(tx: Any, x: Decision, now: datetime, silent: list[str] = silent) -> None:
                for p in silent:
                    if x.answer_of(p) is None:
                        x.answers.append(Answer(id=f"urn:uuid:{uuid.uuid4()}", decision=x.id, party=p,
                                                answer="silence", at=iso(now), by=None,
                                                reasons="no answer by the deadline"))
            self._change(REGISTER, d.id, "silence", f"no answer by {d.agreement_deadline}", now,  # type: ignore[attr-defined]
                         change)
            done += [(d.id, p) for p in silent]
        return done

    # -- receiving -------------------------------------------------------------------------------------
    def receive(self, doc: dict[str, Any], sender_org: str, sender: str, now: datetime | None = None) -> str:
        """Take a message another node signed (``sender_org``: the KATOTTH its signature names). Idempotent:
        a message id seen before is answered with its state and changes nothing."""
        now = now or utcnow()
        if doc["from"]["katotth"] != sender_org:
            raise Forbidden(f"the message says it is from {doc['from']['katotth']} but is signed by {sender} for "
                            f"{sender_org}")
        with self.repo.transaction() as tx:
            seen = tx.get_message(IN, doc["id"])
            if seen is not None:
                return f"already received ({seen['state']})"
            item = {"id": doc["id"], "kind": doc["type"], "body": doc, "received_at": iso(now), "sender": sender}
            if doc["type"] == REQUEST:
                if self.node is not None and party_body(doc["party"]) != self.node.katotth:
                    raise Forbidden(f"the request is for {doc['party']}, and this node serves {self.node.katotth}")
                tx.put_message(IN, {**item, "state": "open", "answer": None}, new=True)
                return "open"
            if party_body(doc["party"]) != sender_org:
                raise Forbidden(f"{sender_org} may not answer for party {doc['party']}: only that body's node may")
            state = self._apply_answer(tx, doc, now)
            tx.put_message(IN, {**item, "state": state}, new=True)
            return state

    def _apply_answer(self, tx: Any, doc: dict[str, Any], now: datetime) -> str:
        try:
            d = tx.get_decision(doc["decision"])
        except NotFound:
            return "late: no such decision here any more"
        old = d.to_dict()
        if doc["party"] not in d.parties:
            raise DecisionError(f"decision {d.id} does not ask {doc['party']} to agree")
        if any(a.id == doc["id"] for a in d.answers):
            return "applied"
        if d.status != Status.AGREEMENT.value or d.answer_of(doc["party"]) is not None:
            return f"late: decision {d.id} is '{d.status}', {doc['party']} recorded as " \
                   f"{getattr(d.answer_of(doc['party']), 'answer', 'nothing')}"
        if d.agreement_deadline and parse_time(doc["at"]) > parse_time(d.agreement_deadline):
            return f"late: answered {doc['at']}, after the deadline {d.agreement_deadline}"
        d.answers.append(Answer(id=doc["id"], decision=d.id, party=doc["party"], answer=doc["answer"], at=doc["at"],
                                by=f"{doc.get('by')}@{doc['from']['node']}", reasons=doc.get("reasons")))
        d.updated_at = iso(now)
        tx.put_decision(d)
        who = Actor(f"{doc.get('by')}@{doc['from']['node']}", "official", party_body(doc["party"]))
        tx.log(diff("decision", old, d.to_dict(), who, "answer", iso(now), doc.get("reasons")))
        return "applied"

    # -- the party's side ------------------------------------------------------------------------------
    def inbox(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """The agreement requests this node received, newest first, each with its state as of ``now``
        (an open one past its deadline shows as ``silence``)."""
        now = now or utcnow()
        with self.repo.transaction() as tx:  # a write transaction: creates the table on an older register
            items = tx.list_messages(IN)
        out = []
        for m in reversed(items):
            if m["kind"] != REQUEST:
                continue
            deadline = m["body"]["decision"].get("agreement_deadline")
            if m["state"] == "open" and deadline and now > parse_time(deadline):
                m = {**m, "state": "silence"}
            out.append(m)
        return out

    def answer_request(self, actor: Actor, message_id: str, answer: str, *, reasons: str | None = None,
                       now: datetime | None = None) -> Answer:
        """An official of this node answers a request from its inbox; the answer is kept here and queued to
        travel back to the issuing node (both in one transaction)."""
        now = now or utcnow()
        if answer not in ("agree", "object"):
            raise DecisionError(f"answer '{answer}': give agree or object")
        if answer == "object" and not (reasons or "").strip():
            raise DecisionError("an objection needs its reasons")
        with self.repo.transaction() as tx:
            m = tx.get_message(IN, message_id)
            if m is None or m["kind"] != REQUEST:
                raise NotFound(f"no agreement request '{message_id}' in this node's inbox")
            req = m["body"]
            permissions.check(actor, "answer", party=party_body(req["party"]))
            if m["state"] != "open":
                raise DecisionError(f"request {message_id} is already answered ({m['answer']['answer']}); an answer "
                                    "is never changed")
            deadline = req["decision"].get("agreement_deadline")
            if deadline and now > parse_time(deadline):
                raise DeadlineError(f"the deadline {deadline} of decision {req['decision']['id']} has passed; the "
                                    "silence of the party is recorded")
            a = Answer(id=f"urn:uuid:{uuid.uuid4()}", decision=req["decision"]["id"], party=req["party"],
                       answer=answer, at=iso(now), by=actor.name, reasons=(reasons or "").strip() or None)
            sender = self.node or NodeInfo("unknown", party_body(req["party"]), "")
            body = answer_message(a, req["id"], sender)
            tx.put_message(IN, {**m, "state": "answered", "answer": body}, new=False)
            tx.put_message(OUT, {"id": a.id, "state": "pending", "kind": ANSWER, "to": req["decision"]["issuer"],
                                 "to_body": req["from"]["katotth"], "url": req["from"].get("url"), "body": body,
                                 "attempts": 0, "next_try": iso(now), "queued_at": iso(now), "delivered_at": None,
                                 "last_error": None}, new=True)
        return a

    # -- the outbox ------------------------------------------------------------------------------------
    def outbox(self, state: str | None = None) -> list[dict[str, Any]]:
        with self.repo.transaction() as tx:
            return tx.list_messages(OUT, state)

    def due(self, now: datetime, force: bool = False) -> list[dict[str, Any]]:
        """Pending messages whose next attempt is due (all pending ones with ``force``)."""
        return [m for m in self.outbox("pending") if force or parse_time(m["next_try"]) <= now]

    def attempted(self, message_id: str, *, url: str | None, error: str | None, final: bool = False,
                  now: datetime | None = None) -> dict[str, Any]:
        """Record one delivery attempt: delivered (no error), to retry later (error), or refused for good."""
        now = now or utcnow()
        with self.repo.transaction() as tx:
            m = tx.get_message(OUT, message_id)
            if m is None:
                raise NotFound(f"no message '{message_id}' in the outbox")
            m["attempts"] += 1
            m["url"] = url or m.get("url")
            if error is None:
                m["state"], m["delivered_at"], m["last_error"] = "delivered", iso(now), None
            else:
                m["last_error"] = error
                m["state"] = "refused" if final else "pending"
                m["next_try"] = iso(now + timedelta(seconds=backoff(m["attempts"], self.retry_max_seconds)))
            tx.put_message(OUT, m)
        return m


#: the register itself, as the actor of what it records on its own (silence after a deadline)
REGISTER = Actor("register", "system", None)
