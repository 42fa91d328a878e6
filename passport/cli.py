"""``geoportal passport``: compute and publish the hromada passports of a node (also done by every build)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("passport")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Workspace folder (default: var/<node-id> or $GEOPORTAL_WORKDIR).")
@click.option("--force", is_flag=True, help="Compute again even when no source changed (a new version).")
@click.option("--history", "history_of", default=None, metavar="KATOTTH[:INDICATOR]",
              help="Print the kept values of a hromada (and one indicator) over time instead of computing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def passport_cmd(config: Path, workdir: Path | None, force: bool, history_of: str | None, as_json: bool) -> None:
    """Compute the passports of the node's hromadas from its stored layers and reference tables.

    Indicators are declared in the node's passport.yaml (``passport:`` of CONFIG). They are computed in
    PostGIS when the node stores there, from the GeoPackages otherwise, and written to <workdir>/passport/:
    passports.gpkg (layer hromada-passports, item id = KATOTTH code, and every earlier computation in
    passport_history), <KATOTTH>.json and <KATOTTH>.html per hromada, passports.csv of the territory.
    Nothing is recomputed when no source, table or indicator changed since the last version.
    """
    from geoportal.config import load_config
    from geoportal.errors import ConfigError
    from geoportal.model import Workspace
    from passport.build import build_passport
    from passport.store import history

    cfg = load_config(config)
    ws = Workspace.for_node(cfg, workdir)
    if history_of:
        code, _, ind = history_of.partition(":")
        rows = history(ws.root / "passport" / "passports.gpkg", code, ind or None)
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1) if as_json else
                   "\n".join(f"{r['computed_at']}  {r['indicator']:<28} {r['value']}  ({r['source']} {r['source_version']})"
                             for r in rows))
        return
    out = build_passport(cfg, ws, ws.read_layers(), progress=lambda m: click.echo(m, err=True), force=force)
    if out is None:
        raise ConfigError(f"{config}: the node has no 'passport:' (a passport.yaml)")
    ds, layer = out
    click.echo(json.dumps({"hromadas": layer.feature_count, "version": layer.version, "path": layer.location.describe()})
               if as_json else f"{layer.feature_count} passports, version {layer.version}: {ws.root / 'passport'}")
