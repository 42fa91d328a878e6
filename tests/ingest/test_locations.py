"""The storage contract the publishers rely on: a stored layer's Location answers where the data is, for GDAL,
MapServer and pygeoapi, the same way on every backend — and narrowed by an access rule's row filter, every
one of those answers gives only the allowed rows (counted independently with sqlite3 / psql)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import psycopg
import pytest

from geoportal.config import load_config
from geoportal.errors import ConfigError
from geoportal.model import Endpoints, RowFilter, StoredLayer, Workspace
from ingest import ingest_file

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "data" / "geonames-ua" / "fiz-geo-zhytomyrska.csv"
CFG = load_config(ROOT / "config" / "nodes" / "zhytomyr-oblast.yaml")
RULE = "vyd_heohrafichnoho_obiektu = 'річка'"


def _ogr_count(args: list[str]) -> int:
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-al", *args], capture_output=True, text=True, check=True).stdout
    return int(next(ln for ln in out.splitlines() if ln.startswith("Feature Count:")).split(":")[1])


def _wfs_hits(tmp: Path, layer: StoredLayer) -> int:
    """Features MapServer's WFS gives for the layer, through a mapfile the MapServer publisher wrote."""
    from publishers import mapserver

    ws = Workspace(tmp / "ws").ensure()
    mapserver.write(CFG, ws, {"geographic-names": layer}, Endpoints("http://node.example.org"))
    env = {"MAPSERVER_CONFIG_FILE": str(mapserver.config_file_path(ws)), "REQUEST_METHOD": "GET", "PATH": "/usr/bin:/bin",
           "QUERY_STRING": "SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=geographic-names"
                           "&OUTPUTFORMAT=geojson"}
    out = subprocess.run(["mapserv"], env=env, capture_output=True, check=True).stdout
    return len(json.loads(out.split(b"\r\n\r\n", 1)[1])["features"])


@pytest.fixture(params=["geopackage", "postgis"])
def stored(request, tmp_path):  # type: ignore[no-untyped-def]
    target = tmp_path / "names.gpkg" if request.param == "geopackage" else request.getfixturevalue("pg_dsn")
    return ingest_file(CSV, target, "geographic-names")


def _independent_count(layer: StoredLayer, where: str | None) -> int:
    loc = layer.location.to_dict()
    clause = f" WHERE {where}" if where else ""
    if loc["backend"] == "geopackage":
        with sqlite3.connect(loc["path"]) as db:
            return db.execute(f'SELECT count(*) FROM "{loc["table"]}"{clause}').fetchone()[0]
    with psycopg.connect(loc["dsn"]) as db:
        return db.execute(f'SELECT count(*) FROM "{loc["schema"]}"."{loc["table"]}"{clause}').fetchone()[0]


def test_every_client_reads_the_layer_where_the_location_says(stored, tmp_path) -> None:  # type: ignore[no-untyped-def]
    total = _independent_count(stored, None)
    assert total == stored.feature_count == 1587
    assert _ogr_count(stored.location.ogr_source()) == total
    assert _wfs_hits(tmp_path, stored) == total
    block = stored.location.pygeoapi_provider(stored.id_column, stored.geometry_column)
    assert block["type"] == "feature" and "row_filter" not in block
    assert StoredLayer.from_dict(json.loads(json.dumps(stored.to_dict()))) == stored  # the manifest round-trips


def test_a_row_filter_narrows_every_answer(stored, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rivers = _independent_count(stored, "vyd_heohrafichnoho_obiektu = 'річка'")
    assert 0 < rivers < stored.feature_count
    narrowed = stored.restricted(RowFilter(RULE))
    assert _ogr_count(narrowed.location.ogr_source()) == rivers
    assert _wfs_hits(tmp_path, narrowed) == rivers
    assert narrowed.location.pygeoapi_provider("fid", "geom")["row_filter"] == RULE
    both = narrowed.restricted(RowFilter("unormovana_nazva LIKE 'Т%'"))  # rules add up, never widen
    assert _ogr_count(both.location.ogr_source()) == _independent_count(
        stored, "vyd_heohrafichnoho_obiektu = 'річка' AND unormovana_nazva LIKE 'Т%'")


@pytest.mark.parametrize("cql2, problem", [
    ("no_such_column = 1", "no property 'no_such_column'"),
    ("unormovana_nazva = 'x' OR", "not valid CQL2"),
    # an area is S_INTERSECTS on the layer's geometry column (access views); other spatial tests are not rules
    ("S_WITHIN(geom, POINT(28 50))", "not supported in access rules"),
    ("S_INTERSECTS(no_such_geom, POINT(28 50))", "takes the layer's geometry column"),
])
def test_a_rule_that_cannot_be_enforced_is_refused(tmp_path, cql2: str, problem: str) -> None:
    layer = ingest_file(CSV, tmp_path / "names.gpkg", "geographic-names")
    with pytest.raises(ConfigError, match=problem):
        layer.restricted(RowFilter(cql2))
