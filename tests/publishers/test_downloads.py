"""The node's own download files (``/downloads/``) are what an ANONYMOUS caller may have: an access rule that
limits anonymous callers on a public dataset cuts the files like every other service, a rule that denies them
the downloads removes the files, and a rule hiding an attribute the data does not have stops the build before
anything is published (it would hide nothing).

Built with the real ``geoportal build`` CLI on the sample node; the files are read back with pyogrio and the
stored layer independently of the packaging code.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pyogrio
import pytest

from tests.conftest import ROOT, derived_config

NATIONAL = "загальнодержавного значення"
HIDDEN = "unormovana_nazva_latynytseiu"
CUT = {"roles": ["anonymous"], "dataset": "nature-protection", "service": "downloads", "effect": "limit",
       "limit": {"filter": f"administratyvnyi_status = '{NATIONAL}'", "hide_attributes": [HIDDEN]}}

pytestmark = pytest.mark.slow


def build(config: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([os.sys.executable, "-m", "geoportal.cli", "build", str(config), "--workdir", str(workdir)],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)


def stored_statuses(workdir: Path) -> list[str]:
    layer = json.loads((workdir / "layers.json").read_text(encoding="utf-8"))["nature-protection"]["location"]
    _, _, _, fields = pyogrio.raw.read(layer["path"], layer=layer["table"], columns=["administratyvnyi_status"],
                                       read_geometry=False)
    return [str(v) for v in fields[0]]


def test_the_public_files_follow_the_anonymous_view(tmp_path: Path) -> None:
    workdir = tmp_path / "node"
    downloads = workdir / "downloads"
    config = derived_config(tmp_path / "node.yaml", access={"rules": [CUT]})
    done = build(config, workdir)
    assert done.returncode == 0, done.stderr[-3000:]

    national = sum(s == NATIONAL for s in stored_statuses(workdir))
    assert 0 < national < len(stored_statuses(workdir))  # the rule cuts something, and leaves something
    doc = json.loads((downloads / "nature-protection.geojson").read_text(encoding="utf-8"))
    assert len(doc["features"]) == national
    assert all(f["properties"]["administratyvnyi_status"] == NATIONAL for f in doc["features"])
    assert not any(HIDDEN in f["properties"] for f in doc["features"])
    with open(downloads / "nature-protection.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == national and HIDDEN not in rows[0]
    info = pyogrio.read_info(downloads / "nature-protection.gpkg", layer="nature-protection")
    assert info["features"] == national and HIDDEN not in list(info["fields"])
    # a dataset without a rule keeps its whole file
    assert pyogrio.read_info(downloads / "hromadas.gpkg", layer="hromadas")["features"] > 0
    # the public page does not even name the hidden attribute
    page = (workdir / "datasets" / "nature-protection" / "index.html").read_text(encoding="utf-8")
    assert HIDDEN not in page

    # a misspelt attribute would hide nothing: the build refuses it and the files stay as they were
    before = (downloads / "nature-protection.geojson").read_bytes()
    typo = dict(CUT, limit={"hide_attributes": ["unormovana_nazva_latynycei"]})
    config = derived_config(tmp_path / "node.yaml", access={"rules": [typo]})
    refused = build(config, workdir)
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "access.rules[0].limit.hide_attributes" in refused.stderr and "unormovana_nazva_latynycei" in refused.stderr
    assert (downloads / "nature-protection.geojson").read_bytes() == before

    # anonymous callers denied the downloads: the public files are gone
    deny = {k: v for k, v in CUT.items() if k != "limit"} | {"effect": "deny"}
    config = derived_config(tmp_path / "node.yaml", access={"rules": [deny]})
    done = build(config, workdir)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p.name for p in downloads.glob("nature-protection.*") if p.suffix != ".xml"] == []  # the record stays
    assert (downloads / "hromadas.gpkg").exists()

    # each build that published other rules is in the audit log; the refused one is not
    from access.audit import AuditLog

    log = AuditLog(workdir / "audit.log")
    changes = [e for e in log.entries() if e["action"] == "access.rules"]
    details = [e["detail"] for e in changes]
    assert len(details) == 2 and details[0]["previous"] is None and details[1]["previous"] == details[0]["digest"]
    assert log.verify() == len(list(log.entries()))
