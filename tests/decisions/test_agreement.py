"""Agreement between two registers (two nodes' GeoPackages, the messages handed over as the transport would):
what the issuing and the party's node record at each step, the deadline and silence, late and foreign answers.
The transport itself — signatures, a node down, retries — is tested on served nodes in test_network.py."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from decisions.errors import DeadlineError, DecisionError, Forbidden
from decisions.messages import NodeInfo
from decisions.model import Actor, Text
from decisions.repo_gpkg import GpkgRepository
from decisions.service import Register, agreement_state
from tests.decisions.conftest import OLEVSK, OVRUCH, SLOVECHNE

OFFICIAL = Actor("koval", "official", OVRUCH)
HEAD = Actor("holova", "head", OVRUCH)
AREA = "POLYGON ((28.80 51.30, 28.90 51.30, 28.90 51.36, 28.80 51.36, 28.80 51.30))"


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)


def node(tmp: Path, name: str, katotth: str) -> Register:
    return Register(GpkgRepository(tmp / f"{name}.gpkg"), node=NodeInfo(name, katotth, f"http://{name}"))


@pytest.fixture()
def three(tmp_path: Path) -> tuple[Register, Register, Register, str]:
    ovruch, olevsk, slovechne = (node(tmp_path, "ovruch", OVRUCH), node(tmp_path, "olevsk", OLEVSK),
                                 node(tmp_path, "slovechne", SLOVECHNE))
    d = ovruch.create(OFFICIAL, title=Text("Детальний план"), summary=Text(""), kind="detailed-plan", issuer=OVRUCH,
                      geometry=AREA, parties=[OLEVSK, SLOVECHNE], now=t("2026-03-01T09:00"))
    ovruch.transition(OFFICIAL, d.id, "consultation", reason="r", consultation_until="2026-03-02",
                      now=t("2026-03-01T10:00"))
    ovruch.transition(OFFICIAL, d.id, "agreement", reason="r", agreement_deadline="2026-03-20",
                      now=t("2026-03-03T10:00"))
    return ovruch, olevsk, slovechne, d.id


def deliver(frm: Register, to: Register, kind: str, now: str) -> list[str]:
    """Hand the sender's pending messages of ``kind`` addressed to ``to`` over, as a sync would."""
    states = []
    for m in frm.outbox("pending"):
        if m["kind"] == kind and m["to_body"] == to.node.katotth:
            states.append(to.receive(m["body"], frm.node.katotth, f"urn:geoportal:{frm.node.id}", now=t(now)))
            frm.attempted(m["id"], url=to.node.url, error=None, now=t(now))
    return states


def test_requests_answers_and_silence(three) -> None:  # type: ignore[no-untyped-def]
    ovruch, olevsk, slovechne, did = three
    assert deliver(ovruch, olevsk, "agreement-request", "2026-03-03T11:00") == ["open"]
    assert deliver(ovruch, slovechne, "agreement-request", "2026-03-03T11:00") == ["open"]
    [req] = olevsk.inbox(now=t("2026-03-04T09:00"))
    assert (req["state"], req["body"]["decision"]["id"], req["body"]["from"]["url"]) == ("open", did, "http://ovruch")
    with pytest.raises(Forbidden):  # an official of another body
        olevsk.answer_request(OFFICIAL, req["id"], "agree", now=t("2026-03-04T09:00"))
    with pytest.raises(DecisionError, match="reasons"):
        olevsk.answer_request(Actor("p", "official", OLEVSK), req["id"], "object", now=t("2026-03-04T09:00"))
    olevsk.answer_request(Actor("p", "official", OLEVSK), req["id"], "object", reasons="ліс", now=t("2026-03-04T09:00"))
    with pytest.raises(DecisionError, match="never changed"):
        olevsk.answer_request(Actor("p", "official", OLEVSK), req["id"], "agree", now=t("2026-03-04T10:00"))
    assert deliver(olevsk, ovruch, "decision-answer", "2026-03-05T09:00") == ["applied"]
    assert agreement_state(ovruch.get(did), t("2026-03-05T09:00")) == {OLEVSK: "object", SLOVECHNE: "pending"}
    # Slovechne stays silent: its inbox shows it after the deadline, which refuses a late answer
    [sreq] = slovechne.inbox(now=t("2026-03-21T09:00"))
    assert sreq["state"] == "silence"
    with pytest.raises(DeadlineError):
        slovechne.answer_request(Actor("s", "official", SLOVECHNE), sreq["id"], "agree", now=t("2026-03-21T09:00"))
    assert ovruch.record_silence(t("2026-03-21T00:00")) == [(did, SLOVECHNE)]
    assert ovruch.record_silence(t("2026-03-22T00:00")) == []  # recorded once
    d = ovruch.get(did)
    assert [(a.party, a.answer) for a in d.answers] == [(OLEVSK, "object"), (SLOVECHNE, "silence")]
    assert [h.action for h in ovruch.history(did)][-1] == "silence"


def test_late_and_foreign_answers(three) -> None:  # type: ignore[no-untyped-def]
    ovruch, olevsk, slovechne, did = three
    deliver(ovruch, olevsk, "agreement-request", "2026-03-03T11:00")
    [req] = olevsk.inbox(now=t("2026-03-04T09:00"))
    olevsk.answer_request(Actor("p", "official", OLEVSK), req["id"], "agree", now=t("2026-03-04T09:00"))
    [ans] = [m for m in olevsk.outbox("pending") if m["kind"] == "decision-answer"]
    # Slovechne's node may not carry Olevsk's answer
    with pytest.raises(Forbidden):
        ovruch.receive(ans["body"], SLOVECHNE, "urn:geoportal:slovechne", now=t("2026-03-05T09:00"))
    # the decision moved on (cancelled) before the answer arrived: kept as late, never applied
    ovruch.transition(HEAD, did, "cancelled", reason="відкликано", now=t("2026-03-04T12:00"))
    state = ovruch.receive(ans["body"], OLEVSK, "urn:geoportal:olevsk", now=t("2026-03-05T09:00"))
    assert state.startswith("late") and ovruch.get(did).answers == []
    # a request for another body is refused by the node that receives it
    other = next(m for m in ovruch.outbox("pending") if m["to"] == SLOVECHNE)
    with pytest.raises(Forbidden, match="this node serves"):
        olevsk.receive(other["body"], OVRUCH, "urn:geoportal:ovruch")


def test_a_move_rolled_back_sends_nothing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from decisions.repo_gpkg import _GpkgTx

    ovruch = node(tmp_path, "ovruch", OVRUCH)
    d = ovruch.create(OFFICIAL, title=Text("x"), summary=Text(""), kind="other", issuer=OVRUCH, geometry=AREA,
                      parties=[OLEVSK], now=t("2026-03-01T09:00"))
    ovruch.transition(OFFICIAL, d.id, "consultation", reason="r", consultation_until="2026-03-02",
                      now=t("2026-03-01T10:00"))

    def crash(self, rows):  # type: ignore[no-untyped-def]
        raise RuntimeError("killed after the requests were queued")

    monkeypatch.setattr(_GpkgTx, "log", crash)
    with pytest.raises(RuntimeError):
        ovruch.transition(OFFICIAL, d.id, "agreement", reason="r", agreement_deadline="2026-03-20",
                          now=t("2026-03-03T10:00"))
    monkeypatch.undo()
    assert ovruch.outbox() == [] and ovruch.get(d.id).status == "consultation"
