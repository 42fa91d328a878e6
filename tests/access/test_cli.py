"""The CLI as an admin uses it: users, tokens, access checks, the audit log — and no secret left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from access.tokens import Verifier
from access.users import SQLiteUsers
from geoportal.cli import main
from geoportal.config import load_config

from .conftest import OVRUCH, write_node

PW1, PW2, PW3 = "Перший-довгий-пароль", "second-long-password", "custodian-long-password"


@pytest.fixture
def node(tmp_path: Path) -> tuple[Path, Path]:
    return write_node(tmp_path / "node"), tmp_path / "ws"


def _run(
    node: tuple[Path, Path], *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> Result:
    config, ws = node
    return CliRunner().invoke(
        main, [*args, "--config", str(config), "--workdir", str(ws)], input=input, env=env
    )


def test_the_admin_workflow(node: tuple[Path, Path]) -> None:
    config, ws = node
    r = _run(node, "users", "add", "ivan", "--role", "official", "--org", OVRUCH, input=PW1 + "\n")
    assert r.exit_code == 0, r.output
    r = _run(
        node,
        "users",
        "add",
        "maria",
        "--role",
        "custodian",
        "--datasets",
        "wells,roads",
        "--password-env",
        "GP_PW",
        env={"GP_PW": PW3},
    )
    assert r.exit_code == 0, r.output
    listed = json.loads(_run(node, "users", "list", "--json").output)
    assert [(u["name"], u["role"], u["organisation"], u["datasets"]) for u in listed] == [
        ("ivan", "official", OVRUCH, []),
        ("maria", "custodian", None, ["wells", "roads"]),
    ]
    assert "hash" not in json.dumps(listed)
    assert stat_mode(ws / "access.db") == 0o600

    r = _run(node, "access", "check", "ivan", "cadastre")
    assert r.exit_code == 0 and r.output.startswith(
        "limit: ivan (official org UA18060170000069581) read cadastre via ogcapi — rule: access.rules[0]"
    ), r.output
    assert f"area: {OVRUCH}" in r.output and "hidden attributes: owner" in r.output
    assert _run(node, "access", "check", "ivan", "cadastre", "wfs").output.startswith("deny:")
    check = json.loads(_run(node, "access", "check", "anonymous", "cadastre", "csw", "--json").output)
    assert (check["effect"], check["catalog"], check["rule"]) == (
        "limit",
        "metadata",
        "datasets.cadastre.access: restricted",
    )
    assert _run(node, "access", "check", "maria", "wells", "--operation", "write").output.startswith("allow:")

    token = _run(node, "token", "issue", "ivan", "--ttl", "120").output.strip()
    cfg = load_config(config)
    users = SQLiteUsers(ws / "access.db")
    assert Verifier(cfg, ws, users=users).verify(token).organisation == OVRUCH
    jwks = json.loads(_run(node, "token", "jwks").output)
    assert "d" not in jwks["keys"][0]

    assert _run(node, "users", "passwd", "ivan", input=PW2 + "\n").exit_code == 0
    assert _run(node, "users", "disable", "ivan").exit_code == 0
    with pytest.raises(Exception, match="no longer active"):
        Verifier(cfg, ws, users=users).verify(token)
    assert "disabled" in _run(node, "users", "list").output

    log = _run(node, "audit", "--user", "ivan").output.splitlines()
    assert [line.split()[2] for line in log] == [
        "user.added",
        "access.decision",
        "access.decision",
        "token.issued",
        "user.password",
        "user.disabled",
    ]
    assert all("@local" in line for line in log)
    decisions = json.loads(_run(node, "audit", "--dataset", "cadastre", "--json").output)
    assert [(e["actor"], e["outcome"], e["detail"]["service"]) for e in decisions] == [
        ("ivan", "limit", "ogcapi"),
        ("ivan", "deny", "wfs"),
        ("anonymous", "limit", "csw"),
    ]
    assert _run(node, "audit", "--since", "2999-01-01").output == ""
    r = _run(node, "audit", "--verify")
    assert r.exit_code == 0 and "8 entries, the chain is intact" in r.output

    # no secret in clear anywhere: not in the workspace, not in the config
    for path in [config, *ws.rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            for secret in (PW1, PW2, PW3, token):
                assert secret.encode() not in data, (path, secret[:8])


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["users", "add", "x", "--role", "custodian", "--datasets", "parcels"],
            "--datasets: no dataset parcels",
        ),
        (["users", "add", "x", "--role", "official"], "give --org KATOTTH"),
        (["users", "add", "x", "--role", "citizen"], "no password for 'x' on stdin"),
        (
            ["users", "add", "x", "--role", "citizen", "--password-env", "GP_NOPE"],
            "--password-env GP_NOPE: the variable",
        ),
        (["users", "passwd", "ghost"], "no user 'ghost'"),
        (["token", "issue", "ghost"], "no user 'ghost'"),
        (["access", "check", "anonymous", "parcels"], "no dataset 'parcels'"),
        (["audit", "--since", "last week"], "--since 'last week'"),
    ],
)
def test_mistakes_exit_9_with_one_line(node: tuple[Path, Path], args: list[str], message: str) -> None:
    r = _run(node, *args, input="")
    assert r.exit_code in (2, 9) and message in r.output, r.output
    assert r.output.startswith("error: ") and r.output.count("\n") == 1


def test_the_password_is_never_an_argument(node: tuple[Path, Path]) -> None:
    r = _run(node, "users", "add", "x", "--role", "citizen", "--password", PW1)
    assert r.exit_code == 2 and "No such option '--password'" in r.output


def test_an_edited_audit_log_fails_verify_naming_the_line(node: tuple[Path, Path]) -> None:
    """Through the installed ``geoportal`` command, as an admin would run it."""
    config, ws = node
    geoportal = str(Path(sys.executable).parent / "geoportal")
    common = ["--config", str(config), "--workdir", str(ws)]
    for name in ("olena", "taras", "oksana"):
        assert _run(node, "users", "add", name, "--role", "citizen", input=PW1 + "\n").exit_code == 0
    log = ws / "audit.log"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    log.write_text(
        lines[0] + lines[1].replace('"role":"citizen"', '"role":"admin"') + lines[2], encoding="utf-8"
    )
    r = subprocess.run([geoportal, "audit", "--verify", *common], text=True, capture_output=True)
    assert r.returncode == 9
    assert "audit.log: line 2 (entry 2, user.added" in r.stderr and "the entry was edited" in r.stderr
    log.write_text(lines[0] + lines[2], encoding="utf-8")
    r = subprocess.run([geoportal, "audit", "--verify", *common], text=True, capture_output=True)
    assert r.returncode == 9 and "line 2 (entry 3" in r.stderr and "removed" in r.stderr


@pytest.mark.postgis
def test_a_postgis_node_keeps_its_users_in_its_schema(tmp_path: Path, postgis_dsn: str) -> None:
    import uuid

    import psycopg

    schema = f"node_{uuid.uuid4().hex[:8]}"
    config = write_node(tmp_path / "node")
    text = config.read_text(encoding="utf-8").replace(
        "\ndatasets:",
        f"\nstorage: {{backend: postgis, dsn: '{postgis_dsn}', schema: {schema}}}\ndatasets:",
        1,
    )
    config.write_text(text, encoding="utf-8")
    node = (config, tmp_path / "ws")
    assert (
        _run(node, "users", "add", "ivan", "--role", "official", "--org", OVRUCH, input=PW1 + "\n").exit_code
        == 0
    )
    assert _run(node, "users", "disable", "ivan").exit_code == 0
    with psycopg.connect(postgis_dsn) as conn:
        rows = conn.execute(
            f'SELECT name, role, organisation, disabled, password_hash FROM "{schema}".access_users'
        ).fetchall()
    assert [r[:4] for r in rows] == [("ivan", "official", OVRUCH, True)] and rows[0][4].startswith(
        "$argon2id$"
    )
    assert not (tmp_path / "ws" / "access.db").exists()
    assert "ivan\tofficial" in _run(node, "users", "list").output


def test_a_change_that_cannot_be_audited_is_not_made(node: tuple[Path, Path]) -> None:
    _, ws = node
    (ws / "audit.log").mkdir(parents=True)  # the log cannot be opened for writing
    r = _run(node, "users", "add", "olena", "--role", "citizen", input=PW1 + "\n")
    assert (
        r.exit_code == 9
        and "the audit log cannot be written" in r.output
        and "nothing was changed" in r.output
    )
    assert "olena" not in _run(node, "users", "list").output


def test_an_official_is_bound_to_a_body_of_the_codifier(tmp_path: Path) -> None:
    codifier = (
        Path(__file__).resolve().parents[2] / "data" / "katotth" / "kodifikator-16-05-2025_UA18_zhytomyr.csv"
    )
    config = write_node(tmp_path / "node")
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("\ndatasets:", f"\nreference: {{codifier: '{codifier}'}}\ndatasets:", 1),
        encoding="utf-8",
    )
    node = (config, tmp_path / "ws")
    r = _run(node, "users", "add", "ivan", "--role", "official", "--org", OVRUCH, input=PW1 + "\n")
    assert r.exit_code == 0 and f"added ivan (official {OVRUCH} hromada Овруцька)" in r.output, r.output
    village = "UA18060170020084258"  # Базарівка, a village of the Ovruch hromada: no council of its own
    r = _run(node, "users", "add", "petro", "--role", "official", "--org", village, input=PW1 + "\n")
    assert r.exit_code == 9 and f"--org {village}: not an oblast, raion or hromada" in r.output, r.output
    assert "petro" not in _run(node, "users", "list").output


def test_token_verify_shows_who_a_token_is_here(tmp_path: Path) -> None:
    oblast = (
        write_node(tmp_path / "oblast", node_id="oblast", url="https://geo.zht.example"),
        tmp_path / "ows",
    )
    assert (
        _run(
            oblast, "users", "add", "ivan", "--role", "official", "--org", OVRUCH, input=PW1 + "\n"
        ).exit_code
        == 0
    )
    assert _run(oblast, "users", "add", "boss", "--role", "admin", input=PW1 + "\n").exit_code == 0
    (tmp_path / "oblast.jwks").write_text(_run(oblast, "token", "jwks").output, encoding="utf-8")
    hromada_cfg = write_node(
        tmp_path / "hromada",
        access="access:\n  audience: zhytomyr-network\n  trusted_issuers:\n"
        f"    - {{id: 'https://geo.zht.example', jwks_file: '{tmp_path}/oblast.jwks'}}\n",
    )
    hromada = (hromada_cfg, tmp_path / "hws")
    token = _run(oblast, "token", "issue", "ivan").output.strip()
    r = _run(hromada, "token", "verify", "--token-env", "GP_TOKEN", env={"GP_TOKEN": token})
    assert (
        r.exit_code == 0 and r.output == f"valid: ivan (official org {OVRUCH} via https://geo.zht.example)\n"
    )
    boss = json.loads(
        _run(hromada, "token", "verify", "--json", input=_run(oblast, "token", "issue", "boss").output).output
    )
    assert boss["roles"] == ["anonymous"] and boss["issuer"] == "https://geo.zht.example"
    r = _run(hromada, "token", "verify", input=token[:-4] + "AAAA\n")
    assert r.exit_code == 9 and "signature does not verify" in r.output
    r = _run(oblast, "token", "verify", input="x.y.z\n")
    assert r.exit_code == 9 and "not a JWT" in r.output
