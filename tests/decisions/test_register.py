"""The Python API on the GeoPackage register: a crash inside a transaction leaves the previous state and
history whole; every field keeps its history; the permission table refuses what it does not list; the
rules of consultation and agreement."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from decisions import permissions
from decisions.errors import DeadlineError, DecisionError, Forbidden, IllegalTransition
from decisions.model import Actor, Text
from decisions.repo_gpkg import GpkgRepository, _GpkgTx
from decisions.service import Register, agreement_state

OVRUCH = "UA18060170000069581"
SLOVECHNE = "UA18060210000083283"
OFFICIAL = Actor("Олена Коваль", "official", OVRUCH)
HEAD = Actor("Іван Петренко", "head", OVRUCH)


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)


@pytest.fixture()
def reg(sample_node, tmp_path):  # type: ignore[no-untyped-def]
    r = Register.for_node(sample_node.cfg, sample_node.ws)
    r.repo = GpkgRepository(tmp_path / "decisions.gpkg")
    return r


def _draft(reg: Register, **kw):  # type: ignore[no-untyped-def]
    return reg.create(OFFICIAL, title=Text("Програма розвитку", "Development programme"), summary=Text("s", "s"),
                      kind="development-programme", issuer=OVRUCH, geometry="POINT (28.55 51.32)",
                      parties=[SLOVECHNE], now=t("2026-03-01T09:00"), **kw)


def test_a_crash_inside_the_transaction_keeps_the_previous_state(reg, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    d = _draft(reg)
    before = (reg.get(d.id), reg.history(d.id))

    def crash(self, rows):  # the process dies after the new state is written, before its history is
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(_GpkgTx, "log", crash)
    with pytest.raises(KeyboardInterrupt):
        reg.transition(OFFICIAL, d.id, "consultation", reason="обговорення", consultation_until="2026-04-01",
                       now=t("2026-03-02T09:00"))
    monkeypatch.undo()
    assert (reg.get(d.id), reg.history(d.id)) == before
    assert reg.get(d.id).status == "draft" and reg.get(d.id).justification is None
    # and the register still works afterwards
    assert reg.transition(OFFICIAL, d.id, "consultation", reason="обговорення", consultation_until="2026-04-01",
                          now=t("2026-03-02T09:00")).status == "consultation"


def test_every_field_keeps_its_history(reg) -> None:  # type: ignore[no-untyped-def]
    d = _draft(reg)
    reg.edit(OFFICIAL, d.id, reason="уточнено назву", title=Text("Програма розвитку 2026–2030", "Programme 2026–2030"),
             now=t("2026-03-01T10:00"))
    reg.edit(OFFICIAL, d.id, reason="ширша територія",
             geometry="POLYGON ((28.5 51.3, 28.6 51.3, 28.6 51.4, 28.5 51.3))", now=t("2026-03-01T11:00"))
    hist = reg.history(d.id)
    titles = [(h.old, h.new, h.reason, h.at) for h in hist if h.field == "title"]
    assert titles[-1] == ({"uk": "Програма розвитку", "en": "Development programme"},
                          {"uk": "Програма розвитку 2026–2030", "en": "Programme 2026–2030"}, "уточнено назву",
                          "2026-03-01T10:00:00Z")
    geoms = [(h.old, h.new) for h in hist if h.field == "geometry"]
    assert geoms[-1][0] == "POINT (28.55 51.32)" and geoms[-1][1].startswith("POLYGON")
    assert all(h.actor == OFFICIAL.to_dict() for h in hist)


def test_the_permission_table_fails_closed(reg) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden, match="roles allowed"):
        reg.create(Actor("Марія", "citizen"), title=Text("x"), summary=Text(""), kind="other", issuer=OVRUCH)
    with pytest.raises(Forbidden, match="only its own body"):
        reg.create(Actor("Чужий", "official", SLOVECHNE), title=Text("x"), summary=Text(""), kind="other",
                   issuer=OVRUCH)
    with pytest.raises(Forbidden, match="not in the permission table"):
        permissions.check(HEAD, "delete")
    d = _draft(reg)
    reg.transition(OFFICIAL, d.id, "consultation", reason="r", consultation_until="2026-03-10", now=t("2026-03-02T00:00"))
    reg.transition(OFFICIAL, d.id, "agreement", reason="r", agreement_deadline="2026-03-20", now=t("2026-03-11T00:00"))
    with pytest.raises(Forbidden, match="only that body"):  # the issuer cannot agree on a party's behalf
        reg.answer(OFFICIAL, d.id, SLOVECHNE, "agree", now=t("2026-03-12T00:00"))
    with pytest.raises(Forbidden):  # an official may not adopt: only the head
        reg.transition(OFFICIAL, d.id, "adopted", reason="r", now=t("2026-03-21T00:00"))
    assert reg.get(d.id).status == "agreement"
    assert permissions.allowed(Actor("M", "moderator"), "moderate")


def test_consultation_and_agreement_rules(reg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = _draft(reg)
    with pytest.raises(DeadlineError, match="already past"):
        reg.transition(OFFICIAL, d.id, "consultation", reason="r", consultation_until="2026-02-01",
                       now=t("2026-03-02T00:00"))
    reg.transition(OFFICIAL, d.id, "consultation", reason="r", consultation_until="2026-03-10",
                   now=t("2026-03-02T00:00"))
    citizen = Actor("Марія", "citizen")
    c1 = reg.comment(citizen, d.id, "Добре", now=t("2026-03-10T23:59"))  # the closing day is included
    reg.comment(citizen, d.id, "Спам", now=t("2026-03-05T00:00"))
    with pytest.raises(Forbidden):
        reg.hide_comment(citizen, d.id, 2, reason="не подобається")
    reg.hide_comment(Actor("Мод", "moderator"), d.id, 2, reason="спам", now=t("2026-03-06T00:00"))
    got = reg.get(d.id)
    assert [c.text for c in got.visible_comments()] == ["Добре"] and len(got.comments) == 2  # hidden, kept
    assert got.comments[1].hidden_by == "Мод" and c1.id == 1
    with pytest.raises(DeadlineError, match="closed"):
        reg.comment(citizen, d.id, "Пізно", now=t("2026-03-11T00:00"))
    with pytest.raises(DeadlineError, match="open until"):
        reg.transition(OFFICIAL, d.id, "agreement", reason="r", agreement_deadline="2026-03-20",
                       now=t("2026-03-09T00:00"))
    reg.transition(OFFICIAL, d.id, "agreement", reason="r", agreement_deadline="2026-03-20", now=t("2026-03-11T00:00"))
    party = Actor("Петро", "official", SLOVECHNE)
    with pytest.raises(DecisionError, match="reasons"):
        reg.answer(party, d.id, SLOVECHNE, "object", now=t("2026-03-12T00:00"))
    assert agreement_state(reg.get(d.id), t("2026-03-12T00:00")) == {SLOVECHNE: "pending"}
    assert agreement_state(reg.get(d.id), t("2026-03-21T00:00")) == {SLOVECHNE: "silence"}
    a = reg.answer(party, d.id, SLOVECHNE, "object", reasons="зачіпає водоохоронну зону", now=t("2026-03-12T00:00"))
    with pytest.raises(DecisionError, match="never changed"):
        reg.answer(party, d.id, SLOVECHNE, "agree", now=t("2026-03-13T00:00"))
    assert reg.get(d.id).answers == [a]
    with pytest.raises(DecisionError, match="adopted text"):
        reg.transition(HEAD, d.id, "adopted", reason="сесія", now=t("2026-03-14T00:00"))
    text = tmp_path / "text.pdf"
    text.write_bytes(b"adopted")
    assert reg.transition(HEAD, d.id, "adopted", reason="сесія", adopted_text=text,
                          now=t("2026-03-14T00:00")).status == "adopted"
    with pytest.raises(IllegalTransition, match="'adopted'; it can move to: implementation, cancelled"):
        reg.transition(HEAD, d.id, "completed", reason="r")


def test_target_indicators_are_recomputed_from_the_passport(sample_node, reg) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    d = _draft(reg)
    reg.add_target(OFFICIAL, d.id, "nature_sites", OVRUCH, 3, 5, now=t("2026-03-01T12:00"))
    assert reg.get(d.id).targets[0].actual is None
    got = reg.recompute_targets(OFFICIAL, d.id, now=t("2026-03-02T12:00")).targets[0]
    with sqlite3.connect(sample_node.ws.root / "passport" / "passports.gpkg") as db:
        value, version = db.execute("SELECT value, source_version FROM passport_history WHERE katotth = ? AND "
                                    "indicator = 'nature_sites' ORDER BY computed_at DESC", (OVRUCH,)).fetchone()
    assert (got.from_value, got.to_value, got.actual, got.actual_source_version) == (3, 5, value, version)
    assert [h.field for h in reg.history(d.id) if h.action == "recompute-targets"] == ["targets[0]"]


def test_the_page_escapes_what_people_type(reg) -> None:  # type: ignore[no-untyped-def]
    from decisions.page import render

    d = _draft(reg)
    reg.transition(OFFICIAL, d.id, "consultation", reason="r", consultation_until="2026-03-10",
                   now=t("2026-03-02T00:00"))
    reg.comment(Actor("X", "citizen"), d.id, "<script>alert(1)</script>", now=t("2026-03-03T00:00"))
    html = render(reg.get(d.id))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_broken_register_file_is_a_storage_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from geoportal.errors import StoreError

    bad = tmp_path / "decisions.gpkg"
    bad.write_bytes(b"this is not a database at all, but it is long enough to look like a header" * 10)
    with pytest.raises(StoreError, match="decisions.gpkg.*nothing was written"):
        Register(GpkgRepository(bad)).list()


def test_a_process_killed_inside_the_transaction_leaves_the_previous_state(reg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A real SIGKILL (no exception handler runs): SQLite's journal rolls the half-done transaction back."""
    import subprocess
    import sys
    import textwrap

    d = _draft(reg)
    before = (reg.get(d.id), reg.history(d.id))
    script = textwrap.dedent(f"""
        import os, signal
        from datetime import datetime, timezone
        from decisions.model import Actor
        from decisions.repo_gpkg import GpkgRepository, _GpkgTx
        from decisions.service import Register
        _GpkgTx.log = lambda self, rows: os.kill(os.getpid(), signal.SIGKILL)
        Register(GpkgRepository({str(reg.repo.path)!r})).transition(
            Actor("Іван Петренко", "head", {OVRUCH!r}), {d.id!r}, "cancelled", reason="killed",
            now=datetime(2026, 3, 2, tzinfo=timezone.utc))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    assert (reg.get(d.id), reg.history(d.id)) == before


def test_an_oblast_department_answers_for_itself(reg) -> None:  # type: ignore[no-untyped-def]
    ecology = "UA18000000000041385/ecology"
    d = reg.create(OFFICIAL, title=Text("Т"), summary=Text(""), kind="land-use-change", issuer=OVRUCH,
                   geometry="POINT (28.55 51.32)", parties=[ecology, SLOVECHNE], now=t("2026-03-01T00:00"))
    with pytest.raises(DecisionError, match="neither a KATOTTH code"):
        reg.edit(OFFICIAL, d.id, reason="r", parties=["ecology department"])
    reg.transition(OFFICIAL, d.id, "consultation", reason="r", consultation_until="2026-03-05", now=t("2026-03-02T00:00"))
    reg.transition(OFFICIAL, d.id, "agreement", reason="r", agreement_deadline="2026-03-20", now=t("2026-03-06T00:00"))
    with pytest.raises(Forbidden):  # the oblast administration as a whole is not its ecology department
        reg.answer(Actor("Голова ОДА", "head", "UA18000000000041385"), d.id, ecology, "agree")
    a = reg.answer(Actor("Еколог", "official", ecology), d.id, ecology, "object", reasons="водоохоронна зона",
                   now=t("2026-03-07T00:00"))
    assert a.party == ecology and agreement_state(reg.get(d.id), t("2026-03-08T00:00")) == {
        ecology: "object", SLOVECHNE: "pending"}
