"""An ingest whose CRS needs no work runs without pyproj (ingest/ogrio.py, ingest/crs.py); one that needs
it imports it as usual. Each load runs in a fresh interpreter, the way ``geoportal ingest-file`` does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyogrio
import shapely

from ingest.crs import epsg_code, match_rule, ukrainian_rules

ROOT = Path(__file__).resolve().parents[2]
LOAD = """
import json, sys
from ingest import ingest_file
layer = ingest_file(sys.argv[1], sys.argv[2], "layer")
print(json.dumps({"pyproj": "pyproj" in sys.modules, "count": layer.feature_count,
                  "bbox": layer.bbox, "crs_decided_by": layer.report.crs_decided_by}))
"""


def _load(src: Path, target: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", LOAD, str(src), str(target)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def _points(path: Path, crs: str, x: np.ndarray, y: np.ndarray) -> None:
    pyogrio.raw.write(path, shapely.to_wkb(shapely.points(x, y)), field_data=[np.arange(len(x))],
                      fields=["n"], geometry_type="Point", crs=crs, driver="GeoJSON")


def test_storage_crs_declared_no_pyproj(tmp_path):
    src = tmp_path / "p.geojson"
    _points(src, "EPSG:4326", np.array([28.5, 28.7]), np.array([50.2, 50.3]))
    got = _load(src, tmp_path / "out.gpkg")
    assert got["pyproj"] is False
    assert got["count"] == 2 and got["bbox"] == [28.5, 50.2, 28.7, 50.3]
    assert "recognised as WGS 84" in got["crs_decided_by"]


def test_other_crs_imports_pyproj_and_transforms(tmp_path):
    src = tmp_path / "p.geojson"
    _points(src, "EPSG:3857", np.array([3172653.0]), np.array([6496876.0]))  # ~28.5, 50.3 in Web Mercator
    got = _load(src, tmp_path / "out.gpkg")
    assert got["pyproj"] is True and got["count"] == 1
    assert abs(got["bbox"][0] - 28.5) < 0.01 and abs(got["bbox"][1] - 50.3) < 0.01


def test_rules_matched_by_code_or_by_definition():
    rules = ukrainian_rules()
    assert epsg_code("EPSG:5562") == 5562 and epsg_code("+proj=longlat") is None
    assert match_rule("EPSG:5562", rules).key == "usk2000-gk-5562"
    wkt = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],'
           'UNIT["degree",0.0174532925199433]]')
    assert match_rule(wkt, rules).key == "wgs84"
    assert match_rule("not a crs", rules) is None
