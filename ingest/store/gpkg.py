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
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa
import pyogrio

from geoportal.errors import IngestError, StoreError
from geoportal.model import write_atomic
from geoportal.model import RowFilter
from ingest.store import GEOM, CapturingIterator, LayerStream
from ingest.store.rows import ident

KEEP_VERSIONS = int(os.environ.get("GEOPORTAL_KEEP_VERSIONS", 5))
PROVENANCE = "__provenance"  # the layer "<table>__provenance"


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
        return [str(n) for n in pyogrio.list_layers(self.path)[:, 0] if str(n) not in self._own(table)]

    def table_for(self, dataset_id: str) -> str:
        return dataset_id

    def location(self, table: str) -> "GpkgTable":
        return GpkgTable(str(self.path), table)

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

        columns = [str(c) for c in pyogrio.read_info(self.path, layer=self.table)["fields"]]
        where = to_sql(rows.cql2, columns)
        both = f"({self.where}) AND {where}" if self.where else where
        cql = f"({self.cql2}) AND ({rows.cql2})" if self.cql2 else rows.cql2
        return replace(self, where=both, cql2=cql)

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
