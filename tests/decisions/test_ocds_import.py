"""OCDS import through the CLI (`geoportal decision ocds-import`): a round trip export → import into an empty
node → export gives the same package; releases of one ocid update the project; a release that is wrong
anywhere — the schema, the permission, a stage behind the register's — imports nothing and the error names
the release, the field and what to do. Two empty workspaces of the sample node's config: no layers needed."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from click.testing import CliRunner

from decisions.ocds import validate
from geoportal.cli import main
from tests.decisions.conftest import CONFIG, OLEVSK, OVRUCH

OFFICIAL = f"Олена Коваль:official:{OVRUCH}"


def run(workdir: Path, *args: str, now: str = "2026-05-01T09:00:00Z", ok: bool = True):  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(main, ["decision", "--config", str(CONFIG), "--workdir", str(workdir), "--now", now,
                                    *args])
    if ok:
        assert res.exit_code == 0, res.output
    return res


def register(workdir: Path):  # type: ignore[no-untyped-def]
    from decisions.service import Register
    from geoportal.config import load_config
    from geoportal.model import Workspace

    return Register.for_node(load_config(CONFIG), Workspace(workdir))


def projects(workdir: Path) -> list[dict]:
    return json.loads(run(workdir, "project", "list", "--json").output)


def export(workdir: Path, out: Path) -> dict:
    run(workdir, "ocds", "--out", str(out))
    return json.loads(out.read_text(encoding="utf-8"))


def same(a: dict, b: dict) -> None:
    a, b = copy.deepcopy(a), copy.deepcopy(b)
    a.pop("publishedDate"), b.pop("publishedDate")
    assert a == b


def source_node(tmp_path: Path) -> Path:
    """A node with three projects: one at works (tender, money spent), one in preparation (spent on design
    already), one cancelled."""
    a = tmp_path / "a"
    did = run(a, "create", "--as", OFFICIAL, "--title-uk", "Програма відновлення доріг", "--kind",
              "development-programme", "--issuer", OVRUCH, "--geometry",
              "LINESTRING (28.5 51.3, 28.6 51.35)").output.strip()
    p1 = run(a, "project", "create", "--as", OFFICIAL, "--title-uk", "Ремонт дороги Овруч — Гладковичі", "--issuer",
             OVRUCH, "--decision", did, "--budget", "державний бюджет:1200000", "--budget",
             "місцевий бюджет: ремонт; доріг:300000.25").output.strip()
    for stage, extra in (("preparation", ()), ("funding", ()), ("procurement", ("--tender-id", "UA-2026-05-12-000123-a")),
                         ("works", ())):
        run(a, "project", "transition", p1, stage, "--as", OFFICIAL, "--reason", stage, *extra)
    run(a, "project", "budget", p1, "державний бюджет", "--actual", "1150000.5", "--as", OFFICIAL)
    p2 = run(a, "project", "create", "--as", OFFICIAL, "--title-uk", "Укриття в ліцеї", "--issuer", OVRUCH,
             "--decision", did, "--budget", "ЄС грант:80000").output.strip()
    run(a, "project", "transition", p2, "preparation", "--as", OFFICIAL, "--reason", "проєктування")
    run(a, "project", "budget", p2, "ЄС грант", "--actual", "12000", "--as", OFFICIAL)
    p3 = run(a, "project", "create", "--as", OFFICIAL, "--title-uk", "Скасована ідея", "--issuer", OVRUCH,
             "--decision", did).output.strip()
    run(a, "project", "transition", p3, "cancelled", "--as", OFFICIAL, "--reason", "не на часі")
    return a


def test_round_trip_into_an_empty_node(tmp_path: Path) -> None:
    a, b = source_node(tmp_path), tmp_path / "b"
    first = export(a, tmp_path / "a.json")
    assert validate(first) == []
    assert [r["tag"] for r in first["releases"]] == [["contract", "implementation"], ["planningUpdate"],
                                                     ["tenderCancellation"]]
    out = run(b, "ocds-import", str(tmp_path / "a.json"), "--as", OFFICIAL).output
    assert "created P-2026-001 ← ocds-gpnw01-P-2026-001" in out
    assert "decision D-2026-001 is not in this register" in out  # the links are kept, and said so

    same(first, export(b, tmp_path / "b.json"))
    mine, theirs = projects(a), projects(b)
    keys = ("id", "stage", "tender_id", "budget", "decisions", "issuer", "updated_at")
    assert [{k: p[k] for k in keys} for p in theirs] == [{k: p[k] for k in keys} for p in mine]
    works, prep, cancelled = theirs
    assert works["budget"][1] == {"source": "місцевий бюджет: ремонт; доріг", "planned": 300000.25, "actual": 0.0,
                                  "currency": "UAH"}
    assert prep["stage"] == "preparation" and prep["budget"][0]["actual"] == 12000.0
    assert cancelled["stage"] == "cancelled" and cancelled["tender_id"] is None

    # who imported what is in the history; the same file again changes nothing and writes no history
    history = register(b).history("P-2026-001", "project")
    assert {h.action for h in history} == {"create"} and history[0].actor["name"] == "Олена Коваль"
    assert "release 0, ocds-gpnw01-P-2026-001" in (history[0].reason or "")
    again = run(b, "ocds-import", str(tmp_path / "a.json"), "--as", OFFICIAL, "--json").output
    assert json.loads(again)["unchanged"] == ["P-2026-001", "P-2026-002", "P-2026-003"]
    assert len(register(b).history("P-2026-001", "project")) == len(history)


def test_a_newer_release_moves_a_project_forward(tmp_path: Path) -> None:
    a, b = source_node(tmp_path), tmp_path / "b"
    pkg = export(a, tmp_path / "a.json")
    run(b, "ocds-import", str(tmp_path / "a.json"), "--as", OFFICIAL)
    newer = copy.deepcopy(pkg["releases"][1])
    newer.update(id=newer["id"] + "-2", date="2026-06-01T10:00:00Z", tag=["planningUpdate"])
    newer["tender"]["status"] = "planned"
    (tmp_path / "newer.json").write_text(json.dumps([newer], ensure_ascii=False), encoding="utf-8")
    out = run(b, "ocds-import", str(tmp_path / "newer.json"), "--as", OFFICIAL).output
    assert "updated P-2026-002 ← ocds-gpnw01-P-2026-002" in out
    p2 = projects(b)[1]
    assert p2["stage"] == "funding" and p2["updated_at"] == "2026-06-01T10:00:00Z"

    # a release behind the register's stage is refused, naming it; nothing changes
    older = copy.deepcopy(pkg["releases"][0])
    older["tag"], older["tender"]["status"] = ["planning"], "planning"
    older.pop("contracts")
    (tmp_path / "older.json").write_text(json.dumps([newer, older], ensure_ascii=False), encoding="utf-8")
    res = run(b, "ocds-import", str(tmp_path / "older.json"), "--as", OFFICIAL, ok=False)
    assert res.exit_code != 0
    assert "release 1 (ocds-gpnw01-P-2026-001)" in res.output and "behind" in res.output and "'works'" in res.output
    assert [p["stage"] for p in projects(b)] == ["works", "funding", "cancelled"]


def test_a_bad_release_anywhere_imports_nothing(tmp_path: Path) -> None:
    a, b = source_node(tmp_path), tmp_path / "b"
    pkg = export(a, tmp_path / "a.json")

    def refused(mutate, *expected: str, who: str = OFFICIAL) -> str:  # type: ignore[no-untyped-def]
        bad = copy.deepcopy(pkg)
        mutate(bad)
        f = tmp_path / "bad.json"
        f.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
        res = run(b, "ocds-import", str(f), "--as", who, ok=False)
        assert res.exit_code != 0, res.output
        for e in expected:
            assert e in res.output, res.output
        assert projects(b) == []  # not even the good releases before it
        return res.output

    refused(lambda p: p["releases"][2]["tender"].update(status="done"),
            "release 2 (ocds-gpnw01-P-2026-003)", "tender/status", "'done' is not one of", "nothing was imported")
    refused(lambda p: p["releases"][1]["planning"]["budget"]["amount"].update(currency="грн"),
            "release 1 (ocds-gpnw01-P-2026-002)", "planning/budget/amount/currency")
    refused(lambda p: p["releases"][2]["buyer"].update(id="Овруч"), "release 2", "buyer.id", "KATOTTH")
    refused(lambda p: p["releases"][1]["planning"]["budget"]["amount"].update(amount=1.0),
            "release 1", "planning.budget.amount", "make the two agree")
    # the schema passes and the first releases would be fine: the last one's buyer is another body
    other = refused(lambda p: p["releases"][2]["buyer"].update(id=OLEVSK), OLEVSK)
    assert "may not project" in other
    refused(lambda p: None, "citizen", who="Марія:citizen")


def test_a_list_of_another_publishers_releases(tmp_path: Path) -> None:
    b = tmp_path / "b"
    run(b, "project", "create", "--as", OFFICIAL, "--title-uk", "Свій проєкт", "--issuer", OVRUCH, "--decision",
        run(b, "create", "--as", OFFICIAL, "--title-uk", "Рішення", "--kind", "other", "--issuer",
            OVRUCH).output.strip())
    foreign = [{"ocid": "ocds-abc123-UA-2026-000777", "id": "r1", "date": "2026-04-01T08:00:00+03:00",
                "tag": ["tender"], "initiationType": "tender", "buyer": {"id": OVRUCH, "name": "Овруцька рада"},
                "parties": [{"id": "f", "name": "державний бюджет", "roles": ["funder"]}],
                "planning": {"budget": {"amount": {"amount": 500000, "currency": "UAH"}}},
                "tender": {"id": "UA-2026-04-01-000777-b", "title": "Водогін", "status": "active"}}]
    (tmp_path / "list.json").write_text(json.dumps(foreign, ensure_ascii=False), encoding="utf-8")
    out = run(b, "ocds-import", str(tmp_path / "list.json"), "--as", OFFICIAL).output
    assert "created P-2026-002 ← ocds-abc123-UA-2026-000777" in out  # the next id here; the ocid is kept
    p = projects(b)[1]
    assert (p["stage"], p["tender_id"], p["ocid"], p["updated_at"]) == (
        "procurement", "UA-2026-04-01-000777-b", "ocds-abc123-UA-2026-000777", "2026-04-01T05:00:00Z")
    assert p["budget"] == [{"source": "державний бюджет", "planned": 500000.0, "actual": 0.0, "currency": "UAH"}]
    rel = export(b, tmp_path / "b.json")["releases"][1]
    assert rel["ocid"] == "ocds-abc123-UA-2026-000777" and rel["tag"] == ["tender"]
    # not JSON at all
    (tmp_path / "x.json").write_text("<xml/>", encoding="utf-8")
    res = run(b, "ocds-import", str(tmp_path / "x.json"), "--as", OFFICIAL, ok=False)
    assert res.exit_code == 10 and "not a JSON file" in res.output
