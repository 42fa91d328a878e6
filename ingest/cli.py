"""The ingest commands of the ``geoportal`` CLI (mounted into the group by geoportal/cli.py).

Errors are raised as :class:`~geoportal.errors.GeoportalError`; the group prints them as one line and
exits with their code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from geoportal.errors import ConfigError, StoreError


def _emit(layer_reports: list[dict], as_json: bool) -> None:
    from ingest.report import summary

    if as_json:
        click.echo(json.dumps(layer_reports if len(layer_reports) != 1 else layer_reports[0],
                              ensure_ascii=False, indent=2))
    else:
        for r in layer_reports:
            click.echo(summary(r))


@click.command("ingest")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("datasets", nargs=-1)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Workspace folder (default: var/<node-id> or $GEOPORTAL_WORKDIR).")
@click.option("--force", is_flag=True, help="Load again even when the source is unchanged.")
@click.option("--json", "as_json", is_flag=True, help="Print the quality reports as JSON.")
def ingest_cmd(config: Path, datasets: tuple[str, ...], workdir: Path | None, force: bool, as_json: bool) -> None:
    """Ingest the datasets of a node CONFIG (all, or the DATASET ids given) into the node's storage.

    Each load is a new version, written atomically; an unchanged source is skipped (checksum). The
    quality report of each dataset is written to <workdir>/reports/<id>.json.
    """
    from geoportal.config import load_config
    from geoportal.model import Workspace
    from ingest import load_dataset

    cfg = load_config(config)
    ws = Workspace.for_node(cfg, workdir).ensure()
    wanted = [cfg.dataset(d) for d in datasets] if datasets else cfg.datasets
    reports = []
    for ds in wanted:
        layer = load_dataset(cfg, ds, ws, force=force)
        reports.append(dict(layer.report.to_dict(), dataset=ds.id, version=layer.version))
    if cfg.passport is not None:  # the passports follow every ingest of their sources
        from passport.build import build_passport

        build_passport(cfg, ws, ws.read_layers(), progress=lambda m: click.echo(m, err=True))
    _emit(reports, as_json)


@click.command("ingest-file")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--into", "target", required=True,
              help="A .gpkg file (created or given a new version) or a postgresql:// DSN.")
@click.option("--layer", "layer_name", required=True, help="Name of the layer/table to write.")
@click.option("--assume-crs", default=None, help="CRS when the file declares none, e.g. EPSG:6384.")
@click.option("--source-layer", default=None, help="Layer (or sheet) to read from a multi-layer source.")
@click.option("--where", default=None, help="OGR SQL filter on the source.")
@click.option("--encoding", default=None, help="Text encoding of the source, when detection is not enough.")
@click.option("--storage-crs", default="EPSG:4326", show_default=True, help="CRS of the stored layer.")
@click.option("--schema", "pg_schema", default="public", show_default=True, help="PostgreSQL schema.")
@click.option("--force", is_flag=True, help="Load again even when the source is unchanged.")
@click.option("--json", "as_json", is_flag=True, help="Print the quality report as JSON.")
def ingest_file_cmd(source: Path, target: str, layer_name: str, assume_crs: str | None, source_layer: str | None,
                    where: str | None, encoding: str | None, storage_crs: str, pg_schema: str, force: bool,
                    as_json: bool) -> None:
    """Clean and load one SOURCE file (Shapefile, zip, GeoJSON, GeoPackage, CSV/XLSX, KML/KMZ, GML,
    GeoTIFF) into a GeoPackage or PostGIS, without a node config."""
    from ingest import ingest_file

    layer = ingest_file(source, target, layer_name, layer=source_layer, where=where, assume_crs=assume_crs,
                        encoding=encoding, storage_crs=storage_crs, force=force, pg_schema=pg_schema)
    _emit([dict(layer.report.to_dict(), version=layer.version)], as_json)


def _store_for(dataset: str, config: Path | None, target: str | None, workdir: Path | None):  # type: ignore[no-untyped-def]
    from ingest.pipeline import storage_target
    from ingest.store import open_store

    if target:
        store = open_store(target)
        return store, store.table_for(dataset), None, None
    config = config or (Path(os.environ["GEOPORTAL_CONFIG"]) if os.environ.get("GEOPORTAL_CONFIG") else None)
    if config is None:
        raise ConfigError(f"history/rollback of '{dataset}': give the node config (--config or GEOPORTAL_CONFIG) "
                          "or the storage (--into FILE.gpkg|postgresql://…)")
    from geoportal.config import load_config
    from geoportal.model import Workspace

    cfg = load_config(config)
    cfg.dataset(dataset)
    ws = Workspace.for_node(cfg, workdir)
    store = open_store(storage_target(cfg, ws, dataset), schema=cfg.storage.schema_)
    return store, store.table_for(dataset), cfg, ws


_common = [
    click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="Node config (or $GEOPORTAL_CONFIG)."),
    click.option("--into", "target", default=None, help="Or the storage directly: a .gpkg or a DSN."),
    click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None),
]


def _with_common(f):  # type: ignore[no-untyped-def]
    for opt in reversed(_common):
        f = opt(f)
    return f


@click.command("history")
@click.argument("dataset")
@_with_common
@click.option("--json", "as_json", is_flag=True)
def history_cmd(dataset: str, config: Path | None, target: str | None, workdir: Path | None, as_json: bool) -> None:
    """List the stored versions of DATASET: version, time, checksum, counts; * marks the current one."""
    store, table, _, _ = _store_for(dataset, config, target, workdir)
    rows = store.history(table)
    if as_json:
        click.echo(json.dumps([{k: v for k, v in r.items() if k != "provenance"} | {
            "report": (r.get("provenance") or {}).get("layer", {}).get("report")} for r in rows],
            ensure_ascii=False, indent=2, default=str))
        return
    if not rows:
        click.echo(f"{dataset}: no versions stored")
    for r in rows:
        rep = (r.get("provenance") or {}).get("layer", {}).get("report", {})
        kept = "" if r.get("file") else " (pruned)"
        click.echo(f"{'*' if r.get('current') else ' '} v{r['version']}  {r.get('loaded_at')}  "
                   f"sha256 {str(r.get('checksum'))[:12]}  {rep.get('features_written')} written, "
                   f"{rep.get('features_rejected')} rejected  {rep.get('source')}{kept}")


@click.command("rollback")
@click.argument("dataset")
@click.argument("version", type=int)
@_with_common
def rollback_cmd(dataset: str, version: int, config: Path | None, target: str | None, workdir: Path | None) -> None:
    """Make VERSION of DATASET current again (atomically), and make the workspace manifest and the quality
    report say so: the store's history is the one record of versions, what is served follows it."""
    from geoportal.model import StoredLayer, write_atomic

    store, table, cfg, ws = _store_for(dataset, config, target, workdir)
    if ws is not None and not ws.manifest.exists() and not ws.root.exists():
        raise StoreError(f"{ws.root}: no workspace; give --workdir")  # checked before anything changes
    rec = store.rollback(table, version)
    layer_dict = (rec.get("provenance") or {}).get("layer")
    if ws is not None:
        if not layer_dict:
            raise StoreError(f"{dataset}: version {version} is current in the store, but its record holds no "
                             "layer description; run 'geoportal ingest' to refresh the manifest")
        layer = StoredLayer.from_dict(layer_dict)
        report = json.dumps(layer.report.to_dict(), ensure_ascii=False, indent=2)
        write_atomic(ws.reports / f"{dataset}.json", report)
        ws.write_layer(layer)
        from access.audit import record_change

        record_change(ws.root, "rollback", dataset=dataset, version=version)
    click.echo(f"{dataset}: version {version} is current again")
