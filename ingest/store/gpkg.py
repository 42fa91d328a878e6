"""GeoPackage storage: each version is a complete file written aside and moved into place
(``os.replace``), so a reader opens the old file or the new one, never half of one.

Versions are kept beside the file in ``.versions/<name>/<table>.vN.gpkg`` (hard links, so the current one
costs no space) with ``history-<table>.json``; the provenance of a load is also inside the GeoPackage, in
the ``<table>__provenance`` table, so it travels with the data — and it decides which version is current
when history.json and the file disagree (a load killed between the two).

One load at a time per file (an fcntl lock, ``.versions/<name>.lock``, released by the kernel even on
kill -9, see ingest/store/aside.py); the next load removes what a dead one left (the file written aside,
SQLite journals, GDAL's spatial-index scratch files, version files no record points to).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import tempfile
from contextlib import closing, contextmanager
from pathlib import Path
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator
from urllib.parse import quote

import pyarrow as pa

from geoportal.errors import IngestError, StoreError
from geoportal.model import write_atomic
from geoportal.model import RowFilter
from ingest.ogrio import pyogrio
from ingest.readers.base import needs_plain, plain_dir
from ingest.store import GEOM, KEEP_VERSIONS, CapturingIterator, LayerStream, aside
from ingest.store.rows import ident

PROVENANCE = "__provenance"  # the layer "<table>__provenance"
LOCK_WAIT = float(os.environ.get("GEOPORTAL_LOCK_WAIT", 600))  # seconds a load waits for another one
log = logging.getLogger(__name__)

THREADED_RTREE = "OGR_GPKG_ALLOW_THREADED_RTREE"
RTREE_RAM = "OGR_GPKG_MAX_RAM_USAGE_RTREE"
#: bytes of feature boxes GDAL may hold to bulk-load a layer's R-tree (~36 bytes a feature: ~450k features)
RTREE_RAM_DEFAULT = str(16 * 1024 * 1024)


@contextmanager
def _rtree_after_rows() -> Iterator[None]:
    """The layer's R-tree built from the table once the rows are in, not in a GDAL thread as they come,
    and with a bounded amount of memory.

    GDAL (3.8 and later, the one pyogrio bundles) otherwise keeps every feature's box in memory until the
    end of the layer (+40 MB for 1M polygons, in a thread of its own). Built afterwards, it still bulk-loads
    the R-tree from every box at once, up to ``OGR_GPKG_MAX_RAM_USAGE_RTREE`` (by default a share of the
    machine's RAM): a load's peak grew with the file by ~36 bytes a feature (1M polygons: +29 MB, the peak
    of the whole load). Capped at 16 MB, a larger layer's R-tree is filled from the table by SQLite instead:
    the peak stays flat whatever the file size, for more CPU on layers of more than ~450k features (1M
    polygons: 8.6 → 14.4 s; still less than ogr2ogr's; README, benchmarks). A cap the user sets in the
    environment is kept. GDAL settings, so process-wide for the duration of the write, and restored after
    it."""
    before = {key: pyogrio.get_gdal_config_option(key) for key in (THREADED_RTREE, RTREE_RAM)}
    settings = {THREADED_RTREE: "NO"}
    if before[RTREE_RAM] is None and not os.environ.get(RTREE_RAM):
        settings[RTREE_RAM] = RTREE_RAM_DEFAULT
    pyogrio.set_gdal_config_options(settings)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({key: before[key] for key in settings})


class GpkgStore:
    backend = "geopackage"

    def __init__(self, path: Path | str, *, schema: str = "public"):  # schema: PostGIS only, same signature
        self.path = Path(path).resolve()
        self.versions_dir = self.path.parent / ".versions" / self.path.stem
        self.table: str | None = None

    @property
    def history_file(self) -> Path:
        return self.versions_dir / f"history-{self.table}.json"

    def _own(self, table: str) -> set[str]:
        return {table, f"{table}__rejected", f"{table}{PROVENANCE}"}

    def _others(self, table: str) -> list[str]:
        """Layers of other datasets in the target file (a shared GeoPackage given to ingest-file)."""
        if not self.path.exists():
            return []
        return [n for n in self._layers(self.path) if n not in self._own(table)]

    @staticmethod
    def _layers(path: Path | str) -> list[str]:
        """The tables a GeoPackage registers, read with sqlite3 (any file name works, '!' too)."""
        try:
            with closing(sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)) as c:
                return [str(r[0]) for r in c.execute("SELECT table_name FROM gpkg_contents")]
        except sqlite3.Error as e:
            raise StoreError(f"{path}: not a readable GeoPackage ({e}); move it away or give another "
                             "target") from e

    def table_for(self, dataset_id: str) -> str:
        return dataset_id

    def location(self, table: str) -> "GpkgTable":
        return GpkgTable(str(self.path), table)

    # -- history: one record per version; the file itself says which version it holds --------------

    def _saved_history(self, table: str) -> list[dict[str, Any]]:
        self.table = table
        if not self.history_file.exists():
            return []
        return list(json.loads(self.history_file.read_text(encoding="utf-8")))

    def history(self, table: str) -> list[dict[str, Any]]:
        """The versions of ``table``, the current one marked — as the served file says.

        A load killed between moving its file into place and saving history.json would leave the two
        disagreeing; the file's own provenance table decides, so history never lies about the data.
        """
        return self._reconciled(table, self._saved_history(table))

    def _file_version(self, table: str) -> tuple[int, dict[str, Any]] | None:
        """(version, provenance) of the layer in the current file, read from its provenance table."""
        if not self.path.exists():
            return None
        ident = '"' + f"{table}{PROVENANCE}".replace('"', '""') + '"'
        try:
            with closing(sqlite3.connect(f"file:{quote(str(self.path))}?mode=ro", uri=True)) as c:
                row = c.execute(f"SELECT version, report FROM {ident} ORDER BY rowid DESC LIMIT 1").fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        try:
            prov = json.loads(row[1]) if row[1] else {}
        except ValueError:
            prov = {}
        return int(row[0]), prov

    def _reconciled(self, table: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = self._file_version(table)
        if found is None:
            return records
        version, prov = found
        if any(r.get("current") and r["version"] == version for r in records):
            return records
        records = [dict(r, current=r["version"] == version) for r in records]
        if not any(r["version"] == version for r in records):
            vfile = self.versions_dir / f"{table}.v{version}.gpkg"
            records.append({"version": version, "current": True,
                            "file": vfile.name if vfile.exists() else None,
                            "checksum": prov.get("checksum"), "loaded_at": prov.get("loaded_at"),
                            "provenance": prov})
            records.sort(key=lambda r: int(r["version"]))
        return records

    def _save_history(self, records: list[dict[str, Any]]) -> None:
        write_atomic(self.history_file, json.dumps(records, ensure_ascii=False, indent=1))

    def current(self, table: str) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        return next((r for r in self.history(table) if r.get("current")), None)

    def next_version(self, table: str) -> int:
        return max((r["version"] for r in self.history(table)), default=0) + 1

    # -- one writer at a time; what a dead writer left behind is removed --------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer per file (see ingest/store/aside.py): holding the lock means every temporary file of
        this target belongs to a dead load."""
        with aside.exclusive(self.path, LOCK_WAIT):
            yield

    def _clean_leftovers(self, table: str) -> list[dict[str, Any]]:
        """Under the lock: remove the temporary files of killed loads (the file written aside, SQLite
        journals, GDAL's spatial-index scratch database, half-saved history), make history.json agree
        with the served file, and drop version files that no record points to. Returns the history."""
        aside.remove_dead(self.path, self._tmp_stem, ".gpkg")
        if not self.versions_dir.exists():
            return self._saved_history(table)
        for p in self.versions_dir.glob(".history-*.tmp"):
            p.unlink(missing_ok=True)
        saved = self._saved_history(table)
        records = self._reconciled(table, saved)
        if records != saved:
            log.warning("%s: history of '%s' did not match the file (a load was killed); repaired",
                        self.path, table)
            self._save_history(records)
        used = {r["file"] for r in records if r.get("file")}
        vfile = re.compile(rf"{re.escape(table)}\.v\d+\.gpkg")
        for p in self.versions_dir.iterdir():
            if vfile.fullmatch(p.name) and p.name not in used:
                p.unlink(missing_ok=True)
        return records

    @property
    def _tmp_stem(self) -> str:
        """The target's name in its temporary files, written by pyogrio: only letters, digits, '-', '.',
        '_' and spaces (pyogrio parses '!' and ';' as parts of a URI), plus a hash when anything changed."""
        stem = self.path.stem
        plain = re.sub(r"[^\w\-. ]", "_", stem)
        if plain == stem and not needs_plain(str(self.path.parent / f".{stem}.x.gpkg")):
            return stem
        return plain + "-" + hashlib.sha1(stem.encode()).hexdigest()[:8]

    def _tmp(self) -> str:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self._tmp_stem}.", suffix=".gpkg")
        os.close(fd)
        return tmp

    def write(self, layer: LayerStream) -> None:
        with self._locked():
            records = self._clean_leftovers(layer.table)
            newest = max((r["version"] for r in records), default=0)
            if layer.version <= newest:
                raise StoreError(f"{self.path}: version {newest} of '{layer.table}' was stored by another "
                                 "load meanwhile; run the load again")
            self._write(layer)

    def _write(self, layer: LayerStream) -> None:
        with plain_dir(self.path.parent) as folder:
            self._write_in(layer, folder)

    def _write_in(self, layer: LayerStream, folder: Path) -> None:
        """Write the new file aside; GDAL is given ``folder`` (the target's folder, or a plain-named link
        to it)."""
        real = self._tmp()
        os.unlink(real)
        tmp = str(folder / Path(real).name)
        self.table = layer.table
        others = self._others(layer.table)
        if others:  # keep the other layers: work on a copy of the whole file
            import fiona
            shutil.copy2(self.path, real)
            for name in self._own(layer.table) & set(self._layers(tmp)):
                fiona.remove(tmp, layer=name)
        stream = CapturingIterator(layer.batches)
        try:
            try:
                with _rtree_after_rows():
                    pyogrio.write_arrow(
                        pa.RecordBatchReader.from_batches(layer.schema, iter(stream)), tmp, layer=layer.table,
                        driver="GPKG", geometry_name=GEOM, geometry_type=layer.geometry_type, crs=layer.crs,
                        dataset_options={"VERSION": "1.3"},
                        layer_options={"SPATIAL_INDEX": "YES", "FID": "fid"},
                    )
            except Exception as e:
                if stream.error is not None:
                    raise stream.error from None
                raise StoreError(f"{self.path}: the GeoPackage could not be written ({e}); "
                                 "the previous version is kept") from e
            rej_schema, rejected = layer.rejected()
            if rejected:  # streamed from the spool as well: a file of mostly rejected rows stays flat too
                pyogrio.write_arrow(pa.RecordBatchReader.from_batches(rej_schema, iter(rejected)), tmp,
                                    layer=f"{layer.table}__rejected", driver="GPKG", geometry_name=GEOM,
                                    geometry_type="Unknown", crs=layer.crs, layer_options={"FID": "fid"})
            prov = layer.provenance()
            prov_rows = [r.get("provenance", {}) for r in self.history(layer.table) if r.get("current")]
            rows = [*prov_rows, prov][-KEEP_VERSIONS:]
            pyogrio.write_arrow(pa.table({
                "version": pa.array([int(r.get("version", 0)) for r in rows], pa.int32()),
                "loaded_at": [str(r.get("loaded_at")) for r in rows],
                "source": [str(r.get("source")) for r in rows],
                "checksum": [str(r.get("checksum")) for r in rows],
                "report": [json.dumps(r, ensure_ascii=False) for r in rows],
            }), tmp, layer=f"{layer.table}{PROVENANCE}", driver="GPKG")
            os.chmod(real, 0o644)
            self._commit(Path(real), layer.table, layer.version, prov)
        except BaseException:
            Path(real).unlink(missing_ok=True)
            raise

    def _commit(self, tmp: Path, table: str, version: int, prov: dict[str, Any]) -> None:
        """Keep the new file as a version (hard link), move it into place, then record it. Nothing that
        can fail comes after the move: if the process dies there, the next load repairs history."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        vfile = self.versions_dir / f"{table}.v{version}.gpkg"
        vfile.unlink(missing_ok=True)
        try:
            os.link(tmp, vfile)
        except OSError:
            shutil.copy2(tmp, vfile)
        records = [dict(r, current=False) for r in self.history(table) if r["version"] != version]
        records.append({"version": version, "current": True, "file": vfile.name,
                        "checksum": prov.get("checksum"), "loaded_at": prov.get("loaded_at"),
                        "provenance": prov})
        pruned = prune(records, KEEP_VERSIONS)
        os.replace(tmp, self.path)
        self._save_history(records)
        for name in pruned:
            (self.versions_dir / name).unlink(missing_ok=True)

    def rollback(self, table: str, version: int) -> dict[str, Any]:
        with self._locked():
            records = self._clean_leftovers(table)
            if self._others(table):
                raise StoreError(f"{self.path}: holds other layers too; rollback restores whole files — copy "
                                 f"layer '{table}' from {self.versions_dir} by hand (e.g. with ogr2ogr)")
            rec = next((r for r in records if r["version"] == version), None)
            if rec is None or not rec.get("file") or not (self.versions_dir / rec["file"]).exists():
                kept = ", ".join(str(r["version"]) for r in records if r.get("file")) or "none"
                raise StoreError(f"{self.path}: version {version} of '{table}' is not kept (kept: {kept})")
            tmp = self._tmp()
            try:
                shutil.copy2(self.versions_dir / rec["file"], tmp)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            for r in records:
                r["current"] = r["version"] == version
            self._save_history(records)
            return rec


def prune(records: list[dict[str, Any]], keep: int) -> list[str]:
    """Forget the files of all but the ``keep`` newest kept versions (never the current one); returns
    the file names to delete. Records stay, with ``file`` None, so history still lists every load."""
    with_file = sorted((r for r in records if r.get("file")), key=lambda r: int(r["version"]))
    keep_versions = {r["version"] for r in with_file[-keep:]}
    keep_versions |= {r["version"] for r in records if r.get("current")}
    gone = []
    for r in with_file:
        if r["version"] not in keep_versions:
            gone.append(str(r["file"]))
            r["file"] = None
    return gone


def require_features(n: int, source: str) -> None:
    if n == 0:
        raise IngestError(f"{source}: no feature could be loaded (all were rejected or the filter matched "
                          "none); nothing written, the previous version is kept")


OGR_FID = "gp_fid"  # the fid as an item MapServer can see (see GpkgTable.mapserver_data)


@dataclass(frozen=True)
class GpkgTable:
    """A layer in a GeoPackage file, optionally narrowed to the rows of a SQL filter (SQLite dialect)."""

    backend: ClassVar[str] = "geopackage"
    kind: ClassVar[str] = "vector"
    path: str
    table: str
    where: str | None = None  # from a RowFilter, see restricted()
    cql2: str | None = None  # the filter as the rule wrote it, for providers that evaluate CQL2 themselves

    def describe(self) -> str:
        return f"{self.path} (layer {self.table})"

    def exists(self) -> bool:
        return Path(self.path).exists()

    def ogr_source(self) -> list[str]:
        return [self.path, self.table] + (["-where", self.where] if self.where else [])

    def pygeoapi_provider(self, id_field: str, geometry_column: str) -> dict[str, Any]:
        block: dict[str, Any] = {"type": "feature", "name": "publishers.ogcapi.gpkg.GeoPackageProvider",
                                 "data": self.path, "id_field": id_field, "table": self.table}
        if self.cql2:
            block["row_filter"] = self.cql2
        return block

    def mapserver_data(self, geometry_column: str, id_column: str, srid: int | None) -> dict[str, Any]:
        # OGR hands a DATA that starts with SELECT to SQLite as it is (GDAL keeps the R-tree for it). OGR hides
        # a GeoPackage's fid from MapServer, so it is selected again as an item: the WFS gml:ids become
        # <typename>.<fid>, the OGC API ids, instead of none.
        data = f"SELECT {ident(id_column)} AS {OGR_FID}, * FROM {ident(self.table)}"
        if self.where:
            data += f" WHERE {self.where}"
        return {"connectiontype": "ogr", "connection": self.path, "data": data, "featureid": OGR_FID,
                "helper_items": [OGR_FID]}

    def restricted(self, rows: RowFilter) -> "GpkgTable":
        from dataclasses import replace

        import pyogrio

        from ingest.store.rows import to_sql

        info = pyogrio.read_info(self.path, layer=self.table)
        columns = [str(c) for c in info["fields"]]
        geom, srid, rtree_test = self._spatial_index(info)
        where = to_sql(rows.cql2, columns, geom, srid, rtree_test)
        both = f"({self.where}) AND {where}" if self.where else where
        cql = f"({self.cql2}) AND ({rows.cql2})" if self.cql2 else rows.cql2
        return replace(self, where=both, cql2=cql)

    def _spatial_index(self, info: dict[str, Any]) -> tuple[str, int | None, str | None]:
        """The geometry column, its EPSG code and an R-tree prefilter for an area test (None without one)."""
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?",
                             (self.table,)).fetchone()
            geom, srid = (row[0], int(row[1])) if row else (info.get("geometry_name") or "geom", 4326)
            rtree = f"rtree_{self.table}_{geom}"
            has = db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (rtree,)).fetchone()
            pk = next((c[1] for c in db.execute(f"PRAGMA table_info({ident(self.table)})") if c[5]), "fid")
        test = None
        if has:
            test = (f"{ident(pk)} IN (SELECT id FROM {ident(rtree)} WHERE maxx >= {{minx}} "
                    "AND minx <= {maxx} AND maxy >= {miny} AND miny <= {maxy})")
        return geom, srid, test

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "path": self.path, "table": self.table, "where": self.where,
                "cql2": self.cql2}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GpkgTable":
        return cls(**d)


def target_for(storage: Any, data_dir: Path, dataset_id: str) -> str:
    """Each dataset of a node in a GeoPackage of its own in the node's data folder."""
    return str(data_dir / f"{dataset_id}.gpkg")


Store = GpkgStore
Location = GpkgTable
