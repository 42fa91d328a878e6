"""GeoPackage storage: each version is a complete file written aside and moved into place
(``os.replace``), so a reader opens the old file or the new one, never half of one.

Versions are kept beside the file in ``.versions/<name>/vN.gpkg`` (hard links, so the current one costs
no space) with ``history.json``; the provenance of a load is also inside the GeoPackage, in the
``ingest_provenance`` table, so it travels with the data.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyogrio

from geoportal.errors import IngestError, StoreError
from geoportal.model import write_atomic
from ingest.store import GEOM, CapturingIterator, LayerStream

KEEP_VERSIONS = int(os.environ.get("GEOPORTAL_KEEP_VERSIONS", 5))
PROVENANCE = "__provenance"  # the layer "<table>__provenance"


class GpkgStore:
    backend = "geopackage"

    def __init__(self, path: Path):
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
        return [str(n) for n in pyogrio.list_layers(self.path)[:, 0] if str(n) not in self._own(table)]

    def location(self) -> dict[str, Any]:
        return {"path": str(self.path)}

    def history(self, table: str) -> list[dict[str, Any]]:
        self.table = table
        if not self.history_file.exists():
            return []
        return list(json.loads(self.history_file.read_text(encoding="utf-8")))

    def _save_history(self, records: list[dict[str, Any]]) -> None:
        write_atomic(self.history_file, json.dumps(records, ensure_ascii=False, indent=1))

    def current(self, table: str) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        return next((r for r in self.history(table) if r.get("current")), None)

    def next_version(self, table: str) -> int:
        return max((r["version"] for r in self.history(table)), default=0) + 1

    def write(self, layer: LayerStream) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}.", suffix=".gpkg")
        os.close(fd)
        os.unlink(tmp)
        self.table = layer.table
        others = self._others(layer.table)
        if others:  # keep the other layers: work on a copy of the whole file
            import fiona
            shutil.copy2(self.path, tmp)
            for name in self._own(layer.table) & {str(n) for n in pyogrio.list_layers(tmp)[:, 0]}:
                fiona.remove(tmp, layer=name)
        stream = CapturingIterator(layer.batches)
        try:
            try:
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
            if rejected:
                pyogrio.write_arrow(pa.Table.from_batches(rejected, rej_schema), tmp,
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
            os.chmod(tmp, 0o644)
            self._commit(Path(tmp), layer.table, layer.version, prov)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _commit(self, tmp: Path, table: str, version: int, prov: dict[str, Any]) -> None:
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        vfile = self.versions_dir / f"{table}.v{version}.gpkg"
        vfile.unlink(missing_ok=True)
        try:
            os.link(tmp, vfile)
        except OSError:
            shutil.copy2(tmp, vfile)
        os.replace(tmp, self.path)
        records = [dict(r, current=False) for r in self.history(table)]
        records.append({"version": version, "current": True, "file": vfile.name,
                        "checksum": prov.get("checksum"), "loaded_at": prov.get("loaded_at"),
                        "provenance": prov})
        for r in records[:-KEEP_VERSIONS]:
            (self.versions_dir / r["file"]).unlink(missing_ok=True)
            r["file"] = None
        self._save_history(records)

    def rollback(self, table: str, version: int) -> dict[str, Any]:
        records = self.history(table)
        if self._others(table):
            raise StoreError(f"{self.path}: holds other layers too; rollback restores whole files — copy "
                             f"layer '{table}' from {self.versions_dir} by hand (e.g. with ogr2ogr)")
        rec = next((r for r in records if r["version"] == version), None)
        if rec is None or not rec.get("file") or not (self.versions_dir / rec["file"]).exists():
            kept = ", ".join(str(r["version"]) for r in records if r.get("file")) or "none"
            raise StoreError(f"{self.path}: version {version} of '{table}' is not kept (kept: {kept})")
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}.", suffix=".gpkg")
        os.close(fd)
        shutil.copy2(self.versions_dir / rec["file"], tmp)
        os.replace(tmp, self.path)
        for r in records:
            r["current"] = r["version"] == version
        self._save_history(records)
        return rec


def require_features(n: int, source: str) -> None:
    if n == 0:
        raise IngestError(f"{source}: no feature could be loaded (all were rejected or the filter matched "
                          "none); nothing written, the previous version is kept")
