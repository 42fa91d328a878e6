"""The whole life of a decision through ``geoportal decision …`` on the sample node's real data: draft,
consultation (comments, a hidden one, the closing date), agreement (an answer, a silence), adoption with its
text, implementation with an overdue milestone, completion — then what a citizen reads (the page) and what a
publisher serves (the GeoPackage export), each read back independently."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pyogrio
from click.testing import CliRunner

from geoportal.cli import main

OVRUCH = "UA18060170000069581"
SLOVECHNE = "UA18060210000083283"
OLEVSK = "UA18060190000071101"
AREA = "POLYGON ((28.4 51.2, 28.9 51.2, 28.9 51.5, 28.4 51.5, 28.4 51.2))"

OFFICIAL = f"Олена Коваль:official:{OVRUCH}"
HEAD = f"Іван Петренко:head:{OVRUCH}"
CITIZEN = "Марія Шевчук:citizen"
MODERATOR = "Андрій Бондар:moderator"
PARTY = f"Петро Сидоренко:official:{SLOVECHNE}"


def run(node, *args: str, now: str, ok: bool = True) -> str:  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(main, ["decision", "--config", str(node.config), "--workdir", str(node.ws.root),
                                    "--now", now, *args])
    if ok:
        assert res.exit_code == 0, res.output
    return res.output


def test_full_lifecycle_through_the_cli(sample_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    n = sample_node
    did = run(n, "create", "--as", OFFICIAL, "--title-uk", "Зміна цільового призначення земель біля Овруча",
              "--title-en", "Land-use change near Ovruch", "--summary-uk", "Під сонячну електростанцію",
              "--summary-en", "For a solar power plant", "--kind", "land-use-change", "--issuer", OVRUCH,
              "--geometry", AREA, "--party", SLOVECHNE, "--party", OLEVSK, "--cite", f"{OVRUCH}:area_km2",
              now="2026-03-01T09:00:00Z").strip()
    assert did == "D-2026-001"
    assert "D-2026-001" in run(n, "list", "--status", "draft", now="2026-03-01T09:01:00Z")
    assert run(n, "list", "--status", "adopted", now="2026-03-01T09:01:00Z").strip() == ""

    # a citizen cannot open the consultation; an official can, with a closing date
    out = CliRunner().invoke(main, ["decision", "--config", str(n.config), "--workdir", str(n.ws.root),
                                    "transition", did, "consultation", "--as", CITIZEN, "--reason", "x",
                                    "--until", "2026-03-31"])
    assert out.exit_code == 9 and "citizen" in out.output
    run(n, "transition", did, "consultation", "--as", OFFICIAL, "--reason", "публічне обговорення",
        "--until", "2026-03-31", now="2026-03-02T10:00:00Z")

    run(n, "comment", did, "Підтримую, але збережіть лісосмугу", "--as", CITIZEN, now="2026-03-10T12:00:00Z")
    run(n, "comment", did, "реклама: купуйте цеглу", "--as", "Бот:citizen", now="2026-03-11T12:00:00Z")
    run(n, "hide-comment", did, "2", "--as", MODERATOR, "--reason", "спам", now="2026-03-11T13:00:00Z")
    late = run(n, "comment", did, "Запізнився", "--as", CITIZEN, now="2026-04-01T00:00:01Z", ok=False)
    assert "closed" in late and "2026-03-31" in late

    # agreement: one party agrees, the other stays silent past the deadline
    run(n, "transition", did, "agreement", "--as", OFFICIAL, "--reason", "на погодження",
        "--deadline", "2026-04-20", now="2026-04-02T09:00:00Z")
    doc = json.loads(run(n, "answer", did, SLOVECHNE, "agree", "--as", PARTY, "--json", now="2026-04-05T09:00:00Z"))
    assert doc["party"] == SLOVECHNE and doc["answer"] == "agree" and doc["id"].startswith("urn:uuid:")
    early = run(n, "transition", did, "adopted", "--as", HEAD, "--reason", "сесія", now="2026-04-10T09:00:00Z",
                ok=False)
    assert OLEVSK in early and "2026-04-20" in early
    text = tmp_path / "rishennia.pdf"
    text.write_bytes(b"%PDF-1.4 adopted text of the decision")
    run(n, "transition", did, "adopted", "--as", HEAD, "--reason", "рішення 12 сесії", "--text", str(text),
        now="2026-04-21T09:00:00Z")
    late_answer = run(n, "answer", did, OLEVSK, "agree", "--as", f"X:official:{OLEVSK}", now="2026-04-22T09:00:00Z",
                      ok=False)
    assert "not in agreement" in late_answer

    # implementation: one milestone done, one overdue
    run(n, "transition", did, "implementation", "--as", OFFICIAL, "--reason", "початок робіт",
        now="2026-05-01T09:00:00Z")
    run(n, "milestone", "add", did, "--title", "Відведення ділянки", "--due", "2026-06-01", "--responsible", OVRUCH,
        "--as", OFFICIAL, now="2026-05-01T10:00:00Z")
    run(n, "milestone", "add", did, "--title", "Будівництво", "--due", "2026-09-01", "--responsible", OVRUCH,
        "--as", OFFICIAL, now="2026-05-01T10:01:00Z")
    run(n, "milestone", "report", did, "2", "--progress", "40", "--text", "фундамент", "--as", OFFICIAL,
        now="2026-08-01T10:00:00Z")
    run(n, "target", "add", did, "nature_sites", OVRUCH, "3", "5", "--as", OFFICIAL, now="2026-05-01T10:02:00Z")
    targets = json.loads(run(n, "target", "recompute", did, "--as", OFFICIAL, "--json", now="2026-05-02T10:00:00Z"))
    assert targets[0]["actual"] is not None and targets[0]["actual_source_version"]
    overdue = json.loads(run(n, "overdue", "--as-of", "2026-06-15", "--json", now="2026-06-15T00:00:00Z"))
    assert [(o["decision"], o["milestone"]) for o in overdue] == [(did, 1)]
    assert json.loads(run(n, "overdue", "--as-of", "2026-05-15", "--json", now="2026-05-15T00:00:00Z")) == []
    refused = run(n, "transition", did, "completed", "--as", OFFICIAL, "--reason", "все", now="2026-10-01T00:00:00Z",
                  ok=False)
    assert "Відведення ділянки" in refused
    run(n, "milestone", "report", did, "1", "--progress", "100", "--text", "відведено", "--as", OFFICIAL,
        now="2026-09-02T10:00:00Z")
    run(n, "milestone", "report", did, "2", "--progress", "100", "--text", "збудовано", "--as", OFFICIAL,
        now="2026-09-03T10:00:00Z")
    run(n, "transition", did, "completed", "--as", OFFICIAL, "--reason", "виконано", now="2026-10-01T00:00:00Z")

    shown = json.loads(run(n, "show", did, "--json", "--history", now="2026-10-02T00:00:00Z"))
    assert shown["status"] == "completed"
    assert shown["agreement"] == {SLOVECHNE: "agree", OLEVSK: "silence"}
    silence = next(a for a in shown["answers"] if a["party"] == OLEVSK)
    assert silence["answer"] == "silence" and silence["at"] == "2026-04-21T09:00:00Z"
    docs = json.loads(run(n, "answers", did, now="2026-10-02T00:00:00Z"))
    assert [(x["type"], x["party"], x["answer"], x["id"]) for x in docs] == [
        ("decision-answer", SLOVECHNE, "agree", doc["id"]), ("decision-answer", OLEVSK, "silence", silence["id"])]
    adopted = next(d for d in shown["documents"] if d["role"] == "adopted-text")
    assert adopted["sha256"] == hashlib.sha256(text.read_bytes()).hexdigest()
    moves = [(h["old"], h["new"], h["actor"]["name"], h["at"], h["reason"]) for h in shown["history"]
             if h["field"] == "status"]
    assert moves == [
        (None, "draft", "Олена Коваль", "2026-03-01T09:00:00Z", "drafted"),
        ("draft", "consultation", "Олена Коваль", "2026-03-02T10:00:00Z", "публічне обговорення"),
        ("consultation", "agreement", "Олена Коваль", "2026-04-02T09:00:00Z", "на погодження"),
        ("agreement", "adopted", "Іван Петренко", "2026-04-21T09:00:00Z", "рішення 12 сесії"),
        ("adopted", "implementation", "Олена Коваль", "2026-05-01T09:00:00Z", "початок робіт"),
        ("implementation", "completed", "Олена Коваль", "2026-10-01T00:00:00Z", "виконано")]
    hidden = [h for h in shown["history"] if h["action"] == "hide-comment"]
    assert hidden and hidden[0]["actor"]["role"] == "moderator" and hidden[0]["reason"] == "спам"

    # the public page: Ukrainian and English, the visible comment, the count, not the hidden text
    page = (n.ws.root / "decisions" / f"{did}.html").read_text(encoding="utf-8")
    assert '<meta name="viewport"' in page and 'lang="uk"' in page
    assert "Зміна цільового призначення земель біля Овруча" in page and "Land-use change near Ovruch" in page
    assert "Підтримую, але збережіть лісосмугу" in page and "купуйте цеглу" not in page
    assert "коментарів / comments: <strong>1</strong>" in page
    assert "Овруцька" in page and "мовчання" in page and "<svg" in page
    index = (n.ws.root / "decisions" / "index.html").read_text(encoding="utf-8")
    assert f'href="{did}.html"' in index and "виконано" in index

    # the register itself is a GeoPackage Debian's GDAL opens (what QGIS would read)
    info = subprocess.run(["ogrinfo", "-ro", "-al", "-q", str(n.ws.root / "decisions.gpkg"), "decisions",
                           "-where", f"id = '{did}'"], capture_output=True, text=True, check=True)
    assert "status (String) = completed" in info.stdout and "POLYGON ((28.4 51.2" in info.stdout
    assert "ERROR" not in info.stderr and "Warning" not in info.stderr, info.stderr

    # the register as a GeoPackage layer, read back with pyogrio
    out = run(n, "export", "--out", str(tmp_path / "decisions.gpkg"), now="2026-10-02T00:00:00Z").strip()
    info = pyogrio.read_info(out, layer="decisions")
    assert info["features"] == 1 and "status" in list(info["fields"])
    _, _, wkb, fields = pyogrio.raw.read(out, layer="decisions", columns=["id", "status", "comments_visible"])
    assert list(fields[0]) == [did] and list(fields[1]) == ["completed"] and list(fields[2]) == [1]
    # ... and as the node's own OGC API provider would serve it (collection `decisions`, item id = decision id)
    from publishers.ogcapi.gpkg import GeoPackageProvider

    prov = GeoPackageProvider({"name": "decisions", "type": "feature", "data": out, "table": "decisions",
                               "id_field": "id"})
    item = prov.get(did)
    assert item["properties"]["status"] == "completed" and item["geometry"]["type"] == "Polygon"


def test_illegal_transition_names_the_state_and_the_way_on(sample_node) -> None:  # type: ignore[no-untyped-def]
    n = sample_node
    did = run(n, "create", "--as", OFFICIAL, "--title-uk", "Розпорядження", "--kind", "administration-order",
              "--issuer", OVRUCH, "--geometry", "POINT (28.55 51.32)", now="2026-03-05T09:00:00Z").strip()
    out = run(n, "transition", did, "adopted", "--as", HEAD, "--reason", "одразу", now="2026-03-05T10:00:00Z",
              ok=False)
    assert "'draft'" in out and "consultation, cancelled" in out and "'adopted'" in out
    run(n, "transition", did, "cancelled", "--as", HEAD, "--reason", "відкликано", now="2026-03-05T11:00:00Z")
    out = run(n, "transition", did, "consultation", "--as", OFFICIAL, "--reason", "ще раз", "--until", "2026-04-01",
              now="2026-03-05T12:00:00Z", ok=False)
    assert "'cancelled'" in out and "final state" in out
    res = CliRunner().invoke(main, ["decision", "--config", str(n.config), "--workdir", str(n.ws.root), "show",
                                    "D-1999-999"])
    assert res.exit_code == 10 and "D-1999-999" in res.output
