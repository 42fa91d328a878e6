"""Where a node keeps its users: one interface, two small implementations.

A GeoPackage node keeps them in an SQLite database in its workspace (``<workspace>/access.db``, mode 0600);
a PostGIS node in two tables of its storage schema (``access_users``, ``access_login_failures``). The
repository also keeps the failed-login timestamps the rate limit counts, so every worker process of a node
sees the same failures. Only hashes are stored; the repository never sees a password.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from access.config import KATOTTH_RE, NAME_RE, Role
from access.errors import UserError
from access.principal import Principal
from geoportal.errors import StoreError


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str = field(repr=False)
    organisation: str | None = None
    datasets: tuple[str, ...] = ()
    disabled: bool = False
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    def principal(self) -> Principal:
        return Principal(
            name=self.name,
            roles=frozenset({self.role}),
            organisation=self.organisation,
            datasets=frozenset(self.datasets),
        )


def check_user(name: str, role: Role, organisation: str | None, datasets: tuple[str, ...]) -> None:
    """Refuse a user the rules could not reason about; the message names the value and what to do."""
    if not re.match(NAME_RE, name) or name == Role.anonymous.value:
        raise UserError(
            f"user name '{name}': use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter "
            "or digit ('anonymous' is reserved)"
        )
    if role == Role.anonymous:
        raise UserError(
            f"user '{name}': 'anonymous' is whoever does not log in, not a stored role; "
            "use citizen, official, custodian or admin"
        )
    if organisation is not None and not KATOTTH_RE.match(organisation):
        raise UserError(
            f"user '{name}': organisation '{organisation}' is not a KATOTTH code ('UA' followed by 17 digits)"
        )
    if role == Role.official and organisation is None:
        raise UserError(
            f"user '{name}': an official is bound to an organisation; give --org KATOTTH "
            "(the hromada, raion or oblast body)"
        )
    if role == Role.custodian and not datasets:
        raise UserError(f"user '{name}': a custodian loads and edits named datasets; give --datasets A,B")
    if datasets and role != Role.custodian:
        raise UserError(f"user '{name}': only custodians have datasets (role is {role.value})")


class UserRepository(ABC):
    """The users of one node, and the failed-login timestamps of its rate limit."""

    @abstractmethod
    def add(self, user: User) -> None:
        """Store a new user; :class:`UserError` if the name is taken."""

    @abstractmethod
    def get(self, name: str) -> User | None: ...

    @abstractmethod
    def list(self) -> list[User]: ...

    @abstractmethod
    def _write(self, user: User) -> None:
        """Overwrite an existing user's mutable fields."""

    def require(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise UserError(f"no user '{name}' on this node; see 'geoportal users list'")
        return user

    def update(self, name: str, **changes: Any) -> User:
        user = replace(self.require(name), **changes, updated_at=now_iso())
        self._write(user)
        return user

    @abstractmethod
    def add_failure(self, key: str, at: float) -> None: ...

    @abstractmethod
    def failures(self, key: str, since: float) -> list[float]:
        """Timestamps of failed logins under ``key`` (``user:NAME`` or ``addr:IP``) since ``since``, oldest
        first."""

    @abstractmethod
    def clear_failures(self, key: str) -> None: ...

    @abstractmethod
    def prune_failures(self, before: float) -> None:
        """Forget failures older than ``before`` (they no longer count), so the table stays small."""


def _row_to_user(row: tuple[Any, ...]) -> User:
    name, role, pw, org, datasets, disabled, created, updated = row
    return User(
        name=name,
        role=Role(role),
        password_hash=pw,
        organisation=org,
        datasets=tuple(json.loads(datasets or "[]")),
        disabled=bool(disabled),
        created_at=str(created),
        updated_at=str(updated),
    )


def _user_values(u: User) -> tuple[Any, ...]:
    return (
        u.name,
        u.role.value,
        u.password_hash,
        u.organisation,
        json.dumps(list(u.datasets)),
        u.disabled,
        u.created_at,
        u.updated_at,
    )


_COLUMNS = "name, role, password_hash, organisation, datasets, disabled, created_at, updated_at"


class _Descriptor:
    """An open file descriptor, closed when the last reference to it goes. The user database's header is read
    by many threads without a lock: a descriptor closed by one thread (its file replaced under the running node,
    a restore) while another is about to read from it could meanwhile be reused for another file. Each reader
    holds this object while it reads, so the number is released only after the last read of it."""

    __slots__ = ("fd",)

    def __init__(self, fd: int):
        self.fd = fd

    def __del__(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


class SQLiteUsers(UserRepository):
    """Users of a GeoPackage node, in ``access.db`` of its workspace, readable by the node's owner only."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._cache: dict[str, tuple[tuple[Any, ...], User | None]] = {}
        self._header: tuple[_Descriptor, int, int] | None = None  # (descriptor, inode, device) of the counter
        self._header_lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
            os.chmod(self.path, 0o600)
        except OSError as e:
            raise StoreError(
                f"{self.path}: cannot create the node's user database ({e.strerror}); give a "
                "workspace (--workdir) the node may write"
            ) from None
        conn = self._connect()  # closed here: a connection left to the collector holds the file, even replaced
        try:
            with conn:
                conn.executescript("""
                    CREATE TABLE IF NOT EXISTS users (
                        name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, organisation TEXT,
                        datasets TEXT NOT NULL DEFAULT '[]', disabled INTEGER NOT NULL DEFAULT 0,
                        created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
                    CREATE TABLE IF NOT EXISTS login_failures (key TEXT NOT NULL, at REAL NOT NULL);
                    CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, at);
                """)
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def _run(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            conn = self._connect()
            try:
                with conn:
                    return conn.execute(query, params).fetchall()
            finally:
                conn.close()
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as e:
            raise StoreError(
                f"{self.path}: the node's user database cannot be read or written ({e}); check the "
                "file's owner, permissions and free space"
            ) from None

    def add(self, user: User) -> None:
        try:
            self._run(f"INSERT INTO users ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _user_values(user))
        except sqlite3.IntegrityError:
            raise UserError(
                f"user '{user.name}' exists already; use 'geoportal users passwd' to change the password"
            ) from None

    def get(self, name: str) -> User | None:
        """The user as stored now. Every request of a logged-in caller asks (a disabled user is refused at
        once), so the answer is kept while the database file is unchanged (see :meth:`_change_counter`)."""
        stamp = self._change_counter()
        hit = self._cache.get(name) if stamp is not None else None
        if hit is not None and hit[0] == stamp:
            return hit[1]
        rows = self._run(f"SELECT {_COLUMNS} FROM users WHERE name = ?", (name,))
        user = _row_to_user(rows[0]) if rows else None
        if stamp is not None and stamp == self._change_counter():  # no write in between
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[name] = (stamp, user)
        return user

    #: a file whose last change is older than this (ns) has timestamps any later write changes
    settled_ns = 3_000_000_000

    def _change_counter(self) -> tuple[Any, ...] | None:
        """What tells whether the database changed since: one ``stat`` of its path — inode, size, and the
        times of its last write and change — once those times lie ``settled_ns`` in the past. A write sets
        them to the clock of its moment, which the file system may round (to its clock tick, or to the
        second), so a write within that rounding of the one before it could leave them as they were; one
        made after they lie 3 s back cannot. A file changed more recently than that is told by the change
        counter SQLite keeps in its header (bytes 24–27, counting every committed change in the
        rollback-journal mode used here): a 4-byte read from a descriptor kept open. A file replaced since
        (another inode at the path) is opened anew; a file gone is None. The two kinds of stamp never
        compare equal to each other."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) >= self.settled_ns:
            return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        kept = self._header
        if kept is None or (kept[1], kept[2]) != (st.st_ino, st.st_dev):
            kept = self._reopen(st)
            if kept is None:
                return None
        try:
            header = os.pread(kept[0].fd, 28, 0)
        except OSError:
            return None
        return (kept[1], header[24:28]) if len(header) == 28 else None

    def _reopen(self, st: os.stat_result) -> tuple[_Descriptor, int, int] | None:
        with self._header_lock:
            try:
                fd = _Descriptor(os.open(self.path, os.O_RDONLY | os.O_CLOEXEC))
            except OSError:
                return None
            opened = os.fstat(fd.fd)
            if (opened.st_ino, opened.st_dev) != (st.st_ino, st.st_dev):  # replaced again meanwhile
                return None
            # the descriptor of the file replaced is closed once no thread holds it any more (see _Descriptor)
            self._header = (fd, opened.st_ino, opened.st_dev)
            return self._header

    def list(self) -> list[User]:
        return [_row_to_user(r) for r in self._run(f"SELECT {_COLUMNS} FROM users ORDER BY name")]

    def _write(self, user: User) -> None:
        self._run(
            "UPDATE users SET role = ?, password_hash = ?, organisation = ?, datasets = ?, disabled = ?, "
            "created_at = ?, updated_at = ? WHERE name = ?",
            (*_user_values(user)[1:], user.name),
        )

    def add_failure(self, key: str, at: float) -> None:
        self._run("INSERT INTO login_failures (key, at) VALUES (?, ?)", (key, at))

    def failures(self, key: str, since: float) -> list[float]:
        return [
            r[0]
            for r in self._run(
                "SELECT at FROM login_failures WHERE key = ? AND at >= ? ORDER BY at", (key, since)
            )
        ]

    def clear_failures(self, key: str) -> None:
        self._run("DELETE FROM login_failures WHERE key = ?", (key,))

    def prune_failures(self, before: float) -> None:
        self._run("DELETE FROM login_failures WHERE at < ?", (before,))


class PostGISUsers(UserRepository):
    """Users of a PostGIS node, in ``<schema>.access_users`` and ``<schema>.access_login_failures``."""

    def __init__(self, dsn: str, schema: str = "public"):
        from psycopg import sql

        self.dsn = dsn
        self._users = sql.Identifier(schema, "access_users")
        self._failures = sql.Identifier(schema, "access_login_failures")
        if not self._run("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)):
            self._run(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        self._run(
            sql.SQL("""CREATE TABLE IF NOT EXISTS {} (
                name text PRIMARY KEY, role text NOT NULL, password_hash text NOT NULL, organisation text,
                datasets text NOT NULL DEFAULT '[]', disabled boolean NOT NULL DEFAULT false,
                created_at text NOT NULL, updated_at text NOT NULL)""").format(self._users)
        )
        self._run(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (key text NOT NULL, at double precision NOT NULL)").format(
                self._failures
            )
        )

    def _run(self, query: Any, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        try:
            with psycopg.connect(self.dsn, autocommit=False, connect_timeout=10) as conn:
                cur = conn.execute(query, params)
                return cur.fetchall() if cur.description else []
        except (psycopg.OperationalError, psycopg.errors.InsufficientPrivilege) as e:
            where = {
                k: v for k, v in conninfo_to_dict(self.dsn).items() if k in ("host", "port", "dbname", "user")
            }
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise StoreError(
                f"the node's users in PostGIS ({where}) cannot be read or written: {first}; check "
                "that the server runs and the role may use the schema"
            ) from None

    def add(self, user: User) -> None:
        import psycopg
        from psycopg import sql

        q = sql.SQL("INSERT INTO {} ({}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)").format(
            self._users, sql.SQL(_COLUMNS)
        )
        try:
            self._run(q, _user_values(user))
        except psycopg.errors.UniqueViolation:
            raise UserError(
                f"user '{user.name}' exists already; use 'geoportal users passwd' to change the password"
            ) from None

    def get(self, name: str) -> User | None:
        from psycopg import sql

        rows = self._run(
            sql.SQL("SELECT {} FROM {} WHERE name = %s").format(sql.SQL(_COLUMNS), self._users), (name,)
        )
        return _row_to_user(rows[0]) if rows else None

    def list(self) -> list[User]:
        from psycopg import sql

        return [
            _row_to_user(r)
            for r in self._run(
                sql.SQL("SELECT {} FROM {} ORDER BY name").format(sql.SQL(_COLUMNS), self._users)
            )
        ]

    def _write(self, user: User) -> None:
        from psycopg import sql

        self._run(
            sql.SQL(
                "UPDATE {} SET role = %s, password_hash = %s, organisation = %s, datasets = %s, "
                "disabled = %s, created_at = %s, updated_at = %s WHERE name = %s"
            ).format(self._users),
            (*_user_values(user)[1:], user.name),
        )

    def add_failure(self, key: str, at: float) -> None:
        from psycopg import sql

        self._run(sql.SQL("INSERT INTO {} (key, at) VALUES (%s, %s)").format(self._failures), (key, at))

    def failures(self, key: str, since: float) -> list[float]:
        from psycopg import sql

        rows = self._run(
            sql.SQL("SELECT at FROM {} WHERE key = %s AND at >= %s ORDER BY at").format(self._failures),
            (key, since),
        )
        return [r[0] for r in rows]

    def clear_failures(self, key: str) -> None:
        from psycopg import sql

        self._run(sql.SQL("DELETE FROM {} WHERE key = %s").format(self._failures), (key,))

    def prune_failures(self, before: float) -> None:
        from psycopg import sql

        self._run(sql.SQL("DELETE FROM {} WHERE at < %s").format(self._failures), (before,))


def open_users(cfg: Any, workspace_root: Path) -> UserRepository:
    """The user repository of a node: in PostGIS when the node stores its layers there, else SQLite."""
    if cfg.storage.backend == "postgis":
        return PostGISUsers(str(cfg.storage.dsn), cfg.storage.schema_)
    return SQLiteUsers(Path(workspace_root) / "access.db")
