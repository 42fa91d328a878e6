"""``geoportal deploy``: the production topology's files and its preparation step (see geoportal.deploy)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("deploy")
def deploy_cmd() -> None:
    """Production: prepare a node for the topology, write its nginx/systemd/compose files."""


@deploy_cmd.command("prepare")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--base-url", required=True, help="The public URL of the node.")
@click.option("--dsn", required=True, help="The PostGIS primary: postgresql://… (every write goes here).")
@click.option("--read-dsn", default=None, help="Where the servers read: a replica, with the primary as "
              "fallback (postgresql://u@replica:5432,primary:5432/db?target_session_attrs=prefer-standby).")
@click.option("--catalog-dsn", required=True, help="The PostgreSQL database of pycsw's repository.")
def prepare_cmd(config: Path, workdir: Path, base_url: str, dsn: str, read_dsn: str | None, catalog_dsn: str) -> None:
    """Build the node into PostGIS and load its catalog into PostgreSQL (what the services then read)."""
    from geoportal.deploy.prepare import prepare
    from geoportal.model import Workspace

    res = prepare(config, Workspace(workdir), base_url, dsn, read_dsn, catalog_dsn,
                  lambda m: click.echo(m, err=True))
    click.echo(f"prepared {res.workspace.root}: {len(res.layers)} layers, {len(res.records)} records")


@deploy_cmd.command("compose")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write into (default: the project's docker/).")
def compose_cmd(out: Path | None) -> None:
    """Regenerate docker/docker-compose.yml, nginx.conf and pg_hba.conf from the topology."""
    from geoportal.deploy import compose

    for p in compose.write(out or compose.DOCKER):
        click.echo(str(p))


@deploy_cmd.command("systemd")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("/var/lib/geoportal"),
              show_default=True, help="Where the node and the run state live on the server.")
@click.option("--listen", default="80", show_default=True)
@click.option("--workers", default=4, show_default=True)
@click.option("--mapserv-workers", default=2, show_default=True)
def systemd_cmd(out: Path, run_dir: Path, listen: str, workers: int, mapserv_workers: int) -> None:
    """Write the systemd units and nginx.conf of a server (written, not started or enabled)."""
    from geoportal.deploy.topology import Sizing
    from geoportal.deploy.units import write_systemd

    for p in write_systemd(out, run_dir, listen, Sizing(node_workers=workers, mapserv_workers=mapserv_workers)):
        click.echo(str(p))


@deploy_cmd.command("status")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
def status_cmd(run_dir: Path) -> None:
    """What a running ``serve --production`` is: its programs and pids, restarts, and the replica's lag."""
    import json

    from geoportal.deploy.postgres import replication_status
    from geoportal.errors import ServeError

    path = run_dir / "state.json"
    if not path.exists():
        raise ServeError(f"{run_dir} holds no state.json: is it the --run-dir of 'geoportal serve --production'?")
    state = json.loads(path.read_text())
    click.echo(f"{state['url']}  ({'stopped' if state.get('stopped') else 'running'})")
    for name, pid in state.get("pids", {}).items():
        click.echo(f"  {name:<12} pid {pid:<8} restarts {state.get('restarts', {}).get(name, 0)}")
    if state.get("stopped"):
        return
    try:
        rows = replication_status(state["primary"]["dsn"])
    except Exception as e:  # noqa: BLE001 - the primary is down: say so, in one line
        raise ServeError(f"the primary ({state['primary']['dsn']}) does not answer: {e}") from None
    if not rows:
        click.echo("  replica      not connected (reads go to the primary)")
    for r in rows:
        click.echo(f"  replica      {r['state']}, {r['lag_bytes']} bytes behind, replay lag "
                   f"{r['replay_lag_s'] if r['replay_lag_s'] is not None else 0:.3f} s")
