"""``geoportal users|token|access|audit``: manage a node's identities, tokens and rules from the shell.

Every command takes the node config (``--config`` or ``$GEOPORTAL_CONFIG``) and its workspace
(``--workdir``). Passwords are read from stdin (prompted twice on a terminal) or from the environment
variable named by ``--password-env`` — never from an argument, which would end up in the shell history
and the process list. Each change is appended to the audit log as done by ``cli:<os user>`` from ``local``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from access.errors import UserError
from geoportal.errors import ConfigError

ADDRESS = "local"

_config_opt = click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Node config (or $GEOPORTAL_CONFIG).",
)
_workdir_opt = click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the built node lives (default: var/<node id>, or $GEOPORTAL_WORKDIR).",
)


def _node(config: Path | None, workdir: Path | None) -> tuple[Any, Path]:
    from geoportal.config import load_config
    from geoportal.model import Workspace

    config = config or (Path(os.environ["GEOPORTAL_CONFIG"]) if os.environ.get("GEOPORTAL_CONFIG") else None)
    if config is None:
        raise ConfigError("give the node config (--config FILE or $GEOPORTAL_CONFIG)")
    cfg = load_config(config)
    root = Workspace.for_node(cfg, workdir).root
    root.mkdir(parents=True, exist_ok=True)
    return cfg, root


def _audit(root: Path):  # type: ignore[no-untyped-def]
    from access.audit import AuditLog

    return AuditLog(root / "audit.log")


def _read_password(password_env: str | None, name: str) -> str:
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            raise UserError(f"--password-env {password_env}: the variable is not set or empty")
        return value
    if sys.stdin.isatty():
        return str(click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True, err=True))
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise UserError(f"no password for '{name}' on stdin; pipe it in or use --password-env VAR")
    return line


_password_opt = click.option(
    "--password-env",
    default=None,
    metavar="VAR",
    help="Read the password from this environment variable instead of stdin.",
)


@click.group("users")
def users_cmd() -> None:
    """Add, list, disable users of the node and change their passwords."""


@users_cmd.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["citizen", "official", "custodian", "admin"]))
@click.option(
    "--org",
    default=None,
    metavar="KATOTTH",
    help="The body an official works for (hromada, raion or oblast KATOTTH code).",
)
@click.option("--datasets", default=None, metavar="A,B", help="Datasets a custodian may load and edit.")
@_password_opt
@_config_opt
@_workdir_opt
def users_add(
    name: str,
    role: str,
    org: str | None,
    datasets: str | None,
    password_env: str | None,
    config: Path | None,
    workdir: Path | None,
) -> None:
    """Add user NAME with ROLE; the password comes from stdin or --password-env."""
    from access.config import Role
    from access.organisations import check_organisation
    from access.passwords import hash_password
    from access.users import User, check_user, open_users

    cfg, root = _node(config, workdir)
    audit = _audit(root).check_writable()
    ds = tuple(d.strip() for d in (datasets or "").split(",") if d.strip())
    known = {d.id for d in cfg.datasets}
    unknown = [d for d in ds if d not in known]
    if unknown:
        raise UserError(
            f"--datasets: no dataset {', '.join(unknown)} on node '{cfg.node.id}' "
            f"(known: {', '.join(sorted(known)) or 'none'})"
        )
    check_user(name, Role(role), org, ds)
    body = check_organisation(cfg, org) if org else None
    repo = open_users(cfg, root)
    if repo.get(name) is not None:
        raise UserError(f"user '{name}' exists already; use 'geoportal users passwd' to change the password")
    user = User(
        name=name,
        role=Role(role),
        organisation=org,
        datasets=ds,
        password_hash=hash_password(_read_password(password_env, name)),
    )
    repo.add(user)
    audit.append(
        "user.added",
        actor=_actor(),
        address=ADDRESS,
        user=name,
        outcome="ok",
        role=role,
        organisation=org,
        datasets=list(ds),
    )
    where = f" {org}" + (f" {body}" if body else "") if org else ""
    click.echo(f"added {name} ({role}{where}{' ' + ','.join(ds) if ds else ''})")


def _actor() -> str:
    from access.audit import cli_actor

    return cli_actor()


@users_cmd.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the users as JSON (no password hashes).")
@_config_opt
@_workdir_opt
def users_list(as_json: bool, config: Path | None, workdir: Path | None) -> None:
    """List the node's users: name, role, organisation, datasets, whether disabled."""
    from access.users import open_users

    cfg, root = _node(config, workdir)
    users = open_users(cfg, root).list()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": u.name,
                        "role": u.role.value,
                        "organisation": u.organisation,
                        "datasets": list(u.datasets),
                        "disabled": u.disabled,
                        "created_at": u.created_at,
                        "updated_at": u.updated_at,
                    }
                    for u in users
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for u in users:
        click.echo(
            f"{u.name}\t{u.role.value}\t{u.organisation or '-'}\t{','.join(u.datasets) or '-'}\t"
            f"{'disabled' if u.disabled else 'active'}"
        )


def _end_sessions(root: Path, name: str) -> int:
    """Log ``name`` out of every browser (after a password change or when disabled)."""
    from access.sessions import SessionStore

    if not (root / "sessions.db").exists():
        return 0
    return SessionStore(root / "sessions.db").revoke_user(name)


@users_cmd.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the user again instead.")
@_config_opt
@_workdir_opt
def users_disable(name: str, enable: bool, config: Path | None, workdir: Path | None) -> None:
    """Disable user NAME: logins and the tokens this node issued to them are refused from now on."""
    from access.users import open_users

    cfg, root = _node(config, workdir)
    audit = _audit(root).check_writable()
    open_users(cfg, root).update(name, disabled=not enable)
    ended = 0 if enable else _end_sessions(root, name)
    audit.append(
        "user.enabled" if enable else "user.disabled",
        actor=_actor(),
        address=ADDRESS,
        user=name,
        outcome="ok",
    )
    click.echo(f"{name}: {'enabled' if enable else 'disabled'}" + (f"; {ended} web session(s) ended" if ended else ""))


@users_cmd.command("passwd")
@click.argument("name")
@_password_opt
@_config_opt
@_workdir_opt
def users_passwd(name: str, password_env: str | None, config: Path | None, workdir: Path | None) -> None:
    """Set a new password for NAME (from stdin or --password-env); failed-login counts are cleared."""
    from access.passwords import hash_password
    from access.users import open_users

    cfg, root = _node(config, workdir)
    audit = _audit(root).check_writable()
    repo = open_users(cfg, root)
    repo.require(name)
    repo.update(name, password_hash=hash_password(_read_password(password_env, name)))
    repo.clear_failures(f"user:{name}")
    ended = _end_sessions(root, name)
    audit.append("user.password", actor=_actor(), address=ADDRESS, user=name, outcome="ok")
    click.echo(f"{name}: password changed" + (f"; {ended} web session(s) ended" if ended else ""))


@click.group("token")
def token_cmd() -> None:
    """Issue signed tokens (JWT) for the node's users; print the node's public keys."""


@token_cmd.command("issue")
@click.argument("name")
@click.option(
    "--ttl",
    type=click.IntRange(60, 30 * 86400),
    default=None,
    help="Seconds the token is valid (default: access.token_ttl, 3600).",
)
@click.option("--audience", default=None, help="The 'aud' claim (default: access.audience).")
@_config_opt
@_workdir_opt
def token_issue(
    name: str, ttl: int | None, audience: str | None, config: Path | None, workdir: Path | None
) -> None:
    """Print a token for user NAME, signed with the node's key (send it as 'Authorization: Bearer …')."""
    from datetime import datetime, timezone

    from access.tokens import issue
    from access.users import open_users

    cfg, root = _node(config, workdir)
    audit = _audit(root).check_writable()
    user = open_users(cfg, root).require(name)
    token, claims = issue(cfg, root, user, ttl=ttl, audience=audience)
    audit.append(
        "token.issued",
        actor=_actor(),
        address=ADDRESS,
        user=name,
        outcome="ok",
        jti=claims["jti"],
        audience=claims["aud"],
        expires=datetime.fromtimestamp(claims["exp"], timezone.utc).isoformat(),
    )
    click.echo(token)


@token_cmd.command("verify")
@click.option(
    "--token-env",
    default=None,
    metavar="VAR",
    help="Read the token from this environment variable instead of stdin.",
)
@click.option("--json", "as_json", is_flag=True)
@_config_opt
@_workdir_opt
def token_verify(token_env: str | None, as_json: bool, config: Path | None, workdir: Path | None) -> None:
    """Check a token (from stdin or --token-env) as this node would, and print who it stands for here:
    for single sign-on, the roles a trusted issuer's token maps to. Exit 9 with the reason when refused."""
    from access.tokens import Verifier
    from access.users import open_users

    cfg, root = _node(config, workdir)
    token = os.environ.get(token_env, "") if token_env else sys.stdin.readline()
    if not token.strip():
        raise UserError(f"no token {'in $' + token_env if token_env else 'on stdin'}")
    p = Verifier(cfg, root, users=open_users(cfg, root)).verify(token)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "name": p.name,
                    "roles": sorted(r.value for r in p.roles),
                    "organisation": p.organisation,
                    "datasets": sorted(p.datasets),
                    "issuer": p.issuer,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(f"valid: {p.describe()}")


@token_cmd.command("jwks")
@_config_opt
@_workdir_opt
def token_jwks(config: Path | None, workdir: Path | None) -> None:
    """Print the node's public JWKS (what other nodes need to trust its tokens; no private key)."""
    from access.tokens import jwks

    _, root = _node(config, workdir)
    click.echo(json.dumps(jwks(root), indent=2))


@click.group("access")
def access_cmd() -> None:
    """Ask the node's rules who may see what."""


@access_cmd.command("check")
@click.argument("name")
@click.argument("dataset")
@click.argument("service", required=False, default="ogcapi")
@click.option("--operation", default="read", show_default=True, help="read, write, or a service operation.")
@click.option("--json", "as_json", is_flag=True)
@_config_opt
@_workdir_opt
def access_check(
    name: str,
    dataset: str,
    service: str,
    operation: str,
    as_json: bool,
    config: Path | None,
    workdir: Path | None,
) -> None:
    """Print allow, deny or limit for user NAME ('anonymous' for nobody) on DATASET through SERVICE
    (default ogcapi), and the rule that decided."""
    from access.principal import ANONYMOUS
    from access.rules import Policy
    from access.users import open_users

    cfg, root = _node(config, workdir)
    cfg.dataset(dataset)  # a clear error for an unknown dataset
    note = ""
    if name == "anonymous":
        principal = ANONYMOUS
    else:
        user = open_users(cfg, root).require(name)
        principal = ANONYMOUS if user.disabled else user.principal()
        note = " (user disabled: decided as anonymous)" if user.disabled else ""
    d = Policy.from_config(cfg).decide_and_log(_audit(root), principal, dataset, service, operation, ADDRESS)
    if as_json:
        click.echo(
            json.dumps(
                {"user": name, "dataset": dataset, "service": service, "operation": operation} | d.to_dict(),
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(
        f"{d.effect}: {principal.describe()}{note} {operation} {dataset} via {service} — rule: {d.rule} "
        f"({d.reason}); catalog: {d.catalog}"
    )
    if d.limits is not None:
        lim = d.limits
        if lim.area is not None:
            click.echo(f"  area: {lim.area.katotth or lim.area.wkt}")
        if lim.filter:
            click.echo(f"  filter: {lim.filter}")
        if lim.hide_attributes:
            click.echo(f"  hidden attributes: {', '.join(lim.hide_attributes)}")


@click.command("audit")
@click.option("--user", default=None, help="Only entries by or about this user.")
@click.option("--dataset", default=None, help="Only entries about this dataset.")
@click.option(
    "--since", default=None, metavar="DATE", help="Only entries at or after 2026-11-24[T10:00] (UTC)."
)
@click.option("--verify", is_flag=True, help="Check the hash chain; exit 9 naming the first broken entry.")
@click.option("--json", "as_json", is_flag=True)
@_config_opt
@_workdir_opt
def audit_cmd(
    user: str | None,
    dataset: str | None,
    since: str | None,
    verify: bool,
    as_json: bool,
    config: Path | None,
    workdir: Path | None,
) -> None:
    """Show the node's audit log (who, when, what, from where), or check that nobody edited it."""
    from access.audit import parse_since

    _, root = _node(config, workdir)
    log = _audit(root)
    if verify:
        n = log.verify()
        click.echo(f"{log.path}: {n} entries, the chain is intact")
        return
    entries = log.query(user=user, dataset=dataset, since=parse_since(since) if since else None)
    if as_json:
        click.echo(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    for e in entries:
        what = " ".join(f"{k}={v}" for k, v in (e.get("detail") or {}).items() if v not in (None, [], ""))
        click.echo(
            f"{e['at']}  {e['actor']}@{e.get('address') or '-'}  {e['action']}"
            f"{' ' + e['user'] if e.get('user') else ''}{' ' + e['dataset'] if e.get('dataset') else ''}"
            f"  {e.get('outcome') or ''}{'  ' + what if what else ''}"
        )
