"""Property-based ingest (hypothesis, bounded): random geometries (valid, invalid, empty, missing, mixed types),
attribute text in UTF-8 / cp1251 / cp866 with the Ukrainian letters ґ є і ї and the apostrophe, hostile file
names (spaces, Cyrillic, quotes, very long). Every load either succeeds with every feature written or in the
rejected layer with a reason — written + rejected == features in the file, counted by sqlite3 — or fails with
our own error (IngestError / CRSError / StoreError) and the previous version intact. Never another traceback.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import string
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pyogrio.raw
import shapely
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from geoportal.errors import CRSError, IngestError, StoreError
from ingest import ingest_file

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, print_blob=True,
                    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # no shrinking: bounded time
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
UKR = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюяАБВГҐДЕЄЖЗИІЇЙКЛМНОПРСТУФХЦЧШЩЬЮЯ"
NAME_CHARS = UKR + string.ascii_letters + string.digits + " '\"’-_.,()#%&+=@!;[]{}~^$`"

# -- geometries, in lon/lat inside Zhytomyr oblast -------------------------------------------------------

lon = st.floats(28.0, 29.0, allow_nan=False)
lat = st.floats(50.0, 51.0, allow_nan=False)
xy = st.tuples(lon, lat)


def _square(c: tuple[float, float], d: float) -> shapely.Geometry:
    x, y = c
    return shapely.Polygon([(x, y), (x + d, y), (x + d, y + d), (x, y + d)])


def _bowtie(c: tuple[float, float], d: float) -> shapely.Geometry:
    x, y = c
    return shapely.Polygon([(x, y), (x + d, y + d), (x + d, y), (x, y + d)])  # self-intersecting


BASES = {
    "Point": st.one_of(xy.map(shapely.Point), st.lists(xy, min_size=1, max_size=3).map(shapely.MultiPoint)),
    "LineString": st.one_of(st.lists(xy, min_size=2, max_size=5).map(shapely.LineString),
                            st.lists(st.lists(xy, min_size=2, max_size=3), min_size=1, max_size=2)
                            .map(shapely.MultiLineString)),
    "Polygon": st.one_of(st.tuples(xy, st.floats(1e-4, 0.05)).map(lambda a: _square(*a)),
                         st.tuples(xy, st.floats(1e-4, 0.05)).map(lambda a: _bowtie(*a)),  # invalid, repairable
                         xy.map(lambda c: shapely.Polygon([c, c, c, c])),  # collapses to nothing
                         st.lists(st.tuples(xy, st.floats(1e-4, 0.01)), min_size=1, max_size=2)
                         .map(lambda sq: shapely.MultiPolygon([_square(*a) for a in sq]))),
}
EMPTY = {"Point": shapely.from_wkt("POINT EMPTY"), "LineString": shapely.from_wkt("LINESTRING EMPTY"),
         "Polygon": shapely.from_wkt("POLYGON EMPTY")}


@st.composite
def geometries(draw: Any, base: str, other: str | None) -> list[shapely.Geometry | None]:
    """Mostly of ``base``; some missing or empty; with ``other`` given, some of that type too (mixed)."""
    kinds = [BASES[base], st.none(), st.just(EMPTY[base])] + ([BASES[other]] if other else [])
    return draw(st.lists(st.one_of(*kinds) | BASES[base], min_size=1, max_size=25))


def text_for(encoding: str) -> st.SearchStrategy[str | None]:
    alphabet = "".join(c for c in UKR + string.digits + " ’" if c.encode(encoding, "ignore"))
    return st.one_of(st.none(), st.text(alphabet, min_size=0, max_size=30))


def hostile_name() -> st.SearchStrategy[str]:
    return st.text(NAME_CHARS, min_size=1, max_size=100).filter(lambda s: s.strip(" .") == s and s not in ("", "."))


# -- writing the sources -------------------------------------------------------------------------------

def write_geojson(path: Path, geoms: list, names: list) -> None:
    feats = [{"type": "Feature", "properties": {"NAZVA": n},
              "geometry": None if g is None else json.loads(shapely.to_geojson(g))} for g, n in zip(geoms, names)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
                    encoding="utf-8")


def write_shapefile(path: Path, geoms: list, names: list, encoding: str, base: str, keep_cpg: bool) -> None:
    """A shapefile holds one type: singles are written as multis, empty ones as null shapes."""
    multi = {"Point": shapely.MultiPoint, "LineString": shapely.MultiLineString, "Polygon": shapely.MultiPolygon}
    wkb = np.array([None if g is None or g.is_empty else
                    shapely.to_wkb(g if g.geom_type.startswith("Multi") else multi[base]([g])) for g in geoms],
                   dtype=object)
    gtype = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}[base]
    with tempfile.TemporaryDirectory() as d:  # pyogrio itself misreads some names: write plain, then move
        pyogrio.raw.write(Path(d) / "plain.shp", wkb, field_data=[np.array(names, dtype=object)], fields=["NAZVA"],
                          geometry_type=gtype, crs="EPSG:4326", driver="ESRI Shapefile", encoding=encoding)
        for f in Path(d).iterdir():
            shutil.move(f, path.with_suffix(f.suffix))
    if not keep_cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)


# -- the independent read --------------------------------------------------------------------------------

def _read(gpkg: Path, table: str) -> list[tuple]:
    with sqlite3.connect(f"file:{quote(str(gpkg))}?mode=ro", uri=True) as c:
        if c.execute("SELECT count(*) FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0] == 0:
            return []
        cols = [r[1] for r in c.execute(f'PRAGMA table_info("{table}")')]
        reason = "reject_reason" if "reject_reason" in cols else "NULL"
        return c.execute(f'SELECT nazva, {reason} FROM "{table}"').fetchall()


def _previous(folder: Path, target: Path) -> str:
    good = folder / "good.geojson"
    write_geojson(good, [shapely.Point(28.5, 50.5), shapely.Point(28.6, 50.6)], ["Житомир", "Овруч"])
    ingest_file(good, target, "t")
    return hashlib.sha256(target.read_bytes()).hexdigest()


def check_load(source: Path, target: Path, n: int, digest: str, names: list, exact_text: bool,
               must_succeed: bool) -> None:
    try:
        layer = ingest_file(source, target, "t")
    except (IngestError, CRSError, StoreError) as e:  # our own errors: one line, naming the file
        assert not must_succeed, f"a clean file was refused: {e}"
        assert str(source) in str(e) or str(target) in str(e), str(e)
        assert hashlib.sha256(target.read_bytes()).hexdigest() == digest  # previous version intact
        assert len(_read(target, "t")) == 2
        return
    written, rejected = _read(target, "t"), _read(target, "t__rejected")
    assert len(written) + len(rejected) == n
    assert layer.feature_count == len(written) and layer.report.features_rejected == len(rejected)
    assert all(r[1] for r in rejected)  # every rejected feature says why
    if exact_text:
        stored = sorted((r[0] or "") for r in written + rejected)
        assert stored == sorted((x or "") for x in names)


# -- the properties ----------------------------------------------------------------------------------------

@st.composite
def cases(draw: Any, fmt: str) -> dict[str, Any]:
    base = draw(st.sampled_from(sorted(BASES)))
    other = draw(st.sampled_from([None, *sorted(set(BASES) - {base})])) if fmt == "geojson" else None
    geoms = draw(geometries(base, other))
    encoding = "utf-8" if fmt == "geojson" else draw(st.sampled_from(["utf-8", "cp1251", "cp866"]))
    names = draw(st.lists(text_for(encoding), min_size=len(geoms), max_size=len(geoms)))
    return {"base": base, "geoms": geoms, "names": names, "encoding": encoding, "name": draw(hostile_name()),
            "keep_cpg": draw(st.booleans())}


def _clean(geoms: list) -> bool:
    """Every geometry present, non-empty, valid and of one base type: such a file must load."""
    if any(g is None or g.is_empty or not g.is_valid for g in geoms):
        return False
    return len({g.geom_type.replace("Multi", "") for g in geoms}) == 1


@SETTINGS
@given(case=cases("geojson"))
def test_random_geojson(case):
    with tempfile.TemporaryDirectory(prefix="prop-") as d:
        folder = Path(d)
        target = folder / f"{case['name']}.gpkg"
        digest = _previous(folder, target)
        src = folder / f"{case['name']}.geojson"
        write_geojson(src, case["geoms"], case["names"])
        check_load(src, target, len(case["geoms"]), digest, case["names"], exact_text=True,
                   must_succeed=_clean(case["geoms"]))


@SETTINGS
@given(case=cases("shapefile"))
def test_random_shapefile(case):
    with tempfile.TemporaryDirectory(prefix="prop-") as d:
        folder = Path(d)
        target = folder / f"{case['name']}.gpkg"
        digest = _previous(folder, target)
        src = folder / "src" / f"{case['name']}.shp"
        src.parent.mkdir()
        write_shapefile(src, case["geoms"], case["names"], case["encoding"], case["base"], case["keep_cpg"])
        check_load(src, target, len(case["geoms"]), digest, case["names"],
                   exact_text=case["keep_cpg"] or case["encoding"] == "utf-8",
                   must_succeed=_clean([g for g in case["geoms"] if g is not None])
                   and any(g is not None for g in case["geoms"]))


def test_names_pyogrio_would_misread(tmp_path, monkeypatch):
    """'!' and ';' mean "archive member" and "URI parameters" to pyogrio: such a source must still be read
    from itself (with its sidecars) and such a target written in place — never a file in the working folder."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    folder = tmp_path / "дані!; 'x'"
    folder.mkdir()
    src = folder / "Дороги!;a.shp"
    write_shapefile(src, [shapely.Point(28.5, 50.5), shapely.Point(28.6, 50.6)], ["ґанок", "Їжак’с"], "cp1251",
                    "Point", keep_cpg=True)
    target = folder / "out!;b.gpkg"
    for n in (1, 2):
        layer = ingest_file(src, target, "t", force=True)
        assert layer.version == n and layer.feature_count == 2
    assert sorted(r[0] for r in _read(target, "t")) == ["Їжак’с", "ґанок"]
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".gpkg") == ["out!;b.gpkg"]


PG_SETTINGS = settings(SETTINGS, max_examples=25)


@PG_SETTINGS
@given(case=cases("geojson"))
def test_random_geojson_into_postgis(postgis_dsn, case):
    """The same on PostGIS, with the hostile name as the layer (table) name; counted with SQL."""
    import psycopg

    from ingest.store import open_store
    from sql_ident import quoted

    def count(table: str) -> int:
        with psycopg.connect(postgis_dsn) as c:
            if c.execute("SELECT to_regclass(format('%%I', %s::text))", (table,)).fetchone()[0] is None:
                return 0
            return int(c.execute(f"SELECT count(*) FROM {quoted(table)}").fetchone()[0])

    name = f"p {case['name']}"
    table = open_store(postgis_dsn).table_for(name)
    with tempfile.TemporaryDirectory(prefix="prop-") as d:
        good = Path(d) / "good.geojson"
        write_geojson(good, [shapely.Point(28.5, 50.5), shapely.Point(28.6, 50.6)], ["Житомир", "Овруч"])
        before = ingest_file(good, postgis_dsn, name, force=True).version
        src = Path(d) / f"{case['name']}.geojson"
        write_geojson(src, case["geoms"], case["names"])
        try:
            layer = ingest_file(src, postgis_dsn, name)
        except (IngestError, CRSError, StoreError) as e:
            assert not _clean(case["geoms"]), f"a clean file was refused: {e}"
            assert count(table) == 2
            current = [r["version"] for r in open_store(postgis_dsn).history(table) if r["current"]]
            assert current == [before]
            return
        assert count(table) + count(f"{table}__rejected") == len(case["geoms"])
        assert layer.feature_count == count(table)


def test_a_file_named_in_cp1251_loads_and_is_reported_by_its_name(tmp_path):
    """Files copied from a Windows share keep their cp1251 names (not UTF-8): they load like any other, and the
    quality report names them readably ("Район.geojson"), written as UTF-8."""
    import os

    src = os.path.join(os.fsencode(tmp_path), "Район".encode("cp1251") + b".geojson")
    shutil.copy(Path(__file__).resolve().parents[2] / "data/geonames-ua/pzo-zytomyrska.geojson", src)
    layer = ingest_file(Path(os.fsdecode(src)), tmp_path / "out.gpkg", "t")
    with sqlite3.connect(tmp_path / "out.gpkg") as db:
        assert layer.feature_count == 161 == db.execute('SELECT count(*) FROM "t"').fetchone()[0]
    assert layer.report.source.endswith("/Район.geojson")
    json.dumps(layer.report.to_dict(), ensure_ascii=False).encode("utf-8")  # a report that can be written
