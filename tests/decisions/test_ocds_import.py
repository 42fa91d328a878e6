"""OCDS import through the CLI (`geoportal decision ocds-import`): a round trip export → import into an empty
node → export gives the same package, which the official OCDS 1.1 schema accepts; releases of one ocid update
the project; a release that is wrong anywhere — the official schema, the permission, a stage behind the
register's — imports nothing and the error names the release, the field and what to do; a hostile file leaves
the register as it was. Two empty workspaces of the sample node's config: no layers needed."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from click.testing import CliRunner

from decisions.ocds import validate
from geoportal.cli import main
from tests.decisions.conftest import CONFIG, OLEVSK, OVRUCH
from tests.decisions.ocds_official import official_errors

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
    assert official_errors(first) == [] and validate(first) == []
    assert [r["tag"] for r in first["releases"]] == [["contract", "implementation"], ["planningUpdate"],
                                                     ["tenderCancellation"]]
    out = run(b, "ocds-import", str(tmp_path / "a.json"), "--as", OFFICIAL).output
    assert "created P-2026-001 ← ocds-gpnw01-P-2026-001" in out
    assert "decision D-2026-001 is not in this register" in out  # the links are kept, and said so

    second = export(b, tmp_path / "b.json")
    same(first, second)
    assert official_errors(second) == []
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
    assert "release 1 (ocds-gpnw01-P-2026-001, id " in res.output and "behind" in res.output
    assert "'works'" in res.output
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
            "release 2 (ocds-gpnw01-P-2026-003, id ocds-gpnw01-P-2026-003-cancelled-", "tender/status",
            "'done' is not one of", "nothing was imported")
    refused(lambda p: p["releases"][1]["planning"]["budget"]["amount"].update(currency="грн"),
            "release 1 (ocds-gpnw01-P-2026-002, id ", "planning/budget/amount/currency")
    # what the official schema checks beyond the fields we write: formats, code lists, required keys, uniqueness
    refused(lambda p: p["releases"][1].update(date="1 травня 2026"), "release 1", ": date: ", "is not a 'date-time'")
    refused(lambda p: p["releases"][0]["contracts"][0]["implementation"]["transactions"][0].update(source="бюджет"),
            "release 0", "contracts/0/implementation/transactions/0/source", "is not a 'uri'")
    refused(lambda p: p["releases"][0]["awards"][0].update(status="won"), "release 0", "awards/0/status")
    refused(lambda p: p["releases"][2].pop("initiationType"), "release 2", "'initiationType' is a required property")
    refused(lambda p: p["releases"].append(copy.deepcopy(p["releases"][0])), "the package: releases",
            "items 0 and 3 are the same")
    refused(lambda p: p.update(uri="не адреса"), "the package: uri", "is not a 'uri'")
    refused(lambda p: p["releases"].__setitem__(1, "P-2026-002"), "release 1 (not an object)")
    refused(lambda p: p["releases"][2]["buyer"].update(id="Овруч"), "release 2", "buyer/id", "KATOTTH")
    # what the official schema leaves optional or nullable, and a project needs: refused by its path, no traceback
    refused(lambda p: p["releases"][2]["buyer"].pop("id"), "release 2", "buyer/id: None is not a KATOTTH code")
    refused(lambda p: p["releases"][0]["parties"][1].update(name=None), "release 0", "parties/1/name",
            "a funder party needs a name")
    refused(lambda p: p["releases"][0]["planning"]["budget"]["amount"].update(amount=None), "release 0",
            "planning/budget/amount: give both amount and currency")
    refused(lambda p: p["releases"][0]["contracts"][0]["implementation"]["transactions"][0].pop("value"),
            "release 0", "contracts/0/implementation/transactions/0/value: missing")
    refused(lambda p: p["releases"][1]["planning"]["budget"]["amount"].update(amount=1.0),
            "release 1", "planning/budget/amount", "make the two agree")
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


def test_a_hostile_file_leaves_the_register_as_it_was(tmp_path: Path) -> None:
    """A register with projects and history; files built to hurt — a deep nest, an endless string, a bad release
    after many good ones — are refused by the CLI with a non-zero exit, and the projects and their history are
    what they were."""
    a, b = source_node(tmp_path), tmp_path / "b"
    pkg = export(a, tmp_path / "a.json")
    run(b, "ocds-import", str(tmp_path / "a.json"), "--as", OFFICIAL)
    before = projects(b)
    history = [len(register(b).history(p["id"], "project")) for p in before]

    def refused(text: str, *expected: str) -> None:
        f = tmp_path / "hostile.json"
        f.write_text(text, encoding="utf-8")
        res = run(b, "ocds-import", str(f), "--as", OFFICIAL, ok=False)
        assert res.exit_code == 10, res.output
        for e in expected:
            assert e in res.output, res.output
        assert len(res.output) < 2000  # one line, not the file echoed back
        assert projects(b) == before
        assert [len(register(b).history(p["id"], "project")) for p in before] == history

    refused("[" * 100_000 + "]" * 100_000, "nests its values too deeply")
    deep = copy.deepcopy(pkg)
    deep["releases"][0]["tender"]["title"] = json.loads("[" * 900 + "]" * 900)
    refused(json.dumps(deep), "release 0", ": tender/title/0/0/", "nested more than 64 levels",
            "nothing was imported")
    long = copy.deepcopy(pkg)
    long["releases"][1]["date"] = "2026-" + "9" * 1_000_000
    refused(json.dumps(long), "release 1", ": date: ", "…")
    # 300 good new releases, then one bad: none is imported
    many = []
    for i in range(300):
        r = copy.deepcopy(pkg["releases"][1])
        r.update(ocid=f"ocds-abc123-X-{i}", id=f"x-{i}")
        many.append(r)
    bad = copy.deepcopy(pkg["releases"][2])
    bad["tender"]["value"]["amount"] = "сто"
    refused(json.dumps(many + [bad], ensure_ascii=False), "release 300", "tender/value/amount",
            "is not of type 'number'")
    # the file the register came from is still welcome: nothing was half-applied by the refusals
    again = run(b, "ocds-import", str(tmp_path / "a.json"), "--as", OFFICIAL, "--json").output
    assert json.loads(again)["unchanged"] == [p["id"] for p in before]
