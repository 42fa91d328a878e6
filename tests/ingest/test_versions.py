"""More loads than kept versions, on both stores: every load works, history always matches the data, every
kept version can be rolled back to — each checked by an independent read (sqlite3 / psql), not our code."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ingest import ingest_file
from ingest.store import open_store
from ingest.store import KEEP_VERSIONS

LOADS = 12


def points_geojson(path: Path, n: int) -> Path:
    """n points in Zhytomyr oblast; the count tells the versions apart."""
    feats = [{"type": "Feature", "properties": {"name": f"пункт {i}", "load": n},
              "geometry": {"type": "Point", "coordinates": [28.0 + i * 0.001, 50.5]}} for i in range(n)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def sqlite_count(gpkg: Path, table: str) -> int:
    with sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True) as c:
        return int(c.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])


def pg(dsn: str, query: str, *args: object) -> list[tuple]:
    import psycopg
    with psycopg.connect(dsn) as c:
        return c.execute(query, args or None).fetchall()


def _load_many(tmp_path: Path, target: Path | str, table: str) -> None:
    for n in range(1, LOADS + 1):
        layer = ingest_file(points_geojson(tmp_path / f"src{n}.geojson", n), target, table)
        assert layer.version == n and layer.feature_count == n


def test_gpkg_more_loads_than_kept_versions(tmp_path):
    target = tmp_path / "out.gpkg"
    _load_many(tmp_path, target, "pts")
    assert sqlite_count(target, "pts") == LOADS
    store = open_store(target)
    hist = store.history("pts")
    assert [r["version"] for r in hist] == list(range(1, LOADS + 1))
    assert [r["version"] for r in hist if r["current"]] == [LOADS]
    kept = [r["version"] for r in hist if r.get("file")]
    assert kept == list(range(LOADS - KEEP_VERSIONS + 1, LOADS + 1))
    # on disk: exactly the kept version files, each holding its own data
    vdir = target.parent / ".versions" / target.stem
    assert sorted(p.name for p in vdir.glob("*.gpkg")) == sorted(f"pts.v{v}.gpkg" for v in kept)
    for v in kept:
        assert sqlite_count(vdir / f"pts.v{v}.gpkg", "pts") == v
    # every kept version can be made current again; the served file then holds exactly it
    for v in reversed(kept):
        store.rollback("pts", v)
        assert sqlite_count(target, "pts") == v
        assert [r["version"] for r in store.history("pts") if r["current"]] == [v]
    # a load after a rollback is a new version on top; the old ones are still there
    layer = ingest_file(points_geojson(tmp_path / "again.geojson", 3), target, "pts")
    assert layer.version == LOADS + 1 and sqlite_count(target, "pts") == 3
    assert [r["version"] for r in store.history("pts") if r["current"]] == [LOADS + 1]


def test_postgis_more_loads_than_kept_versions(tmp_path, postgis_dsn):
    _load_many(tmp_path, postgis_dsn, "pts")
    assert pg(postgis_dsn, "SELECT count(*) FROM pts") == [(LOADS,)]
    rows = pg(postgis_dsn, "SELECT version, is_current, table_name FROM geoportal_versions WHERE dataset = 'pts' "
                           "ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, LOADS + 1))
    assert [r[0] for r in rows if r[1]] == [LOADS]
    kept = [r[0] for r in rows if r[2]]
    assert kept == list(range(LOADS - KEEP_VERSIONS + 1, LOADS + 1))
    tables = {r[0] for r in pg(postgis_dsn, "SELECT tablename FROM pg_tables WHERE tablename LIKE 'pts%'")}
    assert tables == {"pts", "pts__rejected"} | {f"pts__v{v}" for v in kept[:-1]}
    store = open_store(postgis_dsn)
    for v in reversed(kept):
        store.rollback("pts", v)
        assert pg(postgis_dsn, "SELECT count(*) FROM pts") == [(v,)]
        assert pg(postgis_dsn, "SELECT version FROM geoportal_versions WHERE dataset = 'pts' AND is_current") == [(v,)]
    layer = ingest_file(points_geojson(tmp_path / "again.geojson", 3), postgis_dsn, "pts")
    assert layer.version == LOADS + 1 and pg(postgis_dsn, "SELECT count(*) FROM pts") == [(3,)]
    with pytest.raises(Exception, match="not kept"):
        store.rollback("pts", 1)


@pytest.mark.parametrize("name", ["Дороги_загального_користування_Житомирщини", 'квартали "старі"', "x'y z",
                                  "a" * 60, "a" * 60 + "b"])
def test_postgis_hostile_table_names(tmp_path, postgis_dsn, name):
    """Long Cyrillic names (PostgreSQL cuts identifiers at 63 bytes: the versions collided) and quotes load,
    version and roll back like any other; two long names that differ only at the end stay apart."""
    from sql_ident import quoted

    store = open_store(postgis_dsn)
    table = store.table_for(name)
    assert len(table.encode()) <= 39
    for n in (2, 3, 4):
        assert ingest_file(points_geojson(tmp_path / f"s{n}.geojson", n), postgis_dsn, name).version == n - 1
        assert pg(postgis_dsn, f"SELECT count(*) FROM {quoted(table)}") == [(n,)]
    store.rollback(table, 1)
    assert pg(postgis_dsn, f"SELECT count(*) FROM {quoted(table)}") == [(2,)]
    assert [r["version"] for r in store.history(table) if r["current"]] == [1]


def _files(folder: Path) -> dict[int, tuple[Path, int, int]]:
    """inode → (path, size, mtime_ns) of every file under ``folder`` (hard links share an inode)."""
    out = {}
    for p in folder.rglob("*"):
        if p.is_file():
            st = p.stat()
            out[st.st_ino] = (p, st.st_size, st.st_mtime_ns)
    return out


def _wchar() -> int:
    """Bytes this process has handed to write() so far (/proc/self/io), whatever the file system."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


def test_gpkg_new_version_costs_the_changed_layer_not_the_node(tmp_path):
    """A node keeps each dataset in a GeoPackage of its own (ingest.store.gpkg.target_for): a new version of
    one small layer of a node with big ones writes about that layer — the other layers' files are not
    touched, earlier versions are hard links, not copies — and it rolls back like any other."""
    from ingest.store.gpkg import target_for

    data = tmp_path / "data"
    data.mkdir()
    big = {f"big{i}": points_geojson(tmp_path / f"big{i}.geojson", 20_000 + i) for i in range(4)}
    for ds, src in big.items():
        ingest_file(src, target_for(None, data, ds), ds)
    small_target = Path(target_for(None, data, "small"))
    ingest_file(points_geojson(tmp_path / "small1.geojson", 100), small_target, "small")
    before = _files(data)
    node_bytes = sum(size for _, size, _ in before.values())
    small_bytes = small_target.stat().st_size

    w0 = _wchar()
    layer = ingest_file(points_geojson(tmp_path / "small2.geojson", 101), small_target, "small")
    written = _wchar() - w0
    after = _files(data)

    assert layer.version == 2 and sqlite_count(small_target, "small") == 101
    new_bytes = sum(size for ino, (_, size, _) in after.items() if ino not in before)
    # on disk: the new version's file (its history entry is a hard link to it) and a small history.json
    assert new_bytes <= small_target.stat().st_size + 64 * 1024
    # written: that layer's file plus SQLite/GDAL overhead — a small fraction of the node
    assert written <= 4 * small_bytes + 256 * 1024 < node_bytes / 10, (written, small_bytes, node_bytes)
    # the big layers' files: the same inodes, untouched
    for ino, (path, size, mtime) in before.items():
        if path.name.startswith("big") or "/big" in str(path):
            assert after.get(ino) == (path, size, mtime), path
    # the first version is still kept and can be restored
    store = open_store(small_target)
    store.rollback("small", 1)
    assert sqlite_count(small_target, "small") == 100
