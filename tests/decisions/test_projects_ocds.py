"""Development projects through the CLI, exported as an OCDS 1.1 release package and validated (jsonschema)
against the local schema subset; the subset itself refuses what the official schema refuses."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from click.testing import CliRunner

from decisions.ocds import validate
from geoportal.cli import main

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

    out = tmp_path / "ocds.json"
    run(n, "ocds", "--out", str(out))
    pkg = json.loads(out.read_text(encoding="utf-8"))
    assert validate(pkg) == []
    (rel,) = pkg["releases"]
    assert rel["ocid"] == f"ocds-gpnw01-{pid}" and rel["tag"] == ["contract", "implementation"]
    assert rel["tender"]["id"] == "UA-2026-05-12-000123-a"
    assert rel["planning"]["budget"]["amount"] == {"amount": 1500000.0, "currency": "UAH"}
    assert rel["relatedProcesses"][0]["identifier"] == did
    tx = rel["contracts"][0]["implementation"]["transactions"]
    assert [(x["source"], x["value"]["amount"]) for x in tx] == [("державний бюджет", 1150000.5)]
    assert {p["name"] for p in rel["parties"] if "funder" in p["roles"]} == {"державний бюджет", "місцевий бюджет"}

    # the schema subset is not a rubber stamp
    for breaking in (lambda p: p["releases"][0].pop("ocid"), lambda p: p["releases"][0].update(tag=["done"]),
                     lambda p: p["releases"][0]["planning"]["budget"]["amount"].update(currency="грн"),
                     lambda p: p.update(version="2.0"), lambda p: p["releases"][0].update(extra=1)):
        bad = copy.deepcopy(pkg)
        breaking(bad)
        assert validate(bad), bad
