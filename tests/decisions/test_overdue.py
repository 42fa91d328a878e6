"""Overdue milestones as the oblast sees them (issue #12, implementation control): ``geoportal decision overdue
--network`` reads each node's published ``decisions`` and compares the unfinished milestones' due dates with the
day asked, so a milestone that falls due after the node's last build shows on the day it is overdue without any
rebuild, and a cancelled decision's milestones never show.

One served node (the hromada boundaries only) with, built before any milestone is due: a decision in
implementation with a milestone due in three days and one done long ago, and a cancelled decision with a milestone
due in January that was never done. The network walk itself (oblast → raion → hromadas) is exercised in
test_network.py; here the asking node is the node itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest
import requests

from decisions.model import Actor, Text
from decisions.service import Register
from geoportal.config import load_config
from geoportal.model import Workspace
from tests.conftest import ROOT, ServedNode, serve_node, stop_node
from tests.decisions.conftest import OVRUCH, hromadas_only_config

OFFICIAL = Actor("Олена Коваль", "official", OVRUCH)
HEAD = Actor("Голова", "head", OVRUCH)
AREA = "POLYGON ((28.80 51.30, 28.90 51.30, 28.90 51.36, 28.80 51.36, 28.80 51.30))"
AREA_B = "POLYGON ((28.95 51.30, 29.05 51.30, 29.05 51.36, 28.95 51.36, 28.95 51.30))"
#: the day the node is built is the real today (the build knows no other); the milestone falls due after it
DUE = (date.today() + timedelta(days=3)).isoformat()
DAY_AFTER = (date.today() + timedelta(days=4)).isoformat()


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    base = tmp_path_factory.mktemp("decoverdue")
    config = hromadas_only_config(base, ("passport", "children", "parent"))
    workdir = base / "node"
    reg = Register.for_node(load_config(config), Workspace(workdir).ensure())
    text = base / "rishennia.pdf"
    text.write_bytes(b"%PDF-1.4 adopted text")

    a = reg.create(OFFICIAL, title=Text("Будівництво амбулаторії", "An outpatient clinic"), summary=Text("", ""),
                   kind="council-decision", issuer=OVRUCH, geometry=AREA, now=t("2026-01-10T09:00:00"))
    reg.transition(OFFICIAL, a.id, "consultation", reason="оприлюднено", consultation_until="2026-01-20",
                   now=t("2026-01-11T09:00:00"))
    reg.transition(OFFICIAL, a.id, "agreement", reason="обговорено", now=t("2026-01-21T09:00:00"))
    reg.transition(HEAD, a.id, "adopted", reason="сесія", adopted_text=text, now=t("2026-02-01T10:00:00"))
    reg.transition(OFFICIAL, a.id, "implementation", reason="розпочато", now=t("2026-02-02T10:00:00"))
    reg.add_milestone(OFFICIAL, a.id, "Відведення ділянки", "2026-03-01", OVRUCH, now=t("2026-02-03T10:00:00"))
    reg.report(OFFICIAL, a.id, 1, 100, "відведено", now=t("2026-02-20T10:00:00"))  # done: never overdue
    reg.add_milestone(OFFICIAL, a.id, "Проєктна документація", DUE, OVRUCH, now=t("2026-02-03T11:00:00"))

    b = reg.create(OFFICIAL, title=Text("Реконструкція ринку", "Market reconstruction"), summary=Text("", ""),
                   kind="council-decision", issuer=OVRUCH, geometry=AREA_B, now=t("2026-01-05T09:00:00"))
    reg.add_milestone(OFFICIAL, b.id, "Обстеження будівлі", "2026-01-15", OVRUCH, now=t("2026-01-06T09:00:00"))
    reg.transition(HEAD, b.id, "cancelled", reason="немає фінансування", now=t("2026-02-10T09:00:00"))
    served = serve_node(config, workdir)
    yield served
    stop_node(served.process)


def cli(node: ServedNode, *args: str) -> str:
    run = subprocess.run([sys.executable, "-m", "geoportal.cli", "decision", "--config", str(node.config),
                          "--workdir", str(node.workdir), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def network(node: ServedNode, as_of: str) -> list[dict]:
    found = json.loads(cli(node, "overdue", "--network", "--as-of", as_of, "--json"))
    assert not [r for r in found if "error" in r], found
    return found


def test_published_layer_carries_due_dates_of_open_decisions_only(node: ServedNode) -> None:
    fc = requests.get(f"{node.base_url}/ogcapi/collections/decisions/items", params={"f": "json"}, timeout=60).json()
    props = {f["id"]: f["properties"] for f in fc["features"]}
    assert props["D-2026-001"]["status"] == "implementation"
    assert props["D-2026-001"]["next_due"] == DUE and props["D-2026-001"]["due_dates"] == DUE
    assert props["D-2026-001"]["milestones_overdue"] == 0  # built before it was due
    # cancelled with a milestone due in January and never done: it owes nothing
    assert props["D-2026-002"]["status"] == "cancelled"
    assert props["D-2026-002"]["milestones_overdue"] == 0 and props["D-2026-002"]["next_due"] is None


def test_a_milestone_falling_due_after_the_build_shows_at_the_oblast_without_a_rebuild(node: ServedNode) -> None:
    published = node.workdir / "register" / "decisions.gpkg"
    before = (published.stat().st_mtime_ns, (node.workdir / "register" / "state.json").read_text())

    assert network(node, DUE) == []  # due today: not overdue yet
    found = network(node, DAY_AFTER)  # the day after it was due
    assert [(r["id"], r["issuer"], r["milestones_overdue"], r["next_due"]) for r in found] == [
        ("D-2026-001", OVRUCH, 1, DUE)]
    assert found[0]["node"] == node.base_url and found[0]["as_of"] == DAY_AFTER
    assert requests.get(found[0]["page"], timeout=60).status_code == 200
    text = cli(node, "overdue", "--network", "--as-of", DAY_AFTER)
    assert "D-2026-001" in text and "1 overdue" in text and "D-2026-002" not in text

    # the node's own register says the same on that day
    local = json.loads(cli(node, "overdue", "--as-of", DAY_AFTER, "--json"))
    assert [(r["decision"], r["due"]) for r in local] == [("D-2026-001", DUE)]
    # nothing was rebuilt or republished to get there
    assert (published.stat().st_mtime_ns, (node.workdir / "register" / "state.json").read_text()) == before


def test_a_cancelled_decision_never_shows(node: ServedNode) -> None:
    for day in ("2026-01-16", "2026-02-11", "2099-01-01"):
        assert "D-2026-002" not in {r["id"] for r in network(node, day)}
    assert {r["id"] for r in network(node, "2099-01-01")} == {"D-2026-001"}


def test_a_malformed_day_is_refused(node: ServedNode) -> None:
    run = subprocess.run([sys.executable, "-m", "geoportal.cli", "decision", "--config", str(node.config),
                          "--workdir", str(node.workdir), "overdue", "--network", "--as-of", "next friday"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "YYYY-MM-DD" in run.stderr and "Traceback" not in run.stderr
