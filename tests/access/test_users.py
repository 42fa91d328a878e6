"""Users in both storages (SQLite in the workspace, tables in PostGIS), real argon2 hashes, the login check
and its rate limit."""

from __future__ import annotations

import functools
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from access.audit import AuditLog
from access.config import LoginLimits, Role
from access.errors import BadCredentials, LoginLocked, UserError
from access.passwords import hash_password, login, verify_password
from access.users import PostGISUsers, SQLiteUsers, User, UserRepository, check_user

from .conftest import OVRUCH

PASSWORD = "Поліська-криниця-42"


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UserRepository]:
    if request.param == "sqlite":
        yield SQLiteUsers(tmp_path / "ws" / "access.db")
    else:
        dsn = request.getfixturevalue("postgis_dsn")
        yield PostGISUsers(dsn, schema=f"node_{uuid.uuid4().hex[:8]}")


@functools.cache
def _hash() -> str:
    """One real argon2 hash of PASSWORD, made once: hashing is deliberately slow."""
    return hash_password(PASSWORD)


def _official(name: str = "ivan") -> User:
    return User(name=name, role=Role.official, organisation=OVRUCH, password_hash=_hash())


def test_add_get_list_disable_passwd(repo: UserRepository) -> None:
    repo.add(_official())
    repo.add(
        User(
            name="maria",
            role=Role.custodian,
            datasets=("wells", "roads"),
            password_hash=_hash(),
        )
    )
    with pytest.raises(UserError, match="user 'ivan' exists already"):
        repo.add(_official())
    ivan = repo.require("ivan")
    assert ivan.password_hash.startswith("$argon2id$") and PASSWORD not in ivan.password_hash
    assert verify_password(ivan.password_hash, PASSWORD) and not verify_password(
        ivan.password_hash, "wrong-password"
    )
    assert ivan.principal().organisation == OVRUCH and ivan.principal().roles == {Role.official}
    assert [u.name for u in repo.list()] == ["ivan", "maria"]
    assert repo.require("maria").datasets == ("wells", "roads")
    repo.update("ivan", disabled=True)
    assert repo.require("ivan").disabled
    repo.update("maria", password_hash=hash_password("another-long-one"))
    assert verify_password(repo.require("maria").password_hash, "another-long-one")
    with pytest.raises(UserError, match="no user 'nobody'"):
        repo.require("nobody")


def test_a_change_made_by_another_process_is_seen_at_once(tmp_path: Path) -> None:
    """The front keeps users while the database is unchanged; a change written through another repository
    (another worker, the CLI) is seen by the next read, however soon."""
    front, cli = SQLiteUsers(tmp_path / "access.db"), SQLiteUsers(tmp_path / "access.db")
    cli.add(_official())
    assert front.get("ivan") is not None and not front.get("ivan").disabled  # read, then kept
    for _ in range(20):  # writes in the same clock tick as the read before them
        cli.update("ivan", disabled=True)
        assert front.get("ivan").disabled
        cli.update("ivan", disabled=False)
        assert not front.get("ivan").disabled
    cli.update("ivan", password_hash=hash_password("another-long-one"))
    assert verify_password(front.get("ivan").password_hash, "another-long-one")
    assert front.get("nobody") is None


def test_a_user_disabled_long_after_the_last_change_is_refused_at_the_next_read(tmp_path: Path) -> None:
    """Once the database has not changed for a while the front tells a change by one stat of the file (its
    size and times) instead of reading SQLite's change counter: a user disabled then, by another process,
    is still seen disabled by the very next read, and enabled again the same way."""
    import os
    import time

    front, cli = SQLiteUsers(tmp_path / "access.db"), SQLiteUsers(tmp_path / "access.db")
    front.settled_ns = 300_000_000  # the file's times settle after 0.3 s here instead of 3 s
    cli.add(_official())
    time.sleep(0.4)
    assert len(front._change_counter()) == 5  # settled: the stamp is the stat's
    assert not front.get("ivan").disabled and not front.get("ivan").disabled  # read, then kept
    for _ in range(3):
        cli.update("ivan", disabled=True)
        assert front.get("ivan").disabled
        time.sleep(0.4)
        assert front.get("ivan").disabled and front.get("ivan").disabled
        cli.update("ivan", disabled=False)
        assert not front.get("ivan").disabled
        time.sleep(0.4)
    # a write that changes neither the size nor, if the clock had not moved, the times: still seen
    before = os.stat(tmp_path / "access.db").st_size
    cli.update("ivan", disabled=True)
    assert os.stat(tmp_path / "access.db").st_size == before
    assert front.get("ivan").disabled


def test_a_user_database_replaced_under_the_front_is_read_anew_and_the_old_file_let_go(tmp_path: Path) -> None:
    """A restore replaces ``access.db`` under a running node: the front reads the users of the new file at
    once, and keeps no descriptor of the files replaced (each restore would otherwise hold a deleted file's
    space and a descriptor until the node stops)."""
    import os
    import shutil

    path = tmp_path / "access.db"
    front = SQLiteUsers(path)
    front.add(_official())
    assert not front.get("ivan").disabled
    for i in range(5):
        copy = tmp_path / f"restore-{i}.db"
        shutil.copyfile(path, copy)
        with sqlite3.connect(copy) as conn:  # the restored file: ivan disabled, then enabled, in turn
            conn.execute("UPDATE users SET disabled = ? WHERE name = 'ivan'", (i % 2 == 0,))
        conn.close()
        os.replace(copy, path)
        assert front.get("ivan").disabled == (i % 2 == 0)
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            held.append(os.readlink(f"/proc/self/fd/{fd}"))  # a deleted file reads as "PATH (deleted)"
        except OSError:
            pass
    assert [f for f in held if "access.db" in f or "restore-" in f] == [str(path.resolve())], held


def test_sqlite_database_is_private_and_holds_no_password(tmp_path: Path) -> None:
    path = tmp_path / "access.db"
    SQLiteUsers(path).add(_official())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PASSWORD.encode() not in path.read_bytes()
    with sqlite3.connect(path) as conn:  # an independent read of what was stored
        ((role, org, pw),) = conn.execute(
            "SELECT role, organisation, password_hash FROM users WHERE name = 'ivan'"
        )
    assert (role, org) == ("official", OVRUCH) and pw.startswith("$argon2id$")


@pytest.mark.postgis
def test_postgis_tables_live_in_the_node_schema(postgis_dsn: str) -> None:
    import psycopg

    schema = f"node_{uuid.uuid4().hex[:8]}"
    PostGISUsers(postgis_dsn, schema=schema).add(_official())
    with psycopg.connect(postgis_dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (schema,)
        ).fetchall()
        assert rows == [("access_login_failures",), ("access_users",)]
        ((org,),) = conn.execute(f'SELECT organisation FROM "{schema}".access_users').fetchall()
    assert org == OVRUCH


@pytest.mark.parametrize(
    "name,role,org,datasets,message",
    [
        ("ivan petrenko", Role.citizen, None, (), "user name 'ivan petrenko'"),
        ("anonymous", Role.citizen, None, (), "'anonymous' is reserved"),
        ("ivan", Role.anonymous, None, (), "not a stored role"),
        ("ivan", Role.official, None, (), "give --org KATOTTH"),
        ("ivan", Role.official, "UA123", (), "'UA123' is not a KATOTTH code"),
        ("maria", Role.custodian, None, (), "give --datasets"),
        ("olena", Role.citizen, None, ("roads",), "only custodians have datasets"),
    ],
)
def test_users_the_rules_cannot_reason_about_are_refused(
    name: str, role: Role, org: str | None, datasets: tuple[str, ...], message: str
) -> None:
    with pytest.raises(UserError, match=message):
        check_user(name, role, org, datasets)


def test_short_passwords_are_refused() -> None:
    with pytest.raises(UserError, match="at least 10 characters"):
        hash_password("short")


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def test_login_is_rate_limited_per_user_and_per_address(repo: UserRepository, tmp_path: Path) -> None:
    repo.add(_official())
    audit, clock = AuditLog(tmp_path / "audit.log"), Clock()
    limits = LoginLimits(max_failures=3, window=300, lockout=600)
    assert login(repo, audit, limits, "ivan", PASSWORD, "10.0.0.1", clock).name == "ivan"
    for _ in range(3):
        clock.t += 10
        with pytest.raises(BadCredentials, match="wrong name or password"):
            login(repo, audit, limits, "ivan", "guess-guess-guess", "10.0.0.1", clock)
    clock.t += 10
    with pytest.raises(LoginLocked) as locked:  # even the right password is not looked at now
        login(repo, audit, limits, "ivan", PASSWORD, "10.0.0.2", clock)
    assert locked.value.http_status == 429 and 0 < locked.value.retry_after <= 600
    clock.t += 600
    assert login(repo, audit, limits, "ivan", PASSWORD, "10.0.0.2", clock).organisation == OVRUCH
    # the address that guessed is still counted: spraying other names from it is locked too
    repo.add(_official("petro"))
    for name in ("a1", "a2", "a3"):
        with pytest.raises(BadCredentials):
            login(repo, audit, limits, name, "guess-guess-guess", "10.0.0.9", clock)
    with pytest.raises(LoginLocked, match="from 10.0.0.9"):
        login(repo, audit, limits, "petro", PASSWORD, "10.0.0.9", clock)
    outcomes = [(e["user"], e["address"], e["outcome"]) for e in audit.entries()]
    assert outcomes[:6] == [("ivan", "10.0.0.1", "ok")] + [("ivan", "10.0.0.1", "failed")] * 3 + [
        ("ivan", "10.0.0.2", "locked"),
        ("ivan", "10.0.0.2", "ok"),
    ]
    assert [e["detail"].get("reason") for e in audit.entries()][6:9] == ["unknown user"] * 3
    assert PASSWORD not in audit.path.read_text(encoding="utf-8")
    assert audit.verify() == 10


def test_failures_spread_over_more_than_the_window_do_not_lock(repo: UserRepository, tmp_path: Path) -> None:
    repo.add(_official())
    audit, clock = AuditLog(tmp_path / "audit.log"), Clock()
    limits = LoginLimits(max_failures=3, window=60, lockout=600)
    for _ in range(4):
        clock.t += 40  # any three failures span 80 s > 60 s
        with pytest.raises(BadCredentials):
            login(repo, audit, limits, "ivan", "guess-guess-guess", "10.0.0.1", clock)
    assert login(repo, audit, limits, "ivan", PASSWORD, "10.0.0.1", clock).name == "ivan"


def test_a_disabled_user_cannot_log_in(repo: UserRepository, tmp_path: Path) -> None:
    repo.add(_official())
    repo.update("ivan", disabled=True)
    audit = AuditLog(tmp_path / "audit.log")
    with pytest.raises(BadCredentials):
        login(repo, audit, LoginLimits(), "ivan", PASSWORD, "10.0.0.1")
    assert [e["detail"]["reason"] for e in audit.entries()] == ["disabled"]


def test_storage_failures_are_one_clear_line_without_the_dsn_password(tmp_path: Path) -> None:
    from geoportal.errors import StoreError
    from geoportal.serve import free_port

    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match=r"file/access.db: cannot create the node's user database"):
        SQLiteUsers(tmp_path / "file" / "access.db")
    with pytest.raises(StoreError, match="cannot be read or written") as ei:
        PostGISUsers(f"postgresql://geo:s3cret-pw@127.0.0.1:{free_port()}/nodes")
    assert "s3cret-pw" not in str(ei.value) and "'dbname': 'nodes'" in str(ei.value)
