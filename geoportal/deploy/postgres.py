"""PostgreSQL clusters of a native production run: a primary (the node's PostGIS data, the catalog) and a
streaming replica made with ``pg_basebackup`` (hot standby) that serves the reads of pygeoapi and MapServer.

Each cluster is a folder with its own port and socket directory, started with Debian's binaries; run as
root, the server programs run as the ``postgres`` user (PostgreSQL refuses root), so the folders are made
theirs. Reads connect with a libpq multi-host string ``host=replica,primary … target_session_attrs=
prefer-standby``: a dead replica costs one refused connection, and the read goes to the primary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from geoportal.errors import ServeError

PG_BIN = Path(os.environ.get("GEOPORTAL_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"


def as_postgres(cmd: list[str]) -> list[str]:
    """The command run as the ``postgres`` user when we are root (PostgreSQL will not run as root)."""
    return ["runuser", "-u", SUPERUSER, "--", *cmd] if os.geteuid() == 0 else cmd


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, SUPERUSER, SUPERUSER)


def require_binaries() -> None:
    """One line naming what is missing, before anything starts."""
    missing = [p for p in ("initdb", "pg_ctl", "pg_basebackup", "postgres") if not (PG_BIN / p).exists()]
    if missing:
        raise ServeError(f"PostgreSQL 15 programs not found in {PG_BIN} ({', '.join(missing)}): install the Debian "
                         "packages postgresql-15 and postgresql-15-postgis-3 (make system), or set GEOPORTAL_PG_BIN")


@dataclass(frozen=True)
class Cluster:
    """One PostgreSQL cluster: its data folder, port and socket folder."""

    name: str
    data: Path
    port: int
    socket_dir: Path
    log: Path

    def dsn(self, db: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{db}"

    @property
    def pid_file(self) -> Path:
        return self.data / "postmaster.pid"

    def pid(self) -> int | None:
        """The postmaster's pid while it runs, else None."""
        try:
            pid = int(self.pid_file.read_text().split("\n", 1)[0])
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def _options(self) -> str:
        return (f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
                f"-c cluster_name=geoportal-{self.name}")

    def start(self, timeout: float = 60) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        _give_to_postgres(self.socket_dir)
        out = subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", str(int(timeout)),
                                          "-l", str(self.log), "-o", self._options(), "start"]),
                             capture_output=True, text=True)
        if out.returncode != 0:
            tail = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
            raise ServeError(f"PostgreSQL cluster '{self.name}' ({self.data}) did not start: "
                             f"{out.stderr.strip() or out.stdout.strip()}\n{tail}")

    def stop(self, mode: str = "fast") -> None:
        if self.pid() is None:
            return
        subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30",
                                    "stop"]), capture_output=True)


def init_primary(c: Cluster) -> bool:
    """``initdb`` a primary that accepts replication connections from this machine; False if it existed."""
    if (c.data / "PG_VERSION").exists():
        return False
    c.data.parent.mkdir(parents=True, exist_ok=True)
    _give_to_postgres(c.data.parent)
    out = subprocess.run(as_postgres([str(PG_BIN / "initdb"), "-D", str(c.data), "-A", "trust", "-U", SUPERUSER,
                                      "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync"]), capture_output=True, text=True)
    if out.returncode != 0:
        raise ServeError(f"initdb of the primary in {c.data} failed: {out.stderr.strip()[-800:]}")
    with open(c.data / "postgresql.conf", "a", encoding="utf-8") as fh:
        fh.write("\n# geoportal production (geoportal/deploy/postgres.py)\n"
                 "wal_level = replica\nmax_wal_senders = 10\nmax_replication_slots = 10\nhot_standby = on\n"
                 "wal_keep_size = '256MB'\nmax_connections = 200\nshared_buffers = '128MB'\n"
                 "synchronous_commit = on\nfsync = on\n")
    with open(c.data / "pg_hba.conf", "w", encoding="utf-8") as fh:  # loopback and the socket only
        fh.write("local all all trust\nhost all all 127.0.0.1/32 trust\nlocal replication all trust\n"
                 "host replication all 127.0.0.1/32 trust\n")
    return True


def init_replica(primary: Cluster, replica: Cluster) -> bool:
    """A hot standby of ``primary`` made with ``pg_basebackup -R`` (standby.signal + primary_conninfo),
    streaming through its own replication slot; False if it existed."""
    if (replica.data / "PG_VERSION").exists():
        return False
    replica.data.parent.mkdir(parents=True, exist_ok=True)
    _give_to_postgres(replica.data.parent)
    out = subprocess.run(as_postgres([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                                      "-U", SUPERUSER, "-D", str(replica.data), "-R", "-X", "stream", "-C", "-S",
                                      "geoportal_replica", "--no-sync", "-c", "fast"]),
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise ServeError(f"pg_basebackup of the replica into {replica.data} failed: {out.stderr.strip()[-800:]}")
    with open(replica.data / "postgresql.auto.conf", "a", encoding="utf-8") as fh:
        fh.write("hot_standby_feedback = on\n")  # the walreceiver names itself by cluster_name
    return True


def ensure_database(c: Cluster, db: str, postgis: bool) -> bool:
    """Create ``db`` on the cluster (with PostGIS when asked); False if it existed."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(c.dsn("postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    if postgis:
        with psycopg.connect(c.dsn(db), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return True


def read_dsn(replica: Cluster, primary: Cluster, db: str) -> str:
    """Reads from the replica, or from the primary while the replica is down (libpq multi-host)."""
    return (f"postgresql://{SUPERUSER}@127.0.0.1:{replica.port},127.0.0.1:{primary.port}/{db}"
            "?target_session_attrs=prefer-standby&connect_timeout=3")


def wait_caught_up(primary: Cluster, timeout: float = 60) -> None:
    """Until the replica has replayed everything the primary has written so far (after the build)."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(primary.dsn("postgres"), autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        while time.monotonic() < deadline:
            row = conn.execute("SELECT bool_and(replay_lsn >= %s::pg_lsn) FROM pg_stat_replication "
                               "WHERE application_name = 'geoportal-replica'", (target,)).fetchone()
            if row and row[0]:
                return
            time.sleep(0.2)
    raise ServeError(f"the replica has not caught up with the primary after {timeout:.0f} s; see {primary.log}")


def replication_status(primary_dsn: str) -> list[dict[str, object]]:
    """``pg_stat_replication`` of the primary: state and lag of each standby (what an operator watches)."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(primary_dsn, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT application_name, state, sync_state, sent_lsn::text, replay_lsn::text, "
            "pg_wal_lsn_diff(sent_lsn, replay_lsn) AS lag_bytes, "
            "extract(epoch FROM replay_lag)::float AS replay_lag_s FROM pg_stat_replication").fetchall()
