"""Several geometry types in one file: refused with the types and counts (never a sliver replacing good
data); compatible single/multi types load as the multi type. Checked with ogrinfo / sqlite3 / psql."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from geoportal.errors import IngestError
from ingest import ingest_file
from ingest.readers.base import BATCH_SIZE
from ingest_testlib import ogr_count

SQUARE = [[[28.0, 50.0], [28.1, 50.0], [28.1, 50.1], [28.0, 50.1], [28.0, 50.0]]]


def _geojson(path: Path, geometries: list[dict]) -> Path:
    feats = [{"type": "Feature", "properties": {"n": i}, "geometry": g} for i, g in enumerate(geometries)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return path


def _point(i: int) -> dict:
    return {"type": "Point", "coordinates": [28.0 + i * 1e-4, 50.5]}


def _ogr_geometry_type(path: Path, layer: str) -> str:
    out = subprocess.run(["ogrinfo", "-ro", "-so", str(path), layer], capture_output=True, text=True, check=True)
    return next(x for x in out.stdout.splitlines() if x.startswith("Geometry:")).split(":", 1)[1].strip()


@pytest.fixture
def loaded(tmp_path):
    target = tmp_path / "out.gpkg"
    ingest_file(_geojson(tmp_path / "good.geojson", [_point(i) for i in range(10)]), target, "l")
    return target, hashlib.sha256(target.read_bytes()).hexdigest()


def test_points_and_polygons_refused_previous_intact(tmp_path, loaded):
    target, digest = loaded
    mixed = _geojson(tmp_path / "mixed.geojson",
                     [{"type": "Polygon", "coordinates": SQUARE}] + [_point(i) for i in range(5)])
    with pytest.raises(IngestError, match=r"mixed\.geojson: .*several geometry types \(Point: 5, Polygon: 1\)"
                                          r".*OGR_GEOMETRY IN \('POINT','MULTIPOINT'\)"):
        ingest_file(mixed, target, "l")
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest
    assert ogr_count(target, "l") == 10
    # the way out the message names works
    layer = ingest_file(mixed, target, "l", where="OGR_GEOMETRY IN ('POINT','MULTIPOINT')")
    assert layer.feature_count == 5 and ogr_count(target, "l") == 5


def test_mixed_types_after_the_first_batch_refused(tmp_path, loaded):
    """The type is decided on the first batch; a polygon far into the file still stops the whole load."""
    target, digest = loaded
    geoms = [_point(i) for i in range(BATCH_SIZE + 10)] + [{"type": "Polygon", "coordinates": SQUARE}]
    with pytest.raises(IngestError, match=rf"Point: {BATCH_SIZE + 10}, Polygon: 1"):
        ingest_file(_geojson(tmp_path / "late.geojson", geoms), target, "l")
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest


def test_mixed_types_refused_on_postgis(tmp_path, postgis_dsn):
    import psycopg

    ingest_file(_geojson(tmp_path / "good.geojson", [_point(i) for i in range(10)]), postgis_dsn, "mixed_pg")
    mixed = _geojson(tmp_path / "mixed.geojson",
                     [{"type": "LineString", "coordinates": [[28, 50], [28.1, 50.1]]}, _point(1)])
    with pytest.raises(IngestError, match=r"LineString: 1, Point: 1|Point: 1, LineString: 1"):
        ingest_file(mixed, postgis_dsn, "mixed_pg")
    with psycopg.connect(postgis_dsn) as c:
        assert c.execute("SELECT count(*) FROM mixed_pg").fetchone() == (10,)
        assert c.execute("SELECT version FROM geoportal_versions WHERE dataset = 'mixed_pg'").fetchall() == [(1,)]


@pytest.mark.parametrize("geoms, expected", [
    ([{"type": "Polygon", "coordinates": SQUARE}, {"type": "MultiPolygon", "coordinates": [SQUARE, [[
        [28.2, 50.0], [28.3, 50.0], [28.3, 50.1], [28.2, 50.0]]]]}], "Multi Polygon"),
    ([{"type": "LineString", "coordinates": [[28, 50], [28.1, 50.1]]},
      {"type": "MultiLineString", "coordinates": [[[28, 50], [28.1, 50.1]], [[28.2, 50], [28.3, 50.1]]]}],
     "Multi Line String"),
])
def test_single_and_multi_of_one_type_load_as_multi(tmp_path, geoms, expected):
    target = tmp_path / "o.gpkg"
    layer = ingest_file(_geojson(tmp_path / "s.geojson", geoms * 3), target, "s")
    assert layer.feature_count == 6 and ogr_count(target, "s") == 6
    assert _ogr_geometry_type(target, "s") == expected
    with sqlite3.connect(target) as c:
        assert c.execute("SELECT count(*) FROM sqlite_master WHERE name = 's__rejected'").fetchone() == (0,)
