"""The same register on a PostGIS node: the sample layers ingested into PostGIS, the register's tables in the
node's schema. The justification equals the GeoPackage node's; a crash inside a transaction rolls back; the
stored rows are read back with plain SQL."""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg
import pytest

from decisions.model import Actor, Text
from decisions.repo_gpkg import GpkgRepository
from decisions.repo_postgis import PostgisRepository, _PgTx
from decisions.service import Register
from geoportal.build import ingest_all
from geoportal.config import load_config
from geoportal.model import Workspace
from tests.conftest import DEMO_CONFIG, derived_config

pytestmark = pytest.mark.postgis

OVRUCH = "UA18060170000069581"
SLOVECHNE = "UA18060210000083283"
AREA = "POLYGON ((28.4 51.2, 28.9 51.2, 28.9 51.5, 28.4 51.5, 28.4 51.2))"
OFFICIAL = Actor("Олена Коваль", "official", OVRUCH)
SCHEMA = "decisions_node"


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def pg_register(postgis_dsn, tmp_path_factory):  # type: ignore[no-untyped-def]
    from passport.build import build_passport

    base = tmp_path_factory.mktemp("decpg")
    cfg = load_config(derived_config(base / "node.yaml", DEMO_CONFIG,
                                     storage={"backend": "postgis", "dsn": postgis_dsn, "schema": SCHEMA}))
    ws = Workspace(base / "ws").ensure()
    layers = ingest_all(cfg, ws, only=["hromadas", "nature-protection", "geographic-names"])
    build_passport(cfg, ws, layers)
    return Register.for_node(cfg, ws)


def test_lifecycle_and_justification_on_postgis(pg_register, sample_node, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    reg = pg_register
    assert isinstance(reg.repo, PostgisRepository)
    assert {type(l.location).__name__ for l in reg.layers.values()} == {"PostgisTable"}
    d = reg.create(OFFICIAL, title=Text("Зміна призначення", "Land-use change"), summary=Text("s", "s"),
                   kind="land-use-change", issuer=OVRUCH, geometry=AREA, parties=[SLOVECHNE],
                   cites=[{"katotth": OVRUCH, "indicator": "area_km2"}], now=t("2026-03-01T09:00"))

    def crash(self, rows):
        raise RuntimeError("killed in the middle")

    monkeypatch.setattr(_PgTx, "log", crash)
    with pytest.raises(RuntimeError):
        reg.transition(OFFICIAL, d.id, "consultation", reason="r", consultation_until="2026-03-10",
                       now=t("2026-03-02T00:00"))
    monkeypatch.undo()
    assert reg.get(d.id).status == "draft" and len(reg.history(d.id)) == len(
        [h for h in reg.history(d.id) if h.action == "create"])

    d = reg.transition(OFFICIAL, d.id, "consultation", reason="обговорення", consultation_until="2026-03-10",
                       now=t("2026-03-02T00:00"))
    reg.comment(Actor("Марія", "citizen"), d.id, "Підтримую", now=t("2026-03-03T00:00"))
    reg.transition(OFFICIAL, d.id, "agreement", reason="r", agreement_deadline="2026-03-20", now=t("2026-03-11T00:00"))
    reg.answer(Actor("Петро", "official", SLOVECHNE), d.id, SLOVECHNE, "agree", now=t("2026-03-12T00:00"))

    # the same justification as the GeoPackage node computes from its own files
    gp = Register.for_node(sample_node.cfg, sample_node.ws)
    gp.repo = GpkgRepository(tmp_path / "d.gpkg")
    g = gp.create(OFFICIAL, title=Text("x"), summary=Text(""), kind="other", issuer=OVRUCH, geometry=AREA,
                  cites=[{"katotth": OVRUCH, "indicator": "area_km2"}])
    g = gp.transition(OFFICIAL, g.id, "consultation", reason="r", consultation_until="2099-01-01")

    def by_label(j):  # type: ignore[no-untyped-def]
        return {(l["dataset"], f["label"]): (f["area_km2"], f["length_km"]) for l in j["layers"] for f in l["features"]}

    pg_j, gp_j = by_label(d.justification), by_label(g.justification)
    assert pg_j.keys() == gp_j.keys() and len(pg_j) > 10
    for k, (a, ln) in gp_j.items():
        assert pg_j[k][0] == pytest.approx(a, rel=1e-6) if a is not None else pg_j[k][0] is None, k
    assert d.justification["indicators"][0]["value"] == pytest.approx(g.justification["indicators"][0]["value"],
                                                                       rel=1e-6)

    # an independent read of what is stored, with plain SQL
    with psycopg.connect(reg.repo.dsn) as conn:
        status, wkt, comments = conn.execute(
            f"SELECT status, ST_AsText(geom), jsonb_array_length(doc->'comments') FROM {SCHEMA}.decisions "
            "WHERE id = %s", (d.id,)).fetchone()
        moves = conn.execute(f"SELECT old #>> '{{}}', new #>> '{{}}', actor->>'name' FROM {SCHEMA}.decision_history "
                             "WHERE entity_id = %s AND field = 'status' ORDER BY fid", (d.id,)).fetchall()
    assert status == "agreement" and wkt.startswith("POLYGON((28.4 51.2") and comments == 1
    assert moves == [(None, "draft", "Олена Коваль"), ("draft", "consultation", "Олена Коваль"),
                     ("consultation", "agreement", "Олена Коваль")]


def test_projects_filters_and_errors_on_postgis(pg_register) -> None:  # type: ignore[no-untyped-def]
    from decisions.errors import IllegalTransition, NotFound
    from decisions.model import Budget
    from decisions.ocds import release_package

    reg = pg_register
    d = reg.create(OFFICIAL, title=Text("Наказ"), summary=Text(""), kind="administration-order", issuer=OVRUCH,
                   geometry={"type": "Feature", "properties": {}, "geometry": {"type": "Point",
                                                                             "coordinates": [28.55, 51.32]}})
    assert d.geometry == "POINT (28.55 51.32)" and d.geometry_source == {"drawn": "geojson"}
    assert [x.id for x in reg.list(kind="administration-order")] == [d.id]
    assert d.id not in [x.id for x in reg.list(status="consultation")]
    p = reg.create_project(OFFICIAL, title=Text("Школа", "School"), issuer=OVRUCH, decisions=[d.id],
                           budget=[Budget("місцевий бюджет", 500000)])
    p2 = reg.create_project(OFFICIAL, title=Text("Міст"), issuer=OVRUCH, decisions=[d.id])
    assert p2.id != p.id
    reg.transition_project(OFFICIAL, p.id, "preparation", reason="ТЕО")
    with pytest.raises(IllegalTransition, match="'preparation'; it can move to: funding, cancelled"):
        reg.transition_project(OFFICIAL, p.id, "works", reason="поспіх")
    reg.set_budget(OFFICIAL, p.id, "державний бюджет", planned=1e6)
    got = reg.get_project(p.id)
    assert got.stage == "preparation" and [(b.source, b.planned) for b in got.budget] == [
        ("місцевий бюджет", 500000.0), ("державний бюджет", 1e6)]
    assert [h.field for h in reg.history(p.id, "project") if h.action == "budget"] == ["budget[1]"]
    assert {x.id for x in reg.list_projects()} >= {p.id, p2.id}
    release_package(reg.list_projects(), uri="http://127.0.0.1:8000/decisions/ocds.json", publisher="Житомирська ОДА")
    with pytest.raises(NotFound, match="D-1999-001"):
        reg.create_project(OFFICIAL, title=Text("x"), issuer=OVRUCH, decisions=["D-1999-001"])


def test_outbox_inbox_and_delete_on_postgis(pg_register) -> None:  # type: ignore[no-untyped-def]
    """The agreement messages and a draft's removal in PostGIS: the request is queued with the move, a received
    answer joins the decision once, a deleted draft's id is never given again."""
    from decisions.errors import IllegalTransition

    reg = pg_register
    d = reg.create(OFFICIAL, title=Text("Погодження", ""), summary=Text("", ""), kind="other", issuer=OVRUCH,
                   geometry=AREA, parties=[SLOVECHNE], now=t("2026-04-01T09:00"))
    reg.transition(OFFICIAL, d.id, "consultation", reason="r", consultation_until="2026-04-02", now=t("2026-04-01T10:00"))
    reg.transition(OFFICIAL, d.id, "agreement", reason="r", agreement_deadline="2026-04-20", now=t("2026-04-03T10:00"))
    queued = [m for m in reg.outbox("pending") if m["body"]["decision"]["id"] == d.id]
    assert [m["to"] for m in queued] == [SLOVECHNE]
    answer = {"type": "decision-answer", "version": 1, "id": "urn:uuid:11111111-1111-4111-8111-111111111111",
              "decision": d.id, "party": SLOVECHNE, "answer": "object", "at": "2026-04-05T10:00:00Z", "by": "p",
              "reasons": "ліс", "in_reply_to": queued[0]["id"],
              "from": {"node": "slovechne", "katotth": SLOVECHNE, "url": "http://s"}}
    assert reg.receive(answer, SLOVECHNE, "urn:geoportal:slovechne", now=t("2026-04-05T11:00")) == "applied"
    assert reg.receive(answer, SLOVECHNE, "urn:geoportal:slovechne").startswith("already received")
    assert [(a.party, a.answer) for a in reg.get(d.id).answers] == [(SLOVECHNE, "object")]
    reg.attempted(queued[0]["id"], url="http://s", error=None, now=t("2026-04-03T11:00"))
    assert {m["id"] for m in reg.outbox("delivered")} >= {queued[0]["id"]}
    with pytest.raises(IllegalTransition, match="cancel"):
        reg.delete(OFFICIAL, d.id)
    gone = reg.create(OFFICIAL, title=Text("Помилка", ""), summary=Text("", ""), kind="other", issuer=OVRUCH,
                      geometry=AREA, now=t("2026-04-06T09:00"))
    reg.delete(OFFICIAL, gone.id, now=t("2026-04-06T09:05"))
    again = reg.create(OFFICIAL, title=Text("Нова", ""), summary=Text("", ""), kind="other", issuer=OVRUCH,
                       geometry=AREA, now=t("2026-04-06T09:10"))
    assert again.id != gone.id
