"""The ingest pipeline: read → CRS to storage → repair geometry → normalise text → link KATOTTH → map to
the target schema → store a new version atomically, with a quality report.

Everything streams: a reader yields Arrow batches, each batch is processed with vectorised shapely and
pyarrow, and the store consumes them as they come (GDAL's Arrow writer, PostgreSQL COPY), so memory
stays flat in the file size. Features that cannot be loaded are kept, with a reason, in the
``<dataset>__rejected`` layer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import shapely

from ingest import streaming  # noqa: F401,I001  (before pyarrow: it picks the allocator Arrow loads with)
import pyarrow as pa

from geoportal.errors import CRSError, IngestError
from geoportal.model import FieldInfo, QualityReport, StoredLayer, Workspace, write_atomic
from ingest import admin as admin_mod
from ingest.ahead import Ahead
from ingest import geometry as geo
from ingest.crs import (crs_key, datum_note, infer_crs, match_rule, parse_crs, ukrainian_rules)
from ingest.readers import RASTER_SUFFIXES, ReadOptions, Source, open_source
from ingest.readers.base import REASON, WKB, display_path
from ingest.report import Tally
from ingest.store import GEOM, LayerStream, open_store
from ingest.streaming import streaming_settings
from ingest.text import field_name, normalise_column
from ingest.wkb import layer_wkb, plain_points

if TYPE_CHECKING:  # ingest-file needs neither a node config nor a target schema (pydantic, ~10 MB)
    from geoportal.config import Dataset, NodeConfig
    from ingest.schema import TargetSchema

log = logging.getLogger(__name__)

SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qmd")
REJECT_REASON = "reject_reason"
SAMPLE = 5000  # features the decisions before the load are taken on (CRS, layer type)


@dataclass
class Plan:
    """Everything decided before reading: from the node config, or defaults for ``ingest-file``."""

    storage_crs: str = "EPSG:4326"
    assume_crs: str | None = None
    extra_crs: dict[str, str] | None = None
    keep_z: bool = False
    territory: shapely.Geometry | None = None  # EPSG:4326
    territory_name: str = "Ukraine"
    quarantine_outside: bool = False
    admin: admin_mod.AdminIndex | None = None
    schema: TargetSchema | None = None
    fingerprint: str = ""


def source_checksum(source: Path) -> str:
    """sha256 of the source and, for a shapefile, of its sidecar files."""
    h = hashlib.sha256()
    files = [source]
    if source.suffix.lower() == ".shp":
        files = [source.with_suffix(s) for s in SIDECARS if source.with_suffix(s).exists()]
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _field_type(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "number"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "datetime"
    return "string"


def _plain(t: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(t):
        return _plain(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_null(t):
        return pa.string()
    return t


@dataclass
class CRSDecision:
    crs: str
    decided_by: str
    swap_xy: bool = False
    name: str = ""


def decide_crs(src: Source, sample: np.ndarray, plan: Plan, where: str) -> CRSDecision:
    rules = ukrainian_rules(plan.extra_crs)
    table_convention = src.driver in ("CSV", "XLSX")
    if src.crs is not None and not (table_convention and plan.assume_crs):
        rule = match_rule(src.crs, rules)
        if rule:
            return CRSDecision(rule.definition, f"{src.crs_decided_by}; recognised as {rule.label}",
                               name=rule.label)
        declared = parse_crs(src.crs, where)
        return CRSDecision(crs_key(declared), src.crs_decided_by, name=declared.name)
    if plan.assume_crs:
        crs = parse_crs(plan.assume_crs, where)
        key = crs_key(crs) if crs.to_epsg(min_confidence=90) else plan.assume_crs
        swap = False
        if src.axis_xy_from_columns and not crs.is_geographic:
            try:
                inf = infer_crs(shapely.get_coordinates(sample), plan.territory,
                                [r for r in rules[:0]] + [type(rules[0])("assumed", "assumed", key)], where,
                                territory_name=plan.territory_name)
                swap = inf.swap_xy
            except CRSError:
                pass
        return CRSDecision(key, "given (--assume-crs / assume_crs)" + ("; X read as northing" if swap else ""),
                           swap, crs.name)
    coords = shapely.get_coordinates(sample)
    if len(coords) > 5000:
        coords = coords[np.linspace(0, len(coords) - 1, 5000).astype(int)]
    inf = infer_crs(coords, plan.territory, rules, where, territory_name=plan.territory_name)
    return CRSDecision(inf.rule.definition, inf.decided_by, inf.swap_xy, inf.rule.label)


def _outputs(src: Source, plan: Plan) -> tuple[list[str], pa.Schema, pa.Schema]:
    names: list[str] = []
    for header in src.fields:
        name = field_name(header)
        while name in names or name in (REJECT_REASON, GEOM):
            name += "_"
        names.append(name)
    attrs = [pa.field(n, _plain(src.schema.field(h).type)) for n, h in zip(names, src.fields)]
    out = plan.schema.arrow_fields() if plan.schema else list(attrs)
    if plan.admin is not None:
        out += [pa.field(c, pa.string()) for c in admin_mod.COLUMNS]
    out_schema = pa.schema(out + [pa.field(GEOM, pa.binary())])
    rej_schema = pa.schema(attrs + [pa.field(REJECT_REASON, pa.string()), pa.field(GEOM, pa.binary())])
    return names, out_schema, rej_schema


class RejectedSpool:
    """The rejected features of a load, kept on disk (an Arrow IPC stream in a temporary file) rather than in
    memory: a file where most features are rejected would otherwise hold them all until the store writes
    the ``__rejected`` layer at the end. Read back (memory-mapped, batch by batch) once the load is over."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self._file: Any = None
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None
        self._batches = 0

    def append(self, batch: pa.RecordBatch) -> None:
        if self._file is None:
            self._file = tempfile.NamedTemporaryFile(prefix="geoportal-rejected-", suffix=".arrows")
            self._writer = pa.ipc.new_stream(self._file, self.schema)
        assert self._writer is not None, "rejected features added after they were read back"
        self._writer.write_batch(batch)
        self._batches += 1

    def __len__(self) -> int:
        return self._batches

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        if self._file is None:
            return iter(())
        if self._writer is not None:
            self._writer.close()
            self._file.flush()
            self._writer = None
        return iter(pa.ipc.open_stream(pa.memory_map(self._file.name)))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # deletes it


class Run:
    """One pass over a source: holds the decisions and the tally while the batches stream by."""

    def __init__(self, src: Source, plan: Plan, crs: CRSDecision, ltype: str, names: list[str],
                 out_schema: pa.Schema, rej_schema: pa.Schema):
        self.src, self.plan, self.crs, self.ltype = src, plan, crs, ltype
        self.names, self.out_schema, self.rej_schema = names, out_schema, rej_schema
        self.tally = Tally()
        self.rejected = RejectedSpool(rej_schema)
        self.titles = dict(zip(names, src.fields))
        self.k_col, self.r_col = admin_mod.source_columns(src.fields)
        self.territory = None
        if plan.quarantine_outside and plan.territory is not None:
            t = shapely.buffer(plan.territory, 0.05)
            if plan.storage_crs != "EPSG:4326":
                t = geo.reproject(np.array([t]), "EPSG:4326", plan.storage_crs)[0]
            shapely.prepare(t)
            self.territory = t

    def _attributes(self, batch: pa.RecordBatch) -> list[pa.Array]:
        """The attribute columns of a batch, plain types, text normalised."""
        attrs: list[pa.Array] = []
        for name, header in zip(self.names, self.src.fields):
            col = batch.column(header)
            if pa.types.is_dictionary(col.type):
                col = col.dictionary_decode()
            col = col.cast(_plain(col.type))
            if pa.types.is_string(col.type):
                col, changed = normalise_column(col)
                self.tally.text_values_repaired += changed
            attrs.append(col)
        return attrs

    def _plain_points(self, batch: pa.RecordBatch) -> pa.RecordBatch | None:
        """A batch of a point layer that needs no geometry work, stored without GEOS (see
        :func:`ingest.wkb.plain_points`); None when the batch needs the full path: another CRS or axis
        order, a reason from the reader, a territory, a target schema or KATOTTH linking to apply."""
        if (self.ltype != "Point" or self.crs.swap_xy or self.crs.crs != self.plan.storage_crs
                or REASON in batch.schema.names or self.territory is not None or self.plan.schema
                or self.plan.admin is not None):
            return None
        xy = plain_points(batch.column(WKB))
        if xy is None:
            return None
        n = batch.num_rows
        self.tally.geometry_types["Point"] += n
        self.tally.written += n
        self.tally.add_bounds(np.concatenate([xy.min(axis=0), xy.max(axis=0)]))
        return pa.record_batch(self._attributes(batch) + [batch.column(WKB).cast(pa.binary())],
                               schema=self.out_schema)

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        n = batch.num_rows
        self.tally.read += n
        points = self._plain_points(batch)
        if points is not None:
            return points
        read = shapely.from_wkb(batch.column(WKB).to_numpy(zero_copy_only=False), on_invalid="ignore")
        given = batch.column(REASON).to_pylist() if REASON in batch.schema.names else [None] * n
        geoms = geo.reproject(read, self.crs.crs, self.plan.storage_crs, swap_xy=self.crs.swap_xy,
                              keep_z=self.plan.keep_z)
        moved = geoms is not read  # reprojected or axes swapped: no WKB as read can be kept
        original = geoms
        self.tally.geometry_types.update(geo.base_types(geoms))
        cleaned = geo.clean(geoms, self.ltype, keep_z=self.plan.keep_z)
        geoms, reasons, repaired = cleaned.geoms, cleaned.reasons, cleaned.repaired
        for i, r in enumerate(given):
            if r is not None:
                reasons[i] = r
        if self.territory is not None:
            ok = np.array([r is None for r in reasons])
            out = ok.copy()
            out[ok] = ~geo.inside(geoms[ok], self.territory)
            reasons[out] = f"outside the territory: {self.plan.territory_name}"
        attrs = self._attributes(batch)
        attr_batch = pa.record_batch(attrs, names=self.names)
        reason_list = list(reasons)
        out_cols = list(attrs)
        if self.plan.schema:
            from ingest.schema import apply as apply_schema

            out_cols = apply_schema(self.plan.schema, attr_batch, self.titles, reason_list)
        if self.plan.admin is not None:
            koatuu = batch.column(self.src.fields[self.k_col]).to_pylist() if self.k_col is not None else None
            raions = batch.column(self.src.fields[self.r_col]).to_pylist() if self.r_col is not None else None
            linked = self.plan.admin.link(geoms, self.plan.storage_crs, koatuu, raions)
            for how in linked[3].to_pylist():
                self.tally.admin_linked[how or "none"] += 1
            out_cols += linked
        bad = np.array([r is not None for r in reason_list], dtype=bool)
        good = ~bad
        self.tally.geometries_repaired += int((repaired & good).sum())
        if bad.any():
            idx = pa.array(np.flatnonzero(bad))
            self.tally.reject([r for r in reason_list if r is not None])
            rej_geom = shapely.to_wkb(original[bad])
            self.rejected.append(pa.record_batch(
                [c.take(idx) for c in attrs] + [pa.array([r for r in reason_list if r is not None], pa.string()),
                                                pa.array(rej_geom, pa.binary())], schema=self.rej_schema))
        keep = geoms[good]
        self.tally.written += len(keep)
        if len(keep):
            self.tally.add_bounds(shapely.total_bounds(keep))
        mask = pa.array(good)
        stored = layer_wkb(batch.column(WKB).filter(mask), keep, (cleaned.rewritten | moved)[good],
                           cleaned.single[good], self.ltype)
        cols = [c.filter(mask) for c in out_cols] + [stored]
        return pa.record_batch(cols, schema=self.out_schema)

    def stream(self, head: list[pa.RecordBatch], rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in head:
            yield self.process(b)
        head.clear()
        for b in rest:
            yield self.process(b)


def _head(batches: Iterator[pa.RecordBatch]) -> list[pa.RecordBatch]:
    """The first batches, up to :data:`SAMPLE` features: what the CRS, the layer type and the early
    mixed-type check are decided on, the same whatever the batch size."""
    head: list[pa.RecordBatch] = []
    rows = 0
    for b in batches:
        head.append(b)
        rows += b.num_rows
        if rows >= SAMPLE:
            break
    return head


def _bbox_4326(bounds: list[float] | None, crs: str) -> tuple[float, float, float, float]:
    if bounds is None:
        return (0.0, 0.0, 0.0, 0.0)
    if crs != "EPSG:4326":
        from ingest.crs import transformer
        bounds = list(transformer(crs, "EPSG:4326").transform_bounds(*bounds))
    b = [float(v) for v in bounds]  # rounded outward: a client asking bbox=<extent> gets every feature
    lo, hi = np.minimum(b[:2], np.floor(np.array(b[:2]) * 1e7) / 1e7), np.maximum(b[2:], np.ceil(
        np.array(b[2:]) * 1e7) / 1e7)
    return tuple(float(v) for v in (*lo, *hi))  # type: ignore[return-value]


def ingest_file(
    source: Path,
    target: Path | str,
    table: str,
    *,
    layer: str | None = None,
    where: str | None = None,
    assume_crs: str | None = None,
    encoding: str | None = None,
    storage_crs: str = "EPSG:4326",
    version: int | None = None,
    checksum: str | None = None,
    plan: Plan | None = None,
    force: bool = False,
    pg_schema: str = "public",
) -> StoredLayer:
    """One file into a GeoPackage file or a PostGIS database (``postgresql://``) as a new version.

    Skips the load (returns the current layer) when the source checksum and the settings are unchanged,
    unless ``force``. Raises :class:`IngestError` / :class:`CRSError` / :class:`StoreError`; on error
    nothing is written and the previous version stays current.
    """
    source = Path(source)
    plan = plan or Plan(storage_crs=storage_crs)
    plan.storage_crs = storage_crs
    if assume_crs:
        plan.assume_crs = assume_crs
    if not source.exists():
        raise IngestError(f"{source}: file not found")
    checksum = checksum or source_checksum(source)
    if source.suffix.lower() in RASTER_SUFFIXES:
        from ingest.store.cog import ingest_raster
        return ingest_raster(source, target, table, assume_crs=plan.assume_crs, checksum=checksum,
                             version=version or 1)
    store = open_store(target, schema=pg_schema)
    tbl = store.table_for(table)
    current = store.current(tbl)
    if current and not force and current.get("checksum") == checksum and \
            current.get("provenance", {}).get("fingerprint", "") == plan.fingerprint:
        log.info("%s: source unchanged (sha256 %s…), nothing to do", table, checksum[:12])
        return StoredLayer.from_dict(current["provenance"]["layer"])
    version = max(version or 0, store.next_version(tbl))
    opts = ReadOptions(layer=layer, where=where, encoding=encoding)
    holder: dict[str, StoredLayer] = {}
    with streaming_settings(), open_source(source, opts) as src:
        batches = iter(src.batches)
        head = _head(batches)
        if not head:
            raise IngestError(f"{source}: no features (filter: {where or 'none'}); nothing written")
        read = pa.concat_arrays([b.column(WKB) for b in head])[:SAMPLE].to_numpy(zero_copy_only=False)
        sample = shapely.from_wkb(read, on_invalid="ignore")
        sample = sample[~shapely.is_missing(sample)]
        crs = decide_crs(src, sample, plan, str(source))
        mixed = geo.mixed_types_message(source, geo.base_types(sample))
        if mixed:
            raise IngestError(mixed)
        ltype = geo.layer_type(src.geometry_type, sample)
        if ltype == "Unknown":
            raise IngestError(f"{source}: no readable geometry in the first {len(read)} features; "
                              "check the coordinate columns or the geometry of the file")
        names, out_schema, rej_schema = _outputs(src, plan)
        run = Run(src, plan, crs, ltype, names, out_schema, rej_schema)

        def provenance() -> dict[str, Any]:
            t = run.tally
            mixed = geo.mixed_types_message(source, dict(t.geometry_types))
            if mixed:  # types met after the first batch: refused before anything is committed
                raise IngestError(mixed)
            if t.written == 0:
                raise IngestError(f"{source}: none of the {t.read} features could be loaded "
                                  f"({dict(t.rejected)}); nothing written, the previous version is kept")
            loaded_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
            report = _report(table, source, src, crs, plan, run, version, checksum, loaded_at)
            titles = report.field_titles
            stored = StoredLayer(
                dataset_id=table, location=store.location(tbl), geometry_type=ltype,
                feature_count=t.written, bbox=_bbox_4326(t.bounds, plan.storage_crs), crs=plan.storage_crs,
                fields=tuple(FieldInfo(f.name, _field_type(f.type), _title(titles.get(f.name), f.name))
                             for f in out_schema if f.name != GEOM),
                checksum=checksum, version=version, loaded_at=loaded_at, report=report,
            )
            holder["layer"] = stored
            return {"version": version, "checksum": checksum, "loaded_at": loaded_at, "source": display_path(source),
                    "fingerprint": plan.fingerprint, "layer": stored.to_dict()}

        try:
            # GDAL reads the next batches in a thread of their own while this batch is cleaned and stored;
            # the reader is stopped before the source is closed
            with Ahead(batches, name="source-reader") as rest:
                store.write(LayerStream(
                    table=tbl, schema=out_schema, batches=run.stream(head, iter(rest)), geometry_type=ltype,
                    crs=plan.storage_crs, version=version, rejected=lambda: (rej_schema, run.rejected),
                    provenance=provenance,
                ))
        finally:
            run.rejected.close()
    return holder["layer"]


def _title(title: str | None, name: str) -> str | None:
    """The original header of a column, when it says more than the column name itself."""
    return title if title and title != name else None


def _report(table: str, source: Path, src: Source, crs: CRSDecision, plan: Plan, run: Run, version: int,
            checksum: str, loaded_at: str) -> QualityReport:
    t = run.tally
    enc = src.encoding
    return QualityReport.from_dict({
        "dataset": table, "version": version, "loaded_at": loaded_at,
        "source": display_path(source), "source_member": src.notes.get("archive_member"), "driver": src.driver,
        "checksum": checksum,
        "encoding": enc.encoding if enc else None, "encoding_decided_by": enc.decided_by if enc else None,
        "source_crs": crs.crs if crs.crs.startswith("EPSG:") or crs.crs.startswith("+") else "WKT",
        "source_crs_name": crs.name, "crs_decided_by": crs.decided_by, "axis_swapped": crs.swap_xy,
        "datum_transformation": datum_note(crs.crs, plan.storage_crs) if crs.crs != plan.storage_crs else None,
        "storage_crs": plan.storage_crs, "geometry_type": run.ltype,
        "features_read": t.read, "features_written": t.written,
        "features_rejected": sum(t.rejected.values()), "rejected_by_reason": dict(t.rejected),
        "rejected_layer": f"{table}__rejected" if t.rejected else None,
        "geometries_repaired": t.geometries_repaired, "text_values_repaired": t.text_values_repaired,
        "extent_4326": list(_bbox_4326(t.bounds, plan.storage_crs)),
        "field_titles": ({f.name: (f.title or f.source or f.name) for f in plan.schema.fields} if plan.schema
                         else dict(run.titles)),
        "schema": plan.schema.name if plan.schema else None,
        "admin_linked_by": dict(run.tally.admin_linked) or None,
        "coordinate_columns": src.notes.get("coordinate_columns"), "fingerprint": plan.fingerprint,
    })


def reference_checksums(cfg: NodeConfig, *, with_admin: bool) -> list[tuple[str, str]]:
    """The content of every reference input a load depends on: the territory outline and, when datasets
    are linked to KATOTTH, the codifier, the KOATUU cross-walk, the councils table and the boundary layer
    (its source files and the settings it is read with). Part of the skip fingerprint, so a change in any
    of them re-links the datasets instead of leaving stale codes."""
    out: list[tuple[str, str]] = []
    layers = {"territory": admin_mod.territory_dataset(cfg)}
    if with_admin:
        ref = cfg.reference
        for key in ("codifier", "koatuu_crosswalk", "councils"):
            value = getattr(ref, key)
            if value:
                path = cfg.resolve(value)
                out.append((key, source_checksum(path) if path.exists() else "missing"))
        layers["boundaries"] = ref.boundaries
    for key, dataset_id in layers.items():
        if not dataset_id or not any(d.id == dataset_id for d in cfg.datasets):
            continue
        ref_ds = cfg.dataset(dataset_id)
        path = cfg.resolve(ref_ds.source)
        out.append((key, f"{source_checksum(path) if path.exists() else 'missing'} "
                         f"layer={ref_ds.layer} where={ref_ds.where} crs={ref_ds.assume_crs}"))
    return out


def plan_for(cfg: NodeConfig, ds: Dataset) -> Plan:
    """The decisions for one dataset of a node (territory, KATOTTH linking, schema, Z, local CRSs)."""
    territory = admin_mod.load_territory(cfg)
    crs_proj = getattr(ds, "crs_proj", None)
    schema = None
    fp = hashlib.sha256(ds.model_dump_json(by_alias=True).encode())
    fp.update(cfg.storage.crs.encode())
    if ds.schema_:
        from ingest.schema import load_schema, resolve_schema_path

        path = resolve_schema_path(cfg.base_dir, ds.schema_)
        schema = load_schema(path)
        fp.update(path.read_bytes())
    use_admin = bool(cfg.reference.codifier or cfg.reference.boundaries)
    for name, digest in reference_checksums(cfg, with_admin=use_admin):
        fp.update(f"\n{name}={digest}".encode())
    admin = admin_mod.build_index(cfg, territory) if use_admin else None
    return Plan(
        storage_crs=cfg.storage.crs, assume_crs=ds.assume_crs or crs_proj,
        extra_crs={"crs_proj": crs_proj} if crs_proj else None,
        keep_z=getattr(ds, "z", "drop") == "keep", territory=territory,
        territory_name=f"{cfg.node.name.en} ({cfg.node.katotth})" if territory is not None else "Ukraine",
        quarantine_outside=bool(getattr(ds, "territory_check", False)) and territory is not None,
        admin=admin, schema=schema, fingerprint=fp.hexdigest(),
    )


def storage_target(cfg: NodeConfig, ws: Workspace, dataset_id: str, kind: str = "vector") -> Path | str:
    """Where a dataset of a node is stored: its PostGIS database, or its own file in the data folder
    (a GeoPackage; a Cloud-Optimised GeoTIFF for a raster, whatever the node's vector storage)."""
    from geoportal import plugins

    module = plugins.load("store", "cog" if kind == "raster" else cfg.storage.backend)
    return module.target_for(cfg.storage, ws.data_dir(cfg), dataset_id)


def load_dataset(cfg: NodeConfig, ds: Dataset, ws: Workspace, *, force: bool = False) -> StoredLayer:
    """Ingest one dataset of a node into the node's storage; skip it when nothing changed."""
    source = cfg.resolve(ds.source)
    checksum = source_checksum(source)
    plan = plan_for(cfg, ds)
    kind = "raster" if source.suffix.lower() in RASTER_SUFFIXES else "vector"
    target = storage_target(cfg, ws, ds.id, kind)
    previous = ws.read_layers().get(ds.id)
    if (kind == "raster" and previous and not force and previous.checksum == checksum
            and previous.kind == kind
            and (previous.report.fingerprint or plan.fingerprint) == plan.fingerprint
            and previous.location.exists()):
        log.info("%s: source unchanged (sha256 %s…), nothing to do", ds.id, checksum[:12])
        return previous
    # vector layers: the store's history decides (ingest_file skips an unchanged source against the store's
    # current version), so the manifest written below always says what the store holds — also after a
    # rollback done on the store directly
    layer = ingest_file(
        source, target, ds.id, layer=ds.layer, where=ds.where, encoding=ds.encoding,
        storage_crs=cfg.storage.crs, checksum=checksum, plan=plan, force=force, pg_schema=cfg.storage.schema_,
        version=(previous.version + 1 if previous and kind == "raster" else None),
    )
    if layer.report.fingerprint != plan.fingerprint:  # a raster's report has none of its own
        layer = replace(layer, report=layer.report.with_(fingerprint=plan.fingerprint))
    write_atomic(ws.reports / f"{ds.id}.json", json.dumps(layer.report.to_dict(), ensure_ascii=False, indent=2))
    ws.write_layer(layer)
    if previous is None or (previous.version, previous.checksum) != (layer.version, layer.checksum):
        from access.audit import record_change

        record_change(ws.root, "ingest", dataset=ds.id, version=layer.version, source=str(source),
                      features=layer.feature_count, rejected=layer.report.features_rejected)
    return layer
