"""The GeoPackage provider follows a layer replaced atomically by a new ingest, without a restart."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely

from publishers.ogcapi.gpkg import GeoPackageProvider


def _write(path: Path, names: list[str]) -> None:
    pts = shapely.points(np.linspace(28, 29, len(names)), np.linspace(50, 51, len(names)))
    pyogrio.raw.write(path, shapely.to_wkb(pts), field_data=[np.array(names, dtype=object)], fields=["nazva"],
                      layer="places", driver="GPKG", geometry_type="Point", crs="EPSG:4326", encoding="UTF-8",
                      dataset_options={"VERSION": "1.3"}, layer_options={"SPATIAL_INDEX": "YES", "FID": "fid"})


def test_replaced_geopackage_is_served_without_restart(tmp_path: Path) -> None:
    live = tmp_path / "places.gpkg"
    _write(live, ["Житомир", "Бердичів", "Коростень"])
    provider = GeoPackageProvider({"name": "x", "type": "feature", "data": str(live), "table": "places",
                                   "id_field": "fid"})
    assert provider.query(limit=10)["numberMatched"] == 3
    new = tmp_path / ".places.new.gpkg"
    _write(new, ["Овруч", "Олевськ"])
    os.replace(new, live)  # what ingest does: write aside, move into place
    fc = provider.query(limit=10, bbox=[27.5, 49.5, 29.5, 51.5])
    assert fc["numberMatched"] == 2
    assert [f["properties"]["nazva"] for f in fc["features"]] == ["Овруч", "Олевськ"]
    # pygeoapi makes a fresh provider per request: it sees the new file too
    again = GeoPackageProvider({"name": "x", "type": "feature", "data": str(live), "table": "places",
                                "id_field": "fid"})
    assert again.get(1)["properties"]["nazva"] == "Овруч"
