"""Real and made files in every supported form, checked with a fresh pyogrio read or ogrinfo."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from geoportal.errors import CRSError
from ingest import ingest_file
from ingest.pipeline import Plan
from ingest.readers.coords import parse_angle
from ingest_testlib import ogr_count, sample_points, write_points


DATA = Path(__file__).resolve().parents[2] / "data"
NAMES = ["Житомир", "Овруч", "Коростень", "Бердичів", "Звягель"] * 4


def read(path, layer):
    return pyogrio.raw.read(path, layer=layer)


@pytest.mark.parametrize("text,value", [
    ('N 50° 36’ 0"', 50.6), ("E 29° 5’ 50\"", 29 + 5 / 60 + 50 / 3600), ("50°36'00\"N", 50.6),
    ("50,6", 50.6), ("S 10 30 0", -10.5), ("Пд 10° 30′", -10.5), ("abc", None), ("", None),
])
def test_dms(text, value):
    got = parse_angle(text)
    assert (got is None and value is None) or got == pytest.approx(value)


@pytest.mark.parametrize("cp", ["cp1251", "cp866"])
def test_cyrillic_shapefile_without_cpg(tmp_path, cp):
    shp = tmp_path / "names.shp"
    names = NAMES if cp == "cp1251" else [n.replace("і", "е") for n in NAMES]  # CP866 has no Ukrainian і
    write_points(shp, sample_points(), "EPSG:4326", names, encoding=cp)
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    assert not shp.with_suffix(".cpg").exists()
    layer = ingest_file(shp, tmp_path / "out.gpkg", "names")
    assert layer.report.encoding == cp
    assert "statistics" in layer.report.encoding_decided_by
    _, _, _, data = read(tmp_path / "out.gpkg", "names")
    assert list(data[0]) == names


def test_usk2000_tm_zone_without_prj_is_inferred(tmp_path, territory):
    shp = tmp_path / "tm.shp"
    # the real geographic names, spread over the whole oblast: a near twin (3-degree GK CM 30E, 14 km
    # off) then puts too many of them outside, so only TM zone 9 fits
    _, _, wkb, data = pyogrio.raw.read(DATA / "geonames-ua" / "fiz-geo-zhytomyrska.geojson")
    lonlat = shapely.get_coordinates(shapely.from_wkb(wkb))
    write_points(shp, lonlat, "EPSG:6383", list(data[1]))  # USK-2000 / Ukraine TM zone 9
    shp.with_suffix(".prj").unlink()
    layer = ingest_file(shp, tmp_path / "out.gpkg", "tm", plan=Plan(territory=territory, territory_name="oblast"))
    assert layer.report.source_crs == "EPSG:6383"
    assert layer.report.crs_decided_by.startswith("inferred")
    _, _, wkb, _ = read(tmp_path / "out.gpkg", "tm")
    xy = shapely.get_coordinates(shapely.from_wkb(wkb))
    assert np.abs(xy - lonlat).max() < 1e-6  # the same datum path back: exact


def test_gk_zone_without_prj_is_ambiguous_then_assumed(tmp_path, territory):
    shp = tmp_path / "gk.shp"
    lonlat = sample_points()
    write_points(shp, lonlat, "EPSG:5563", NAMES)  # USK-2000 / Gauss-Kruger zone 5 (with zone prefix)
    shp.with_suffix(".prj").unlink()
    with pytest.raises(CRSError, match=r"gk\.shp.*(SK-42|USK-2000).*--assume-crs"):
        ingest_file(shp, tmp_path / "out.gpkg", "gk", plan=Plan(territory=territory))
    assert not (tmp_path / "out.gpkg").exists()
    layer = ingest_file(shp, tmp_path / "out.gpkg", "gk", assume_crs="EPSG:5563")
    _, _, wkb, _ = read(tmp_path / "out.gpkg", "gk")
    assert np.abs(shapely.get_coordinates(shapely.from_wkb(wkb)) - lonlat).max() < 1e-6
    assert "UCS-2000 to WGS 84" in layer.report.datum_transformation


def test_sk42_transformed_with_datum_shift(tmp_path):
    shp = tmp_path / "sk.shp"
    write_points(shp, sample_points(), "EPSG:28405", NAMES)
    layer = ingest_file(shp, tmp_path / "out.gpkg", "sk")
    assert "Pulkovo 1942 to WGS 84" in layer.report.datum_transformation
    assert "SK-42" in layer.report.crs_decided_by


def test_geonames_csv_with_dms(tmp_path):
    csv = DATA / "geonames-ua" / "fiz-geo-zhytomyrska.csv"
    layer = ingest_file(csv, tmp_path / "out.gpkg", "names")
    assert layer.feature_count == 1587 and ogr_count(tmp_path / "out.gpkg", "names") == 1587
    assert layer.report.coordinate_columns == ["Довгота", "Широта"]
    _, _, wkb, data = read(tmp_path / "out.gpkg", "names")
    _, _, ref_wkb, ref = pyogrio.raw.read(DATA / "geonames-ua" / "fiz-geo-zhytomyrska.geojson")
    ours = dict(zip(data[0], shapely.get_coordinates(shapely.from_wkb(wkb)).tolist()))
    theirs = dict(zip(ref[0], shapely.get_coordinates(shapely.from_wkb(ref_wkb)).tolist()))
    assert ours.keys() == theirs.keys()
    assert max(abs(a - b) for k in ours for a, b in zip(ours[k], theirs[k])) < 1e-3
    assert layer.report.field_titles["shyrota"] == "Широта"


def test_pzo_csv_line_breaks_in_cells(tmp_path):
    layer = ingest_file(DATA / "geonames-ua" / "pzo-zhytomyrska.csv", tmp_path / "o.gpkg", "pzo")
    assert layer.feature_count == 161
    _, _, _, data = read(tmp_path / "o.gpkg", "pzo")
    assert any("\n" in v for v in data[3] if v)


def test_xlsx_with_xy_columns_and_assumed_crs(tmp_path, territory):
    import openpyxl
    from ingest.crs import transform_xy

    lonlat = sample_points(5)
    x, y = transform_xy(lonlat[:, 0], lonlat[:, 1], "EPSG:4326", "EPSG:6383")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Назва", "X", "Y"])
    for i in range(5):
        ws.append([NAMES[i], float(y[i]), float(x[i])])  # surveyors' order: X = northing
    wb.save(tmp_path / "t.xlsx")
    layer = ingest_file(tmp_path / "t.xlsx", tmp_path / "o.gpkg", "t",
                        plan=Plan(territory=territory, assume_crs="EPSG:6383"))
    assert layer.report.axis_swapped is True
    _, _, wkb, _ = read(tmp_path / "o.gpkg", "t")
    assert np.abs(shapely.get_coordinates(shapely.from_wkb(wkb)) - lonlat).max() < 1e-6


def test_zipped_shapefile_kml_kmz_gml_gpkg_layers(tmp_path):
    shp_dir = DATA / "boundaries"
    z = tmp_path / "h.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in shp_dir.glob("hromadas_30km_russia_belarus.*"):
            zf.write(f, f"inner/{f.name}")
    layer = ingest_file(z, tmp_path / "o.gpkg", "h", where="COD_3 LIKE 'UA18%'")
    assert layer.feature_count == 6 and layer.report.source_member.startswith("inner/")
    pts = shapely.points(sample_points(3))
    for drv, ext in (("KML", "kml"), ("GML", "gml"), ("GPKG", "gpkg")):
        f = tmp_path / f"p.{ext}"
        pyogrio.raw.write(f, shapely.to_wkb(pts), field_data=[np.array(NAMES[:3], dtype=object)], fields=["name"],
                          geometry_type="Point", crs="EPSG:4326", driver=drv, layer="a")
        if drv == "GPKG":
            pyogrio.raw.write(f, shapely.to_wkb(pts), field_data=[np.array(NAMES[:3], dtype=object)],
                              fields=["name"], geometry_type="Point", crs="EPSG:4326", driver=drv, layer="b")
            from geoportal.errors import IngestError
            with pytest.raises(IngestError, match="2 layers"):
                ingest_file(f, tmp_path / "o.gpkg", ext)
        got = ingest_file(f, tmp_path / "o.gpkg", f"from_{ext}", layer="b" if drv == "GPKG" else None)
        assert got.feature_count == 3 and ogr_count(tmp_path / "o.gpkg", f"from_{ext}") == 3
    assert ogr_count(tmp_path / "o.gpkg", "h") == 6  # the shared file keeps the other layers
    with zipfile.ZipFile(tmp_path / "p.kmz", "w") as zf:
        zf.write(tmp_path / "p.kml", "doc.kml")
    assert ingest_file(tmp_path / "p.kmz", tmp_path / "o.gpkg", "kmz").feature_count == 3


def test_invalid_geometry_repaired_empty_rejected(tmp_path):
    bow = shapely.from_wkt("POLYGON((28 50, 28.1 50.1, 28.1 50, 28 50.1, 28 50))")
    ok = shapely.box(28.2, 50.2, 28.3, 50.3)
    gc = shapely.from_wkt("GEOMETRYCOLLECTION(POINT(28 50), LINESTRING(28 50, 29 51))")  # no polygon in it
    geoms = np.array([bow, ok, shapely.from_wkt("POLYGON EMPTY"), gc], dtype=object)
    src = tmp_path / "g.geojson"
    pyogrio.raw.write(src, shapely.to_wkb(geoms), field_data=[np.array(["a", "b", "c", "d"], dtype=object)],
                      fields=["n"], geometry_type="Unknown", crs="EPSG:4326", driver="GeoJSON")
    layer = ingest_file(src, tmp_path / "o.gpkg", "g")
    assert layer.geometry_type == "MultiPolygon" and layer.feature_count == 2
    assert layer.report.geometries_repaired == 1
    _, _, wkb, data = read(tmp_path / "o.gpkg", "g")
    g = shapely.from_wkb(wkb)
    assert shapely.is_valid(g).all() and set(shapely.get_type_id(g)) == {shapely.GeometryType.MULTIPOLYGON}
    _, _, _, rej = read(tmp_path / "o.gpkg", "g__rejected")
    assert sorted(rej[0]) == ["c", "d"]
    assert any("empty" in r for r in rej[1]) and any("Geometrycollection" in r for r in rej[1])
    # (a file mixing polygons with lines or points is refused as a whole: test_geometry_types.py)


def test_geotiff_to_cog(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    src = tmp_path / "dem.tif"
    with rasterio.open(src, "w", driver="GTiff", width=600, height=600, count=1, dtype="uint16", crs="EPSG:6383",
                       transform=from_origin(400000, 5600000, 10, 10)) as ds:
        ds.write(np.arange(360000, dtype="uint16").reshape(1, 600, 600))
    layer = ingest_file(src, tmp_path / "dem_cog.tif", "dem")
    with rasterio.open(layer.location.path) as ds:
        assert ds.profile.get("tiled") and ds.overviews(1)
        assert ds.read(1)[10, 10] == 6010
    assert 26 < layer.bbox[0] < 30
