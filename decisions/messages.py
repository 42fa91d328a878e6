"""The documents nodes exchange about an agreement, and their signatures.

Two kinds, each a JSON document with a global ``urn:uuid:`` id (what makes delivery idempotent):

    agreement-request   the issuing node asks a party (a body by KATOTTH, or CODE/unit) to agree by a deadline
    decision-answer     the party's answer (agree / object with reasons), sent back to the issuing node

A message travels as the body of ``POST <node>/decisions/messages`` with the header ``Geoportal-Signature``:
a JWT signed with the sending node's own key (access/tokens.py, ES256) whose ``msg`` claim is the SHA-256 of
the exact body bytes. The receiver verifies it with :class:`access.tokens.Verifier`, so it accepts messages
only from the nodes it lists in ``access.trusted_issuers`` (and its own), and only the body that was signed.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decisions.errors import DecisionError, Forbidden
from decisions.model import Answer, Decision

SIGNATURE_HEADER = "Geoportal-Signature"
REQUEST, ANSWER = "agreement-request", "decision-answer"
SIGNATURE_TTL = 600  # seconds: a signature is made per delivery attempt, so it never needs to live long


@dataclass(frozen=True)
class NodeInfo:
    """Who this node is on the network: what a message names as its sender."""

    id: str
    katotth: str
    url: str

    def to_dict(self) -> dict[str, str]:
        return {"node": self.id, "katotth": self.katotth, "url": self.url}


def party_body(party: str) -> str:
    """The body a party belongs to: an oblast department ``CODE/unit`` is answered by the node of ``CODE``."""
    return party.split("/", 1)[0]


def request_document(d: Decision, party: str, sender: NodeInfo, now: str) -> dict[str, Any]:
    """What a party needs to judge a decision without opening the sender's register."""
    just = d.justification or {}
    return {
        "type": REQUEST, "version": 1, "id": f"urn:uuid:{uuid.uuid4()}", "party": party, "sent_at": now,
        "from": sender.to_dict(),
        "decision": {"id": d.id, "title": {"uk": d.title.uk, "en": d.title.en},
                     "summary": {"uk": d.summary.uk, "en": d.summary.en}, "kind": d.kind, "issuer": d.issuer,
                     "geometry": d.geometry, "agreement_deadline": d.agreement_deadline,
                     "page": f"{sender.url}/decisions/{d.id}.html",
                     "documents": [{"name": x.name, "sha256": x.sha256, "role": x.role} for x in d.documents],
                     "justification_at": just.get("at")},
    }


def answer_message(a: Answer, request_id: str | None, sender: NodeInfo) -> dict[str, Any]:
    """An answer as it travels back: the answer document itself plus who sends it and what it answers."""
    return {"type": ANSWER, "version": 1, "id": a.id, "decision": a.decision, "party": a.party, "answer": a.answer,
            "at": a.at, "by": a.by, "reasons": a.reasons, "in_reply_to": request_id, "from": sender.to_dict()}


def canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(cfg: Any, workspace_root: Path, body: bytes, now: int | None = None) -> str:
    """A short-lived JWT of this node over ``body`` (its SHA-256 in the ``msg`` claim)."""
    from joserfc import jwt

    from access.tokens import NodeKey, _access, node_issuer

    key = NodeKey(workspace_root).load()
    iat = int(time.time()) if now is None else now
    claims = {"iss": node_issuer(cfg), "sub": f"node:{cfg.node.id}", "aud": _access(cfg).audience, "iat": iat,
              "nbf": iat, "exp": iat + SIGNATURE_TTL, "jti": uuid.uuid4().hex, "roles": ["official"],
              "org": cfg.node.katotth, "msg": hashlib.sha256(body).hexdigest()}
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])


def verify(verifier: Any, token: str | None, body: bytes) -> tuple[str, str]:
    """(issuer, KATOTTH of the sending body) of a signed message, or :class:`Forbidden` saying why not."""
    from joserfc import jws

    from access.errors import AccessError

    if not token:
        raise Forbidden(f"a message between nodes needs the {SIGNATURE_HEADER} header (a JWT of the sending node)")
    try:
        principal = verifier.verify(token)
    except AccessError as e:
        raise Forbidden(f"the message's signature is not accepted: {e}") from None
    claims = json.loads(jws.extract_compact(token.strip().encode("ascii")).payload or b"{}")  # verified above
    if claims.get("msg") != hashlib.sha256(body).hexdigest():
        raise Forbidden("the message body is not the one its signature covers (altered on the way?)")
    if not principal.organisation:
        raise Forbidden(f"the signature of {claims.get('iss')} names no body (org claim); the node's tokens must "
                        "carry its KATOTTH code")
    return str(claims["iss"]), principal.organisation


def check_document(doc: Any) -> dict[str, Any]:
    """The shape of a received message (fail closed on anything else)."""
    from decisions.checks import party
    from decisions.model import KATOTTH

    if not isinstance(doc, dict) or doc.get("type") not in (REQUEST, ANSWER) or doc.get("version") != 1:
        raise DecisionError("not a decision message: give type agreement-request or decision-answer, version 1")
    if not str(doc.get("id", "")).startswith("urn:uuid:"):
        raise DecisionError("message id: a urn:uuid: is required (it makes delivery idempotent)")
    frm = doc.get("from")
    if not isinstance(frm, dict) or not KATOTTH.match(str(frm.get("katotth", ""))):
        raise DecisionError("message 'from': the sending node's {node, katotth, url} is required")
    party(str(doc.get("party", "")))
    if doc["type"] == ANSWER and doc.get("answer") not in ("agree", "object"):
        raise DecisionError("answer: agree or object")
    if doc["type"] == REQUEST and not isinstance(doc.get("decision"), dict):
        raise DecisionError("agreement-request: the decision is missing")
    return doc
