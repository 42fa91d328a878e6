"""The ``geoportal`` command: one CLI for every stage of a node. Its help text is the documentation.

Every error the node raises on purpose is a :class:`~geoportal.errors.GeoportalError`; here it becomes
one readable message on stderr and a non-zero exit code (2 config, 3 ingest, 4 storage, 5 publish,
6 metadata, 7 catalog, 8 serve, 9 access, 10 decisions).
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from geoportal.errors import GeoportalError

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config" / "nodes" / "zhytomyr-oblast.yaml"


def _progress(msg: str) -> None:
    click.echo(msg, err=True)


class Group(click.Group):
    """Turns GeoportalError into one line and its exit code; mounts commands of other packages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GeoportalError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(e.exit_code)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what each stage does.")
@click.version_option(package_name="geoportal-network")
def main(verbose: bool) -> None:
    """A node of the regional geoportal network: municipal files in; OGC API Features, WMS/WFS, ISO
    metadata and a CSW catalog out."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


config_arg = click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
workdir_opt = click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
                           help="Where the built node lives (default: var/<node id>, or $GEOPORTAL_WORKDIR).")


def _load(config: Path):  # type: ignore[no-untyped-def]
    from geoportal.config import load_config

    return load_config(config)


def _base_url(cfg: Any, host: str, port: int, base_url: str | None) -> str:
    if base_url:
        return base_url.rstrip("/")
    if cfg.node.url:
        return cfg.node.url.rstrip("/")
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"


@main.command("validate-config")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the parsed config as JSON.")
@click.option("--schema", is_flag=True, help="Print the JSON Schema of node configs (for editors) and exit.")
def validate_config(config: Path | None, as_json: bool, schema: bool) -> None:
    """Check a node config: keys, types, KATOTTH codes, that every file it names exists, and the reference
    tables (codifier, cross-walk, councils, population): columns, code formats, duplicates, stray lines."""
    if schema:
        from geoportal.config import json_schema

        click.echo(json.dumps(json_schema(), ensure_ascii=False, indent=2))
        return
    if config is None:
        raise click.UsageError("give a CONFIG file (or --schema)")
    cfg = _load(config)
    from ingest.reference import check_node

    tables = check_node(cfg)  # the reference tables, read as linking and the passport will read them
    if as_json:
        click.echo(cfg.model_dump_json(indent=2, by_alias=True))
    else:
        click.echo(f"{config}: valid — node '{cfg.node.id}' ({cfg.node.level.value}, {cfg.node.katotth}), "
                   f"{len(cfg.datasets)} datasets" + (f"; reference tables: {'; '.join(tables)}" if tables else ""))


@main.command()
@config_arg
@workdir_opt
@click.option("--base-url", default=None, help="Public URL the services advertise (default http://127.0.0.1:PORT).")
@click.option("--port", default=8000, show_default=True, help="Port used in the default base URL.")
@click.option("--force", is_flag=True, help="Re-ingest even unchanged sources.")
def build(config: Path, workdir: Path | None, base_url: str | None, port: int, force: bool) -> None:
    """Ingest every dataset, write the service configs, ISO records and the catalog — without serving."""
    from geoportal.build import build as run_build
    from geoportal.model import Workspace

    cfg = _load(config)
    ws = Workspace.for_node(cfg, workdir)
    res = run_build(cfg, ws, _base_url(cfg, "127.0.0.1", port, base_url), force=force, progress=_progress)
    click.echo(f"built {cfg.node.id} in {res.seconds:.1f} s: {len(res.layers)} layers, {len(res.records)} records "
               f"→ {ws.root}")


@main.command()
@config_arg
@workdir_opt
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--base-url", default=None, help="Public URL, when the node is behind a proxy.")
@click.option("--workers", default=2, show_default=True, help="Workers of the node's gunicorn.")
@click.option("--production", is_flag=True, help="Run the production topology on this machine: nginx in front, "
              "the node and pycsw under gunicorn, MapServer FastCGI under spawn-fcgi, the data in a PostGIS "
              "primary with a streaming replica for reads; all state under --run-dir (see geoportal/deploy).")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="--production: where clusters, logs and the built node live (default var/<node>-production).")
@click.option("--threads", default=8, show_default=True, help="--production: threads per node worker.")
@click.option("--csw-workers", default=2, show_default=True, help="--production: pycsw gunicorn workers.")
@click.option("--mapserv-workers", default=2, show_default=True, help="--production: MapServer FastCGI processes.")
@click.option("--no-replica", is_flag=True, help="--production: no streaming replica (reads from the primary).")
def serve(config: Path, workdir: Path | None, host: str, port: int, base_url: str | None, workers: int,
          production: bool, run_dir: Path | None, threads: int, csw_workers: int, mapserv_workers: int,
          no_replica: bool) -> None:
    """Build (unchanged sources are not re-ingested) and serve the node on one address until Ctrl-C."""
    if production:
        from geoportal.deploy.native import Options, run as run_production
        from geoportal.deploy.topology import Sizing

        if workdir is not None:
            raise click.UsageError("--production keeps the node under --run-dir; leave out --workdir")
        try:
            sizing = Sizing(node_workers=workers, node_threads=threads, csw_workers=csw_workers,
                            mapserv_workers=mapserv_workers)
        except ValueError as e:
            raise click.UsageError(str(e)) from None
        cfg = _load(config)
        run_production(Options(config, run_dir or Path("var") / f"{cfg.node.id}-production", host, port, base_url,
                               sizing, replica=not no_replica), _progress)
        return
    _serve(config, workdir, host, port, base_url, workers)


def _serve(config: Path, workdir: Path | None, host: str, port: int, base_url: str | None, workers: int) -> None:
    from geoportal import serve as serving
    from geoportal.build import build as run_build
    from geoportal.model import Workspace

    serving.ensure_port_free(host, port)  # before the build: a busy port fails in a second, exit 8
    cfg = _load(config)
    ws = Workspace.for_node(cfg, workdir)
    res = run_build(cfg, ws, _base_url(cfg, host, port, base_url), progress=_progress)
    ep = res.endpoints
    click.echo(f"\n{cfg.node.name.uk} / {cfg.node.name.en} — serving on http://{host}:{port}/\n"
               f"  landing page   {ep.base_url}/\n  OGC API        {ep.ogcapi}/\n"
               f"  WMS / WFS      {ep.ows}\n  CSW            {ep.csw}\n(Ctrl-C to stop)", err=True)
    serving.run(ws, host, port, workers=workers, cfg=cfg)


@main.command()
@click.option("--port", default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--network", is_flag=True, help="Run the sample network: oblast on PORT, raion on PORT+1, "
              "two hromadas on PORT+2 and PORT+3, kept harvested bottom-up.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between harvests (--network).")
@workdir_opt
def demo(port: int, host: str, network: bool, interval: float, workdir: Path | None) -> None:
    """Build the sample node of Zhytomyr oblast from the bundled real data and serve it."""
    if network:
        from catalog.network import run_network
        from geoportal.serve import ensure_port_free

        for p in range(port, port + 4):  # the four nodes of the sample network
            ensure_port_free("127.0.0.1", p)
        run_network(port, workdir or Path("var") / "network", interval=interval,
                    progress=lambda m: click.echo(m, err=True))
        return
    _serve(DEMO_CONFIG, workdir, host, port, None, 2)


@main.command()
@config_arg
@workdir_opt
@click.option("--base-url", default=None)
@click.option("--port", default=8000, show_default=True)
def publish(config: Path, workdir: Path | None, base_url: str | None, port: int) -> None:
    """Write every service's configuration (pygeoapi, MapServer, downloads) from the node config."""
    from geoportal.build import publish_all, with_decisions, with_passport, write_published
    from geoportal.model import Endpoints, Workspace

    cfg = _load(config)
    ws = Workspace.for_node(cfg, workdir).ensure()
    ep = Endpoints(_base_url(cfg, "127.0.0.1", port, base_url))
    # the datasets a build adds (passports, decision register) stay published, or their links would break
    cfg, layers = with_passport(cfg, ws, ws.read_layers(), _progress)
    cfg, layers = with_decisions(cfg, ws, layers, ep.base_url, _progress)
    publish_all(cfg, ws, layers, ep, progress=_progress)
    write_published(cfg, ws, layers)


@main.command("validate-record")
@click.argument("records", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--rules", "rulesets", multiple=True, type=click.Choice(["inspire", "nsdi"]),
              help="Also check these rule sets (repeatable): inspire = Regulation 1205/2008 and the INSPIRE "
                   "metadata Technical Guidelines; nsdi = Ukraine's NSDI requirements (see metadata/rules/).")
def validate_record(records: tuple[Path, ...], rulesets: tuple[str, ...]) -> None:
    """Check ISO 19139 records against the XML schemas (offline, no external entities) and, with --rules,
    against the INSPIRE / NSDI metadata rules; every failure names its rule, line and element."""
    from geoportal.errors import MetadataError
    from metadata.rules import check_record
    from metadata.validate import validate_iso19139

    bad = 0
    for path in records:
        data = path.read_bytes()
        errors = validate_iso19139(data, str(path))
        failures = check_record(data, rulesets, str(path)) if rulesets else []
        if errors:
            click.echo(f"{path}: NOT valid ISO 19139 ({len(errors)} problem(s)):", err=True)
            for e in errors[:20]:
                click.echo(f"  - {e}", err=True)
        if failures:
            click.echo(f"{path}: fails {len(failures)} {'/'.join(rulesets)} rule(s):", err=True)
            for f in failures:
                click.echo(f"  - {f}", err=True)
        if errors or failures:
            bad += 1
        else:
            click.echo(f"{path}: valid ISO 19139" + (f", passes the {'/'.join(rulesets)} rules" if rulesets else ""))
    if bad:
        raise MetadataError(f"{bad} of {len(records)} record(s) are not valid; fix the elements named above")


# Commands that live with their stage are mounted here when their package provides them.
_MOUNTS = {
    "ingest.cli": ("ingest_cmd", "ingest_file_cmd", "history_cmd", "rollback_cmd"),
    "catalog.cli": ("harvest_cmd",),
    "passport.cli": ("passport_cmd",),
    "access.cli": ("users_cmd", "token_cmd", "access_cmd", "audit_cmd"),
    "decisions.cli": ("decision_cmd",),
    "geoportal.deploy.cli": ("deploy_cmd",),
}
for _module, _names in _MOUNTS.items():
    try:
        _mod = importlib.import_module(_module)
    except ModuleNotFoundError as _e:
        if _e.name != _module:
            raise
        continue
    for _n in _names:
        if hasattr(_mod, _n):
            main.add_command(getattr(_mod, _n))


if __name__ == "__main__":
    main()
