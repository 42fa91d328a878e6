"""The justification against an independent overlay: the stored GeoPackages read straight with pyogrio, cut
with shapely, measured on the ellipsoid (pyproj.Geod) — not through the register's readers or its equal-area
projection — and the cited passport values against the passport's own history table."""

from __future__ import annotations

import sqlite3

import pyogrio.raw
import pytest
import shapely
from pyproj import Geod

from decisions.errors import DecisionError
from decisions.model import Actor, Text
from decisions.repo_gpkg import GpkgRepository
from decisions.service import Register

OVRUCH = "UA18060170000069581"
AREA = "POLYGON ((28.4 51.2, 28.9 51.2, 28.9 51.5, 28.4 51.5, 28.4 51.2))"
ROAD = "LINESTRING (28.2 51.3, 28.6 51.35, 29.0 51.1)"
OFFICIAL = Actor("Олена Коваль", "official", OVRUCH)
GEOD = Geod(ellps="WGS84")


@pytest.fixture()
def reg(sample_node, tmp_path):  # type: ignore[no-untyped-def]
    r = Register.for_node(sample_node.cfg, sample_node.ws)
    r.repo = GpkgRepository(tmp_path / "decisions.gpkg")
    return r


def _layer(node, ds: str, cols: list[str]):  # type: ignore[no-untyped-def]
    path = node.ws.root / "data" / f"{ds}.gpkg"
    meta, fids, wkb, fields = pyogrio.raw.read(path, layer=ds, columns=cols, return_fids=True)
    by_name = dict(zip(meta["fields"], fields))
    return list(fids), shapely.from_wkb(wkb), [by_name[c] for c in cols]


def _consulted(reg: Register, **geom):  # type: ignore[no-untyped-def]
    d = reg.create(OFFICIAL, title=Text("Т"), summary=Text("S"), kind="development-programme", issuer=OVRUCH,
                   cites=[{"katotth": OVRUCH, "indicator": "area_km2"}, {"katotth": OVRUCH, "indicator": "nature_sites"}],
                   **geom)
    return reg.transition(OFFICIAL, d.id, "consultation", reason="обговорення", consultation_until="2099-01-01")


def test_polygon_overlaps_against_geodesic_areas(sample_node, reg) -> None:  # type: ignore[no-untyped-def]
    d = _consulted(reg, geometry=AREA)
    j = {l["dataset"]: l for l in d.justification["layers"]}
    area = shapely.from_wkt(AREA)

    fids, polys, (codes, names) = _layer(sample_node, "hromadas", ["cod_3", "admin_3"])
    expected = {}
    for fid, poly, name in zip(fids, polys, names):
        part = shapely.intersection(poly, area)
        if not part.is_empty:
            expected[int(fid)] = (name, abs(GEOD.geometry_area_perimeter(part)[0]) / 1e6)
    got = {f["fid"]: (f["label"], f["area_km2"]) for f in j["hromadas"]["features"]}
    assert set(got) == set(expected) and len(got) >= 3
    for fid, (name, km2) in expected.items():
        assert got[fid][0] == name
        assert got[fid][1] == pytest.approx(km2, rel=2e-3), name
    assert j["hromadas"]["area_km2"] == pytest.approx(sum(v for _, v in expected.values()), rel=2e-3)

    sfids, sites, (snames,) = _layer(sample_node, "nature-protection", ["unormovana_nazva"])
    inside = {int(f) for f, p in zip(sfids, sites) if area.intersects(p)}
    assert {f["fid"] for f in j["nature-protection"]["features"]} == inside and inside
    assert j["nature-protection"]["version"] == reg.layers["nature-protection"].version


def test_line_lengths_against_geodesic_lengths(sample_node, reg) -> None:  # type: ignore[no-untyped-def]
    d = _consulted(reg, geometry=ROAD)
    hrom = next(l for l in d.justification["layers"] if l["dataset"] == "hromadas")
    fids, polys, _ = _layer(sample_node, "hromadas", ["cod_3"])
    line = shapely.from_wkt(ROAD)
    for f in hrom["features"]:
        part = shapely.intersection(polys[fids.index(f["fid"])], line)
        assert f["length_km"] == pytest.approx(GEOD.geometry_length(part) / 1e3, rel=2e-3)
        assert f["area_km2"] is None


def test_geometry_from_features_and_frozen_passport_values(sample_node, reg) -> None:  # type: ignore[no-untyped-def]
    fids, polys, (codes,) = _layer(sample_node, "hromadas", ["cod_3"])
    ovruch_fid = int(fids[list(codes).index(OVRUCH)])
    d = _consulted(reg, features=("hromadas", [ovruch_fid]))
    assert d.geometry_source == {"dataset": "hromadas", "features": [ovruch_fid],
                                 "version": reg.layers["hromadas"].version}
    source = polys[fids.index(ovruch_fid)]
    assert shapely.from_wkt(d.geometry).symmetric_difference(source).area < 1e-12 * source.area

    with sqlite3.connect(sample_node.ws.root / "passport" / "passports.gpkg") as db:
        rows = dict(db.execute("SELECT indicator, value FROM passport_history WHERE katotth = ? AND indicator IN "
                               "('area_km2', 'nature_sites') ORDER BY computed_at", (OVRUCH,)).fetchall())
        version = db.execute("SELECT source_version FROM passport_history WHERE katotth = ? AND indicator = "
                             "'area_km2'", (OVRUCH,)).fetchone()[0]
    ind = {i["indicator"]: i for i in d.justification["indicators"]}
    assert ind["area_km2"]["value"] == rows["area_km2"] and ind["area_km2"]["source_version"] == version
    assert ind["nature_sites"]["value"] == rows["nature_sites"]
    own = next(f for f in next(l for l in d.justification["layers"] if l["dataset"] == "hromadas")["features"]
               if f["fid"] == ovruch_fid)
    # the hromada's own overlap is the hromada: the same area the passport computed for it
    assert own["area_km2"] == pytest.approx(rows["area_km2"], rel=1e-6)
    # frozen: what the register returns later is what was computed at the move to consultation
    assert reg.get(d.id).justification == d.justification


def test_bad_geometry_and_unknown_features_are_refused(reg) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DecisionError, match="outside Ukraine"):
        reg.create(OFFICIAL, title=Text("Т"), summary=Text(""), kind="other", issuer=OVRUCH,
                   geometry="POINT (51.3 28.5)")
    with pytest.raises(DecisionError, match="not valid"):
        reg.create(OFFICIAL, title=Text("Т"), summary=Text(""), kind="other", issuer=OVRUCH,
                   geometry="POLYGON ((28 51, 29 52, 29 51, 28 52, 28 51))")
    with pytest.raises(DecisionError, match="no feature.*9999"):
        reg.create(OFFICIAL, title=Text("Т"), summary=Text(""), kind="other", issuer=OVRUCH,
                   features=("hromadas", [1, 9999]))
    with pytest.raises(DecisionError, match="not in the passport"):
        d = reg.create(OFFICIAL, title=Text("Т"), summary=Text(""), kind="other", issuer=OVRUCH,
                       geometry="POINT (28.5 51.3)", cites=[{"katotth": OVRUCH, "indicator": "no_such"}])
        reg.transition(OFFICIAL, d.id, "consultation", reason="x", consultation_until="2099-01-01")
    assert reg.list() and all(x.status == "draft" for x in reg.list())
