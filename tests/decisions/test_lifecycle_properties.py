"""Any sequence of requested moves (hypothesis, bounded): the register only ever follows the fixed
lifecycle, refuses every other move without changing anything, and its history of statuses is one unbroken
chain from draft to the current state."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisions.errors import DecisionError
from decisions.model import NEXT, Actor, Status, Text
from decisions.repo_gpkg import GpkgRepository
from decisions.service import Register

OVRUCH = "UA18060170000069581"
HEAD = Actor("Іван Петренко", "head", OVRUCH)
START = datetime(2026, 3, 1, tzinfo=timezone.utc)
TARGETS = [s.value for s in Status]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.sampled_from(TARGETS), min_size=1, max_size=8))
def test_only_the_lifecycle_is_ever_followed(tmp_path_factory, moves: list[str]) -> None:  # type: ignore[no-untyped-def]
    reg = Register(GpkgRepository(tmp_path_factory.mktemp("prop") / "d.gpkg"))
    text = tmp_path_factory.mktemp("doc") / "text.pdf"
    text.write_bytes(b"adopted")
    d = reg.create(HEAD, title=Text("Рішення"), summary=Text(""), kind="council-decision", issuer=OVRUCH,
                   geometry="POINT (28.55 51.32)", now=START)
    now = START
    for to in moves:
        now += timedelta(days=40)  # every deadline given below has passed by the next move
        before = reg.get(d.id)
        allowed = to in [s.value for s in NEXT[Status(before.status)]]
        try:
            reg.transition(HEAD, d.id, to, reason=f"→ {to}", now=now,
                           consultation_until=(now + timedelta(days=10)).date().isoformat(),
                           agreement_deadline=(now + timedelta(days=20)).date().isoformat(), adopted_text=text)
        except DecisionError:
            assert not allowed or to == "completed", (before.status, to)
            assert reg.get(d.id) == before
            continue
        assert allowed, (before.status, to)
        assert reg.get(d.id).status == to
    chain = [(h.old, h.new) for h in reg.history(d.id) if h.field == "status"]
    assert chain[0] == (None, "draft")
    for (_, a), (b, c) in zip(chain, chain[1:]):
        assert a == b and Status(c) in NEXT[Status(b)]
    assert chain[-1][1] == reg.get(d.id).status


def test_final_states_are_final() -> None:
    assert NEXT[Status.COMPLETED] == () and NEXT[Status.CANCELLED] == ()
    assert all(Status.CANCELLED in NEXT[s] for s in NEXT if NEXT[s])
    with pytest.raises(ValueError):
        Status("approved")
