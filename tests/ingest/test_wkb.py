"""The stored WKB kept from the bytes read where the geometry is unchanged: always the same bytes as GEOS
writes for the layer's geometry (a one-part multi for a single part), whatever the source's byte order,
dimensions or flavour — and a file loaded end to end reads back with GDAL as the same shapes."""

from __future__ import annotations

import sqlite3

import numpy as np
import pyarrow as pa
import pyogrio
import shapely

from ingest import geometry as geo
from ingest import ingest_file
from ingest.wkb import layer_wkb, plain_points

SQUARE = shapely.Polygon([(28.0, 50.0), (28.1, 50.0), (28.1, 50.1), (28.0, 50.1)])
BOWTIE = shapely.from_wkt("POLYGON ((28 50, 28.1 50.1, 28.1 50, 28 50.1, 28 50))")


def _stored(wkbs: list[bytes | None], ltype: str, *, keep_z: bool = False) -> tuple[list[bytes], list[bytes]]:
    """(what the layer stores, what GEOS writes for the cleaned geometries made multi) for the good rows."""
    read = pa.array(wkbs, pa.binary())
    geoms = shapely.from_wkb(read.to_numpy(zero_copy_only=False), on_invalid="ignore")
    c = geo.clean(geoms, ltype, keep_z=keep_z)
    good = np.array([r is None for r in c.reasons], dtype=bool)
    kept = c.geoms[good].copy()
    multi = {"MultiPolygon": shapely.multipolygons, "MultiLineString": shapely.multilinestrings,
             "MultiPoint": shapely.multipoints}.get(ltype)
    if multi is not None and c.single[good].any():
        kept[c.single[good]] = multi(kept[c.single[good]][:, None])
    got = layer_wkb(read.filter(pa.array(good)), c.geoms[good], c.rewritten[good], c.single[good], ltype)
    return got.to_pylist(), list(shapely.to_wkb(kept))


def test_polygons_of_every_kind_match_geos() -> None:
    z = shapely.force_3d(SQUARE, 120.0)
    m = shapely.from_wkt("POLYGON M ((28 50 1, 28.1 50 1, 28.1 50.1 1, 28 50 1))")
    two = shapely.multipolygons([SQUARE, shapely.box(29.0, 50.0, 29.1, 50.1)])
    wkbs = [shapely.to_wkb(SQUARE), shapely.to_wkb(SQUARE, byte_order=0), shapely.to_wkb(BOWTIE),
            shapely.to_wkb(two), shapely.to_wkb(z, flavor="iso"), shapely.to_wkb(m, flavor="iso"), None,
            shapely.to_wkb(shapely.Polygon())]
    got, want = _stored(wkbs, "MultiPolygon")
    assert len(got) == 6 and got == want
    # the bytes read, behind a one-part MultiPolygon header
    assert got[0][:9] == bytes.fromhex("010600000001000000") and got[0][9:] == wkbs[0]
    got, want = _stored(wkbs[:6], "MultiPolygon", keep_z=True)
    assert got == want and shapely.has_z(shapely.from_wkb(got[4]))


def test_lines_and_points_match_geos() -> None:
    line = shapely.LineString([(28, 50), (28.1, 50.1)])
    got, want = _stored([shapely.to_wkb(line), shapely.to_wkb(line, byte_order=0),
                         shapely.to_wkb(shapely.multilinestrings([line, line]))], "MultiLineString")
    assert got == want and len(got) == 3
    pt = shapely.Point(28, 50)
    points = [shapely.to_wkb(pt), shapely.to_wkb(shapely.multipoints([pt])), shapely.to_wkb(pt, byte_order=0),
              shapely.to_wkb(shapely.multipoints([pt, pt]))]
    got, want = _stored(points, "Point")
    assert got == want and len(got) == 3  # the multi-part point is refused
    got, want = _stored(points, "MultiPoint")
    assert got == want and len(got) == 4


def test_loaded_layer_reads_back_as_the_source(tmp_path) -> None:
    rng = np.random.default_rng(5)
    x, y = rng.uniform(28, 29, 300), rng.uniform(50, 51, 300)
    squares = shapely.box(x, y, x + 0.01, y + 0.01)
    geoms = np.concatenate([squares, [BOWTIE]])
    src = tmp_path / "parts.shp"
    pyogrio.raw.write(src, shapely.to_wkb(geoms), field_data=[np.arange(len(geoms))], fields=["n"],
                      geometry_type="Polygon", crs="EPSG:4326", driver="ESRI Shapefile")
    ingest_file(src, tmp_path / "out.gpkg", "parts")
    _, _, wkb, fields = pyogrio.raw.read(tmp_path / "out.gpkg", layer="parts")
    back = shapely.from_wkb(wkb)
    order = np.argsort(fields[0])
    assert set(shapely.get_type_id(back)) == {shapely.GeometryType.MULTIPOLYGON}
    assert shapely.equals(shapely.get_geometry(back[order][:300], 0), squares).all()
    assert shapely.is_valid(back[order][300]) and shapely.area(back[order][300]) > 0  # repaired, not dropped
    with sqlite3.connect(tmp_path / "out.gpkg") as db:
        assert db.execute("SELECT count(*) FROM parts").fetchone()[0] == 301


def test_plain_points_only_when_geos_would_change_nothing() -> None:
    pts = shapely.points([28.0, 28.5], [50.0, 50.5])
    plain = pa.array(shapely.to_wkb(pts), pa.binary())
    assert plain_points(plain).tolist() == [[28.0, 50.0], [28.5, 50.5]]
    assert plain_points(plain.slice(1)).tolist() == [[28.5, 50.5]]
    odd = {
        "missing": None, "empty": shapely.to_wkb(shapely.from_wkt("POINT EMPTY")),
        "nan": shapely.to_wkb(shapely.Point(np.nan, 50.0)), "inf": shapely.to_wkb(shapely.Point(np.inf, 50.0)),
        "z": shapely.to_wkb(shapely.Point(28, 50, 1)), "big-endian": shapely.to_wkb(shapely.Point(28, 50), byte_order=0),
        "multipoint": shapely.to_wkb(shapely.multipoints([shapely.Point(28, 50)])),
        "line": shapely.to_wkb(shapely.LineString([(28, 50), (29, 51)])),
    }
    for kind, value in odd.items():
        assert plain_points(pa.array([shapely.to_wkb(pts[0]), value], pa.binary())) is None, kind


def test_point_layer_without_geos_stores_what_geos_would(tmp_path) -> None:
    """A batch of plain points takes the numpy path, one with an empty point the GEOS path: both store the
    same bytes, count and bound the same, and the empty one is rejected."""
    from ingest.readers.base import BATCH_SIZE

    rng = np.random.default_rng(7)
    n = BATCH_SIZE + 10
    x, y = rng.uniform(28, 29, n), rng.uniform(50, 51, n)
    geoms = shapely.points(x, y)
    geoms[-1] = shapely.from_wkt("POINT EMPTY")  # the second batch goes through GEOS
    src = tmp_path / "p.geojson"
    names = np.array(["Овpуцькa" if i % 3 else "Житомир" for i in range(n)], dtype=object)
    pyogrio.raw.write(src, shapely.to_wkb(geoms), field_data=[np.arange(n), names], fields=["n", "nazva"],
                      geometry_type="Point", crs="EPSG:4326", driver="GeoJSON")
    layer = ingest_file(src, tmp_path / "out.gpkg", "p")
    assert layer.feature_count == n - 1 and layer.report.features_rejected == 1
    assert layer.report.text_values_repaired == sum(1 for i in range(n) if i % 3)
    assert layer.bbox[0] <= x[:-1].min() and layer.bbox[2] >= x[:-1].max() and layer.bbox[2] - x[:-1].max() < 1e-6
    _, _, wkb, fields = pyogrio.raw.read(tmp_path / "out.gpkg", layer="p")
    order = np.argsort(fields[0])
    assert list(wkb[order]) == list(shapely.to_wkb(geoms[:-1]))
    assert set(fields[1]) == {"Овруцька", "Житомир"}
