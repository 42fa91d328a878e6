"""Development projects through the CLI, exported as an OCDS 1.1 release package that the official OCDS 1.1
schema accepts (read independently of the node's own validator, tests/decisions/ocds_official.py); what the
official schema refuses, the node refuses too, and an export it refuses is not written."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from click.testing import CliRunner

from decisions.errors import DecisionError
from decisions.model import Budget, Project, Text
from decisions.ocds import release_package, validate
from geoportal.cli import main
from tests.decisions.ocds_official import official_errors

OVRUCH = "UA18060170000069581"
OFFICIAL = f"Олена Коваль:official:{OVRUCH}"


def run(node, *args: str, now: str = "2026-05-01T09:00:00Z", ok: bool = True) -> str:  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(main, ["decision", "--config", str(node.config), "--workdir", str(node.ws.root),
                                    "--now", now, *args])
    if ok:
        assert res.exit_code == 0, res.output
    return res.output


def test_project_lifecycle_and_ocds_export(sample_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    n = sample_node
    did = run(n, "create", "--as", OFFICIAL, "--title-uk", "Програма відновлення доріг", "--kind",
              "development-programme", "--issuer", OVRUCH, "--geometry", "LINESTRING (28.5 51.3, 28.6 51.35)").strip()
    missing = run(n, "project", "create", "--as", OFFICIAL, "--title-uk", "Ремонт", "--issuer", OVRUCH,
                  "--decision", "D-1999-404", ok=False)
    assert "D-1999-404" in missing
    pid = run(n, "project", "create", "--as", OFFICIAL, "--title-uk", "Ремонт дороги Овруч — Гладковичі",
              "--title-en", "Repair of the Ovruch–Hladkovychi road", "--issuer", OVRUCH, "--decision", did,
              "--budget", "державний бюджет:1200000", "--budget", "місцевий бюджет:300000").strip()
    assert run(n, "project", "transition", pid, "works", "--as", OFFICIAL, "--reason", "x", ok=False).count("'idea'")
    for stage in ("preparation", "funding"):
        run(n, "project", "transition", pid, stage, "--as", OFFICIAL, "--reason", stage)
    no_tender = run(n, "project", "transition", pid, "procurement", "--as", OFFICIAL, "--reason", "r", ok=False)
    assert "tender" in no_tender
    run(n, "project", "transition", pid, "procurement", "--as", OFFICIAL, "--reason", "оголошено тендер",
        "--tender-id", "UA-2026-05-12-000123-a")
    run(n, "project", "transition", pid, "works", "--as", OFFICIAL, "--reason", "договір підписано")
    run(n, "project", "budget", pid, "державний бюджет", "--actual", "1150000.5", "--as", OFFICIAL)

    # more projects, so that the package has a release of each kind: idea, procurement, commissioning, cancelled
    others = {}
    for title, route in (("Ідея скверу", ()), ("Водогін", ("preparation", "funding", "procurement")),
                         ("Укриття", ("preparation", "funding", "procurement", "works", "commissioning")),
                         ("Скасоване", ("cancelled",))):
        other = run(n, "project", "create", "--as", OFFICIAL, "--title-uk", title, "--issuer", OVRUCH, "--decision",
                    did, "--budget", "місцевий бюджет:50000").strip()
        for stage in route:
            extra = ("--tender-id", f"UA-2026-05-20-{len(others):06d}-b") if stage == "procurement" else ()
            run(n, "project", "transition", other, stage, "--as", OFFICIAL, "--reason", stage, *extra)
        if "works" in route:
            run(n, "project", "budget", other, "місцевий бюджет", "--actual", "49000", "--as", OFFICIAL)
        others[title] = other

    out = tmp_path / "ocds.json"
    run(n, "ocds", "--out", str(out))
    pkg = json.loads(out.read_text(encoding="utf-8"))
    assert official_errors(pkg) == [] and validate(pkg) == []
    assert [(r["tag"], r["tender"]["status"]) for r in pkg["releases"]] == [
        (["contract", "implementation"], "complete"), (["planning"], "planning"), (["tender"], "active"),
        (["implementationUpdate"], "complete"), (["tenderCancellation"], "cancelled")]
    rel = pkg["releases"][0]
    assert rel["ocid"] == f"ocds-gpnw01-{pid}" and rel["tag"] == ["contract", "implementation"]
    assert rel["tender"]["id"] == "UA-2026-05-12-000123-a"
    assert rel["planning"]["budget"]["amount"] == {"amount": 1500000.0, "currency": "UAH"}
    assert rel["relatedProcesses"][0]["identifier"] == did
    # the contract's award is in the release; the money spent is paid by the funder party of its source
    assert [a["id"] for a in rel["awards"]] == [rel["contracts"][0]["awardID"]]
    tx = rel["contracts"][0]["implementation"]["transactions"]
    funders = {p["id"]: p["name"] for p in rel["parties"] if "funder" in p["roles"]}
    assert [(funders[x["payer"]["id"]], x["payer"]["name"], x["value"]["amount"]) for x in tx] == [
        ("державний бюджет", "державний бюджет", 1150000.5)]
    assert set(funders.values()) == {"державний бюджет", "місцевий бюджет"}
    assert pkg["releases"][3]["contracts"][0]["status"] == "terminated"

    # the official schema is not a rubber stamp, and the node's validator refuses what it refuses
    for breaking in (lambda p: p["releases"][0].pop("ocid"), lambda p: p["releases"][0].update(tag=["done"]),
                     lambda p: p["releases"][0]["planning"]["budget"]["amount"].update(currency="грн"),
                     lambda p: p.update(version="1.1.5"), lambda p: p.update(uri="not a uri"),
                     lambda p: p["releases"][2].update(date="1 травня 2026"),
                     lambda p: p["releases"][0]["contracts"][0].update(status="signed"),
                     lambda p: p["releases"].append(copy.deepcopy(p["releases"][1]))):
        bad = copy.deepcopy(pkg)
        breaking(bad)
        assert official_errors(bad) and validate(bad), bad
    # … and takes what OCDS allows beyond its fields (additional properties are not forbidden)
    extended = copy.deepcopy(pkg)
    extended["releases"][0]["x_note"] = 1
    assert official_errors(extended) == [] and validate(extended) == []

    # an export the schema refuses is not written: the old file stays, the error names the place
    before = out.read_bytes()
    res = CliRunner().invoke(main, ["decision", "--config", str(n.config), "--workdir", str(n.ws.root), "ocds",
                                    "--out", str(out), "--uri", "кудись туди"])
    assert res.exit_code != 0 and "the package: uri" in res.output and "nothing was written" in res.output
    assert out.read_bytes() == before


def test_an_export_the_schema_refuses_names_the_release() -> None:
    """What the exporter writes comes from the register; a value that breaks the schema is reported against
    its release and project, not written."""
    ok = Project(id="P-2026-001", title=Text("Ремонт"), issuer=OVRUCH, decisions=["D-2026-001"], stage="works",
                 tender_id="UA-2026-05-12-000123-a", budget=[Budget("державний бюджет", 100.0, 50.0, "UAH")],
                 created_at="2026-05-01T09:00:00Z", updated_at="2026-05-01T09:00:00Z")
    bad = copy.deepcopy(ok)
    bad.id, bad.updated_at = "P-2026-002", "вчора"
    try:
        release_package([ok, bad], uri="http://127.0.0.1:8000/decisions/ocds.json", publisher="Овруцька рада")
    except DecisionError as e:
        msg = str(e)
    else:
        raise AssertionError("an invalid export was accepted")
    assert "release 1 (ocds-gpnw01-P-2026-002, id ocds-gpnw01-P-2026-002-works-вчора) of project P-2026-002" in msg
    assert "date: 'вчора' is not a 'date-time'" in msg and "nothing was written" in msg
