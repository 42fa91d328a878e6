"""Hostile zips, generated here: refused with a clear error before they fill the disk, the previous version
intact; an honest zipped shapefile still loads."""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from pathlib import Path

import pytest

from geoportal.errors import IngestError
from ingest import ingest_file
from ingest_testlib import ogr_count, sample_points, write_points

NAMES = ["Житомир", "Овруч", "Коростень", "Бердичів", "Звягель"] * 4


def _zip_with_padding(tmp_path: Path, name: str, members: int, size: int) -> Path:
    """A zipped shapefile (a real, loadable layer) plus ``members`` highly compressible padding files."""
    shp = tmp_path / "src" / "p.shp"
    if not shp.exists():
        shp.parent.mkdir()
        write_points(shp, sample_points(), "EPSG:4326", NAMES, encoding="cp1251")
    z = tmp_path / name
    pad = b"\0" * size
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(shp.parent.iterdir()):
            zf.write(f, f.name)
        for i in range(members):
            zf.writestr(f"pad/{i:05d}.bin", pad)
    return z


def _unzip_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("geoportal-unzip-*")}


@pytest.fixture
def loaded(tmp_path):
    target = tmp_path / "out.gpkg"
    good = _zip_with_padding(tmp_path, "good.zip", 0, 0)
    assert ingest_file(good, target, "p").feature_count == 20
    return target, hashlib.sha256(target.read_bytes()).hexdigest()


def test_many_small_members_bomb_refused(tmp_path, loaded):
    """600 members of 256 KiB of zeros: each under the per-member ratio floor, 150 MiB from ~0.3 MB."""
    target, digest = loaded
    bomb = _zip_with_padding(tmp_path, "bomb.zip", 600, 256 << 10)
    assert bomb.stat().st_size < 1 << 20
    before = _unzip_dirs()
    with pytest.raises(IngestError, match=r"bomb\.zip: .*ratio over 200.*zip bomb"):
        ingest_file(bomb, target, "p")
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest
    assert ogr_count(target, "p") == 20
    assert _unzip_dirs() == before  # nothing left unpacked


def test_too_many_members_refused(tmp_path, loaded):
    target, digest = loaded
    many = _zip_with_padding(tmp_path, "many.zip", 1200, 1)
    with pytest.raises(IngestError, match=r"many\.zip: 12\d\d members, over the limit of 1000"):
        ingest_file(many, target, "p")
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest


def test_cli_exit_code_for_a_bomb(tmp_path):
    from click.testing import CliRunner

    from geoportal.cli import main

    bomb = _zip_with_padding(tmp_path, "bomb.zip", 600, 256 << 10)
    r = CliRunner().invoke(main, ["ingest-file", str(bomb), "--into", str(tmp_path / "o.gpkg"), "--layer", "p"])
    assert r.exit_code == 3 and "zip bomb" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o.gpkg").exists()
