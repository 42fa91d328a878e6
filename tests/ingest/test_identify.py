"""The driver GDAL opens a file with, told from its head (ingest/readers/identify.py)."""

from __future__ import annotations

import numpy as np
import pyogrio
import shapely

from ingest.readers.identify import SINGLE_LAYER, identify_driver


def _write(path, driver, layer=None):
    pyogrio.raw.write(path, shapely.to_wkb(shapely.points([28.6], [50.2])), field_data=[np.array([1])],
                      fields=["n"], geometry_type="Point", crs="EPSG:4326", driver=driver, layer=layer)


def test_drivers_told_from_the_head_of_the_file(tmp_path):
    for name, driver in (("a.geojson", "GeoJSON"), ("a.shp", "ESRI Shapefile"), ("a.gpkg", "GPKG"),
                         ("a.fgb", "FlatGeobuf")):
        _write(tmp_path / name, driver)
        assert identify_driver(tmp_path / name) == driver
    assert "GPKG" not in SINGLE_LAYER  # a GeoPackage's layers are still listed before the read


def test_no_driver_for_what_is_no_vector_file(tmp_path):
    (tmp_path / "notes.geojson").write_text("not a geometry", encoding="utf-8")
    assert identify_driver(tmp_path / "notes.geojson") is None
    assert identify_driver(tmp_path / "missing.geojson") is None
