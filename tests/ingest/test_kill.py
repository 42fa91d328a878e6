"""kill -9 of a real `geoportal ingest-file` at random points of a load, on both stores: the previous version
stays intact (independent reads: ogrinfo, sqlite3, psql), history matches the data, the next load succeeds
and removes whatever the dead loads left behind."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyogrio.raw
import pytest
import shapely

from ingest_testlib import ogr_count

GEOPORTAL = Path(sys.executable).with_name("geoportal")
BIG = 100_000
KILLS = 4


def _points(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    geoms = shapely.points(rng.uniform(28, 29, n), rng.uniform(50, 51, n))
    pyogrio.raw.write(path, shapely.to_wkb(geoms), field_data=[np.array([f"пункт {i}" for i in range(n)], object)],
                      fields=["NAZVA"], geometry_type="Point", crs="EPSG:4326", driver="ESRI Shapefile",
                      encoding="UTF-8")
    return path


def _run(args: list[str], kill_after: float | None = None, started: Callable[[], bool] | None = None) -> bool:
    """Run geoportal; kill -9 it ``kill_after`` seconds after ``started()`` turns true (the load has begun
    writing). True when it was killed before it ended."""
    p = subprocess.Popen([str(GEOPORTAL), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is None:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        return False
    while started is not None and p.poll() is None and not started():
        time.sleep(0.01)
    try:
        p.wait(timeout=kill_after)
        return False
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        return True


def _timed(args: list[str], started: Callable[[], bool]) -> float:
    """Seconds from the start of writing to the end of a complete load."""
    p = subprocess.Popen([str(GEOPORTAL), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while p.poll() is None and not started():
        time.sleep(0.01)
    t0 = time.monotonic()
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err.decode()
    return time.monotonic() - t0


def _delays(writing: float, seed: int) -> list[float]:
    """Spread over the writing: the rows, the spatial index, the provenance, the swap at the end."""
    rng = random.Random(seed)
    return [writing * (i + rng.random()) / KILLS for i in range(KILLS)]


# -- GeoPackage ----------------------------------------------------------------------------------------

def _gpkg_state(gpkg: Path) -> tuple[int, int, int]:
    """(features by ogrinfo, version the file's provenance says, version history.json marks current)."""
    with sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True) as c:
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        in_file = c.execute('SELECT version FROM "l__provenance" ORDER BY rowid DESC LIMIT 1').fetchone()[0]
    hist = json.loads((gpkg.parent / ".versions" / gpkg.stem / "history-l.json").read_text(encoding="utf-8"))
    return ogr_count(gpkg, "l"), in_file, next(r["version"] for r in hist if r["current"])


def test_kill_gpkg_loads(tmp_path):
    small, big = _points(tmp_path / "small.shp", 10, 1), _points(tmp_path / "big.shp", BIG, 2)
    target = tmp_path / "out" / "out.gpkg"
    _run(["ingest-file", str(small), "--into", str(target), "--layer", "l"])
    def new_files() -> Callable[[], bool]:
        """True once this run has made its own temporary file (earlier leftovers do not count)."""
        before = {p.name for p in target.parent.iterdir()}
        return lambda: any(p.name.startswith(".out.") and p.name not in before for p in target.parent.iterdir())

    full = _timed(["ingest-file", str(big), "--into", str(target), "--layer", "l", "--force"], new_files())
    expect_count, expect_version = BIG, 2
    assert _gpkg_state(target) == (BIG, 2, 2)
    leftovers_seen: set[str] = set()
    for delay in _delays(full, 7):
        killed = _run(["ingest-file", str(big), "--into", str(target), "--layer", "l", "--force"], delay, new_files())
        if not killed:
            expect_version += 1
        count, in_file, in_history = _gpkg_state(target)
        # the file holds the previous version (or the new one, complete, if the kill came after the swap)
        assert count == expect_count and in_file in (expect_version, expect_version + 1), (delay, in_file)
        if in_file == expect_version + 1:  # killed after the move into place: history is repaired on read
            expect_version += 1
        from ingest.store import open_store
        assert [r["version"] for r in open_store(target).history("l") if r["current"]] == [in_file]
        leftovers_seen |= {p.name for p in target.parent.iterdir() if p.name.startswith(".out.")}
        assert in_history in (in_file, in_file - 1)
    # the next load works and cleans up after the dead ones
    _run(["ingest-file", str(small), "--into", str(target), "--layer", "l", "--force"])
    count, in_file, in_history = _gpkg_state(target)
    assert count == 10 and in_file == in_history
    assert sorted(p.name for p in target.parent.iterdir()) == [".versions", "out.gpkg"], leftovers_seen
    hist = json.loads((target.parent / ".versions" / "out" / "history-l.json").read_text(encoding="utf-8"))
    kept = {r["file"] for r in hist if r.get("file")}
    assert {p.name for p in (target.parent / ".versions" / "out").iterdir()} == kept | {"history-l.json"}
    for name in kept:
        assert ogr_count(target.parent / ".versions" / "out" / name, "l") in (10, BIG)


# -- PostGIS -------------------------------------------------------------------------------------------

def _pg(dsn: str, query: str) -> list[tuple]:
    import psycopg
    with psycopg.connect(dsn) as c:
        return c.execute(query).fetchall()


def _pg_tables(dsn: str) -> set[str]:
    return {r[0] for r in _pg(dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                   "AND tablename LIKE 'killed%'")}


def test_kill_postgis_loads(tmp_path, postgis_dsn):
    small, big = _points(tmp_path / "small.shp", 10, 1), _points(tmp_path / "big.shp", BIG, 2)
    args = ["--into", postgis_dsn, "--layer", "killed"]
    _run(["ingest-file", str(small), *args])
    def writing() -> bool:
        return bool(_pg(postgis_dsn, "SELECT 1 FROM pg_stat_activity WHERE query ILIKE 'COPY%killed%'"))

    full = _timed(["ingest-file", str(big), *args, "--force"], writing)
    expect = BIG
    for delay in _delays(full, 11):
        _run(["ingest-file", str(big), *args, "--force"], delay, writing)
        # the transaction either committed whole or not at all
        (count,), = _pg(postgis_dsn, "SELECT count(*) FROM killed")
        assert count == expect == BIG
        rows = _pg(postgis_dsn, "SELECT version, table_name, is_current FROM geoportal_versions "
                                "WHERE dataset = 'killed' ORDER BY version")
        assert sum(r[2] for r in rows) == 1
        assert _pg_tables(postgis_dsn) == {r[1] for r in rows if r[1]} | {"killed__rejected"}
    _run(["ingest-file", str(small), *args, "--force"])
    assert _pg(postgis_dsn, "SELECT count(*) FROM killed") == [(10,)]
    rows = _pg(postgis_dsn, "SELECT table_name FROM geoportal_versions WHERE dataset = 'killed'")
    assert _pg_tables(postgis_dsn) == {r[0] for r in rows if r[0]} | {"killed__rejected"}
    # no session of a dead loader is left holding anything
    assert _pg(postgis_dsn, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                            "WHERE c.relname LIKE 'killed%'") == [(0,)]


def test_live_load_is_never_cleaned_up(tmp_path, monkeypatch):
    """The files of a load that is still running are never removed: a second load waits for the lock (here:
    gives up at once, naming the pid); once the holder dies (kill -9), its files are a dead load's, and go."""
    import ingest.store.gpkg as gpkg_mod
    from geoportal.errors import StoreError
    from ingest import ingest_file

    small = _points(tmp_path / "small.shp", 10, 1)
    target = tmp_path / "out" / "out.gpkg"
    _run(["ingest-file", str(small), "--into", str(target), "--layer", "l"])
    # a "live load" in another process: holds the target's lock and has its temporary file open
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, pathlib\n"
        "from ingest.store import aside\n"
        "t = pathlib.Path(sys.argv[1])\n"
        "with aside.exclusive(t, 0):\n"
        "    (t.parent / '.out.live0001.gpkg').write_bytes(b'half a file')\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(120)\n"), str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        monkeypatch.setattr(gpkg_mod, "LOCK_WAIT", 0.0)
        with pytest.raises(StoreError, match=rf"another load \(pid {holder.pid}\) is still writing"):
            ingest_file(small, target, "l", force=True)
        assert (target.parent / ".out.live0001.gpkg").exists()  # not touched
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert ingest_file(small, target, "l", force=True).version == 2
    assert not (target.parent / ".out.live0001.gpkg").exists()  # now a dead load's: removed
    assert _gpkg_state(target) == (10, 2, 2)


def test_kill_raster_load(tmp_path):
    """The same for a GeoTIFF → COG load: killed while GDAL writes the COG aside, the previous file stays
    and the next load removes the pieces (read back with rasterio, not our code)."""
    import rasterio
    from rasterio.transform import from_origin

    def tif(path: Path, seed: int, size: int) -> Path:
        data = np.random.default_rng(seed).integers(0, 5000, (1, size, size), dtype="uint16")
        with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="uint16",
                           crs="EPSG:32635", transform=from_origin(300000, 5600000, 10, 10)) as ds:
            ds.write(data)
        return path

    # big enough that writing its COG outlasts a loaded machine's polling (the kill must land mid-write)
    small, big = tif(tmp_path / "small.tif", 1, 64), tif(tmp_path / "big.tif", 2, 5000)
    target = tmp_path / "out" / "dem.tif"
    _run(["ingest-file", str(small), "--into", str(target), "--layer", "dem"])
    before = {p.name for p in target.parent.iterdir()}
    started = lambda: any(p.name.startswith(".dem.") for p in target.parent.iterdir())  # noqa: E731
    assert _run(["ingest-file", str(big), "--into", str(target), "--layer", "dem"], 0.3, started)
    left = {p.name for p in target.parent.iterdir()} - before
    assert left and all(n.startswith(".dem.") for n in left)
    with rasterio.open(target) as ds:
        assert ds.width == 64  # the previous version, intact
    _run(["ingest-file", str(big), "--into", str(target), "--layer", "dem"])
    with rasterio.open(target) as ds:
        assert ds.width == 5000
    assert {p.name for p in target.parent.iterdir()} == before
