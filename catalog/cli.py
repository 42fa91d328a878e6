"""``geoportal harvest``: pull the catalogs of a node's children into its own."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from geoportal.errors import HarvestError


@click.command("harvest")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the built node lives (default: var/<node id>).")
@click.option("--child", "children", multiple=True, help="Harvest only this child (repeatable).")
@click.option("--timeout", default=20.0, show_default=True, help="Seconds to wait for one answer of a child.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def harvest_cmd(config: Path, workdir: Path | None, children: tuple[str, ...], timeout: float, as_json: bool) -> None:
    """Harvest the node's children: only what changed, deletions too, origin kept. A child that fails is
    reported and retried next run; the others go on. Exit code 7 when any child failed."""
    from catalog.federation import harvest
    from geoportal.config import load_config
    from geoportal.model import Workspace

    cfg = load_config(config)
    ws = Workspace.for_node(cfg, workdir)
    results = harvest(cfg, ws, only=list(children) or None, timeout=timeout,
                      progress=lambda m: click.echo(m, err=True))
    from decisions.delivery import sync_quietly

    sync_quietly(cfg, ws, progress=lambda m: click.echo(m, err=True))  # agreement messages ride on each harvest
    if as_json:
        click.echo(json.dumps([asdict(r) for r in results], ensure_ascii=False, indent=2))
    failed = [r for r in results if not r.ok]
    if failed:
        raise HarvestError(f"{len(failed)} of {len(results)} children failed: "
                           + "; ".join(f"{r.id}: {r.error}" for r in failed))
