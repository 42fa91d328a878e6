"""PostGIS storage, checked with SQL: COPY, types, SRID, spatial index, versions, atomic swap, rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from geoportal.errors import IngestError

psycopg = pytest.importorskip("psycopg")

from ingest import ingest_file  # noqa: E402
from ingest.store import open_store  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "data"
CSV = DATA / "geonames-ua" / "fiz-geo-zhytomyrska.csv"


def q(dsn, sql, *args):
    with psycopg.connect(dsn) as c:
        return c.execute(sql, args or None).fetchall()


def test_load_version_swap_rollback(pg_dsn, tmp_path):
    layer = ingest_file(CSV, pg_dsn, "geo-names")
    assert layer.backend == "postgis" and layer.location.table == "geo_names" and layer.version == 1
    assert q(pg_dsn, "SELECT count(*), min(ST_SRID(geom)), min(GeometryType(geom)) FROM geo_names") == \
        [(1587, 4326, "POINT")]
    assert q(pg_dsn, "SELECT count(*) FROM pg_indexes WHERE tablename = 'geo_names' AND indexdef ILIKE '%gist%'") \
        == [(1,)]
    assert q(pg_dsn, "SELECT reltuples > 0 FROM pg_class WHERE relname = 'geo_names'") == [(True,)]  # ANALYZE
    name = q(pg_dsn, "SELECT unormovana_nazva FROM geo_names WHERE reiestratsiinyi_nomer = 'Ф-4588'")
    assert name == [("Дубовий Острів",)]
    # unchanged source: nothing happens
    assert ingest_file(CSV, pg_dsn, "geo-names").version == 1
    # a changed source: version 2 swapped in; v1 kept
    small = tmp_path / "small.csv"
    lines = CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    small.write_text("".join(lines[:11]), encoding="utf-8")
    assert ingest_file(small, pg_dsn, "geo-names").version == 2
    assert q(pg_dsn, "SELECT count(*) FROM geo_names") == [(10,)]
    assert q(pg_dsn, "SELECT count(*) FROM geo_names__v1") == [(1587,)]
    # a load that breaks in the middle (after COPY started) changes nothing
    broken = tmp_path / "broken.csv"
    broken.write_text("".join(lines) + 'Ф-1;"broken;x;y\n', encoding="utf-8")
    with pytest.raises(IngestError, match="broken.csv"):
        ingest_file(broken, pg_dsn, "geo-names")
    assert q(pg_dsn, "SELECT count(*) FROM geo_names") == [(10,)]
    assert q(pg_dsn, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'geo_names__v3%'") == [(0,)]
    store = open_store(pg_dsn)
    assert [r["version"] for r in store.history("geo_names")] == [1, 2]
    store.rollback("geo_names", 1)
    assert q(pg_dsn, "SELECT count(*) FROM geo_names") == [(1587,)]
    assert q(pg_dsn, "SELECT version FROM geoportal_versions WHERE dataset = 'geo_names' AND is_current") == [(1,)]
    prov = q(pg_dsn, "SELECT provenance->'layer'->'report'->>'encoding_decided_by' FROM geoportal_versions "
                     "WHERE dataset = 'geo_names' AND version = 1")
    assert "UTF-8" in prov[0][0]


def test_node_on_postgis(pg_dsn, cfg, tmp_path):
    from geoportal.model import Workspace
    from ingest import load_dataset

    pg_cfg = cfg.model_copy(update={"storage": cfg.storage.model_copy(update={"backend": "postgis", "dsn": pg_dsn})})
    ws = Workspace.for_node(pg_cfg, tmp_path)
    layer = load_dataset(pg_cfg, pg_cfg.dataset("hromadas"), ws)
    assert layer.backend == "postgis" and layer.location.dsn == pg_dsn
    rows = q(pg_dsn, "SELECT admin_3, katotth_hromada = cod_3, ST_IsValid(geom) FROM hromadas ORDER BY 1")
    assert len(rows) == 6 and all(r[1] and r[2] for r in rows) and rows[3][0] == "Овруцька"
