"""Broken input: a clear error naming the file, a non-zero exit code, nothing written, the previous
version intact."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest

from geoportal.errors import CRSError, GeoportalError, IngestError
from ingest import ingest_file
from ingest_testlib import ogr_count, sample_points, write_points

DATA = Path(__file__).resolve().parents[2] / "data"
NAMES = ["Житомир", "Овруч", "Коростень", "Бердичів", "Звягель"] * 4


@pytest.fixture
def loaded(tmp_path):
    """A target with a good version 1 already in place."""
    target = tmp_path / "out.gpkg"
    ingest_file(DATA / "geonames-ua" / "pzo-zytomyrska.geojson", target, "layer")
    return target, hashlib.sha256(target.read_bytes()).hexdigest()


def _shapefile(tmp_path: Path) -> Path:
    shp = tmp_path / "src" / "p.shp"
    shp.parent.mkdir()
    write_points(shp, sample_points(), "EPSG:4326", NAMES, encoding="cp1251")
    return shp


def _truncate(p: Path, keep: float = 0.6) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * keep)])


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[Path, str]] = {}
    shp = _shapefile(tmp_path)
    for name, mutate, expect in (
        ("truncated_shp", lambda s: _truncate(s), "truncated"),
        ("truncated_dbf", lambda s: _truncate(s.with_suffix(".dbf")), "truncated"),
        ("missing_dbf", lambda s: s.with_suffix(".dbf").unlink(), "no .dbf"),
        ("missing_shx", lambda s: s.with_suffix(".shx").unlink(), "no .shx"),
        ("corrupt_shp", lambda s: s.write_bytes(b"\0garbage" * 50), "corrupt"),
    ):
        d = tmp_path / name
        shutil.copytree(shp.parent, d)
        mutate(d / "p.shp")
        cases[name] = (d / "p.shp", expect)
    (tmp_path / "empty.geojson").write_bytes(b"")
    cases["empty_file"] = (tmp_path / "empty.geojson", "empty")
    cut = tmp_path / "cut.geojson"  # a GeoJSON copy stopped half way: its layer is not listed before the read
    cut.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"n":"а"},'
                   '"geometry":{"type":"Point","coordinates":[28.6,50.2]}},{"type":"Feature","prop', encoding="utf-8")
    cases["cut_geojson"] = (cut, "complete")
    far = tmp_path / "far" / "p.shp"
    far.parent.mkdir()
    write_points(far, sample_points(), "EPSG:3857", NAMES)  # metres of Web Mercator, no .prj
    far.with_suffix(".prj").unlink()
    far.with_suffix(".shp").rename(far)  # keep name
    cases["unknown_crs"] = (far, "--assume-crs")
    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("../../evil.geojson", '{"type":"FeatureCollection","features":[]}')
    cases["zip_slip"] = (slip, "outside the archive")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.csv", b"0" * (64 << 20))
    cases["zip_bomb"] = (bomb, "zip bomb")
    csv = tmp_path / "quotes.csv"
    csv.write_text('назва;широта;довгота\n"Тетерів;50.25;28.66\nКам\'янка;"50.1;28.5\n', encoding="utf-8")
    cases["csv_broken_quoting"] = (csv, "quoting")
    return cases


CASES = ["truncated_shp", "truncated_dbf", "missing_dbf", "missing_shx", "corrupt_shp", "empty_file", "cut_geojson",
         "unknown_crs", "zip_slip", "zip_bomb", "csv_broken_quoting"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_refused_previous_version_intact(tmp_path, loaded, case, territory):
    from ingest.pipeline import Plan

    target, digest = loaded
    src, expect = _bad_inputs(tmp_path)[case]
    with pytest.raises(IngestError) as ei:
        ingest_file(src, target, "layer", plan=Plan(territory=territory))
    msg = str(ei.value)
    assert src.stem in msg and expect in msg, msg
    assert ei.value.exit_code != 0
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest  # the previous version, untouched
    assert ogr_count(target, "layer") == 161
    assert not any(p.name.startswith(".out.") for p in target.parent.iterdir())  # no leftovers
    assert not (tmp_path.parent / "evil.geojson").exists() and not (tmp_path / "evil.geojson").exists()
    if case == "unknown_crs":
        assert isinstance(ei.value, CRSError)


def test_cli_reports_json_and_raises(tmp_path):
    import json

    from click.testing import CliRunner

    from ingest.cli import ingest_file_cmd

    r = CliRunner().invoke(ingest_file_cmd, [str(DATA / "geonames-ua" / "pzo-zhytomyrska.csv"), "--into",
                                             str(tmp_path / "o.gpkg"), "--layer", "pzo", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["features_written"] == 161 and rep["encoding"] == "UTF-8"
    (tmp_path / "e.csv").write_text("", encoding="utf-8")
    r = CliRunner().invoke(ingest_file_cmd, [str(tmp_path / "e.csv"), "--into", str(tmp_path / "o.gpkg"),
                                             "--layer", "e"])
    assert isinstance(r.exception, GeoportalError) and "e.csv" in str(r.exception)
