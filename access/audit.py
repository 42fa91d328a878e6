"""The audit log: an append-only JSON-lines file in the workspace, each entry chained to the previous one.

Every entry carries ``prev`` (the hash of the entry before it) and ``hash`` (SHA-256 of its own canonical
JSON without ``hash``), so editing or removing a line breaks the chain at that line. A small head file
(``audit.head``) remembers the last sequence number and hash, so removing the *last* lines is caught too.
:meth:`AuditLog.verify` names the first broken entry. Both files are mode 0600; appends from several
processes are serialised with ``flock``, and from several threads of one process by a lock of the process
(``flock`` does not exclude threads that share the process's descriptor from each other). Entries never hold a password or a token: callers pass what
happened (who, when, what, from where), and :meth:`AuditLog.append` refuses secret-looking detail keys.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from access.errors import AuditError

GENESIS = "0" * 64
_SECRET_KEYS = frozenset(
    {"password", "passwd", "token", "secret", "private_key", "key", "hash", "password_hash"}
)


#: one encoder for every entry (``json.dumps`` with these options makes a new one per call)
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_encode_str = json.encoder.encode_basestring  # what _ENCODER writes a string as


def _canonical(body: dict[str, Any]) -> str:
    return _ENCODER.encode(body)


def _value(v: Any) -> str:
    """One value of an entry as :func:`_canonical` writes it."""
    if v is None:
        return "null"
    return _encode_str(v) if type(v) is str else _ENCODER.encode(v)


_second: list[tuple[int, str]] = [(-1, "")]  # (a second, its text): replaced whole, read whole by any thread


def _now() -> str:
    """The time of an entry, as ``datetime.now(timezone.utc).isoformat(timespec="milliseconds")`` writes it;
    the date and time of day are formatted once a second."""
    sec, ns = divmod(time.time_ns(), 1_000_000_000)
    cached = _second[0]
    if cached[0] != sec:
        cached = _second[0] = (sec, datetime.fromtimestamp(sec, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{cached[1]}.{ns // 1_000_000:03d}+00:00"


def _digest(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(
        _canonical(body).encode("utf-8")
    ).hexdigest()


#: the head's fixed width: ``{"seq": …, "hash": …}`` padded with spaces, rewritten in place
HEAD_SIZE = 160


def _head_record(seq: int, digest: str) -> bytes:
    return f'{{"seq": {int(seq)}, "hash": "{digest}"}}'.encode().ljust(HEAD_SIZE - 1) + b"\n"


def parse_since(text: str) -> datetime:
    """``2026-11-24`` or ``2026-11-24T10:00`` (UTC when no offset is given)."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise AuditError(
            f"--since '{text}': write a date or time as 2026-11-24 or 2026-11-24T10:00"
        ) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


class AuditLog:
    """The node's audit log at ``<workspace>/audit.log`` (and its head, ``audit.head``)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.head = self.path.with_suffix(".head")
        self.lock = self.path.with_suffix(".lock")
        # (pid, lock, head, log descriptors, the log's inode and device when it was opened)
        self._fds: tuple[int, int, int, int, int, int] | None = None
        # the threads of one process (gunicorn's gthread workers) share those descriptors, and a flock held
        # through one does not keep another of them out: they take turns here first
        self._threads = threading.Lock()
        # (the log's size after this process's last entry, that entry's seq and hash): the chain's end as long
        # as the log still has that size (see _append_locked); None: read it from the head
        self._tail: tuple[int, int, str] | None = None

    def append(
        self,
        action: str,
        *,
        actor: str,
        address: str | None = None,
        user: str | None = None,
        dataset: str | None = None,
        outcome: str | None = None,
        durable: bool = True,
        **detail: Any,
    ) -> dict[str, Any]:
        """Append one entry and return it: ``actor`` did ``action`` (to ``user``/``dataset``) from
        ``address``. ``durable=False`` (the reads of restricted data, one per request) leaves the entry to
        the kernel instead of waiting for the disk: a crash may lose the last reads, never a change or a
        login, and the chain stays checkable (``verify`` then names where the log ends). Either way the entry
        is in the log (written to the file, which every reader of it sees) when this returns."""
        secret = _SECRET_KEYS & {k.lower() for k in detail}
        if secret:
            raise AuditError(
                f"audit entry '{action}': refusing to log {', '.join(sorted(secret))}; "
                "log what happened, never the secret"
            )
        detail = detail or {}
        # the canonical JSON of the entry in sorted key order, built before the lock from the parts that do
        # not depend on the log: only the time, ``prev`` and ``seq`` are filled in under it (the lock is
        # shared by all the node's workers, so what is done while holding it is what they wait for)
        before = f'{{"action":{_value(action)},"actor":{_value(actor)},"address":{_value(address)},"at":"'
        after = (f'","dataset":{_value(dataset)},"detail":{_ENCODER.encode(detail)},'
                 f'"outcome":{_value(outcome)},"prev":"')
        last = f',"user":{_value(user)}}}'
        with self._threads:
            at, seq, prev, digest = self._append_locked(before, after, last, durable)
        return {"seq": seq, "at": at, "actor": actor, "action": action, "user": user, "dataset": dataset,
                "address": address, "outcome": outcome, "detail": detail, "prev": prev, "hash": digest}

    def _append_locked(self, before: str, after: str, last: str, durable: bool) -> tuple[str, int, str, str]:
        """Under the lock: continue the chain from its last entry, write the line and the head. The last
        entry is known without reading the head when the log at the log's path is still the file this process
        wrote to last and has the size it left it with (one ``stat`` by name, which also tells whether the log
        was removed, replaced or moved away: while this process holds the file open its inode cannot be
        reused, so the same inode at the path is the same file). Anything else — another worker appended,
        the log was cut or replaced — reads the head as before."""
        lock_fd, head_fd, log_fd = self._files()
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            try:
                for _ in range(3):
                    try:
                        named = os.stat(self.path)
                    except FileNotFoundError:
                        named = None
                    fds = self._fds
                    if named is not None and fds is not None and (fds[4], fds[5]) == (named.st_ino, named.st_dev):
                        break
                    # removed, replaced or moved away: open the files at their paths and lock anew
                    fcntl.flock(lock_fd, fcntl.LOCK_UN)
                    self._close()
                    lock_fd = -1
                    lock_fd, head_fd, log_fd = self._files()
                    fcntl.flock(lock_fd, fcntl.LOCK_EX)
                else:
                    raise OSError(errno.ESTALE, "the log keeps being replaced while it is written")
                tail = self._tail
                if tail is not None and tail[0] == named.st_size:
                    seq, prev = tail[1], tail[2]
                else:
                    seq, prev = self._last(head_fd)
                seq += 1
                at = _now()
                body = f"{before}{at}{after}{prev}\",\"seq\":{seq}{last}".encode("utf-8")
                digest = hashlib.sha256(body).hexdigest()
                line = b"".join((body[:-1], b',"hash":"', digest.encode("ascii"), b'"}\n'))
                self._tail = None
                written = os.write(log_fd, line)
                if written != len(line):
                    raise OSError(errno.ENOSPC, f"only {written} of {len(line)} bytes of the entry were written")
                # the chain goes on from this entry even if the head cannot be written below
                self._tail = (named.st_size + written, seq, digest)
                if durable:
                    os.fsync(log_fd)
                # the head is rewritten in place, one record of fixed width within one block: no temporary
                # file and rename per entry (a rename per read of restricted data cost more than the read)
                os.pwrite(head_fd, _head_record(seq, digest), 0)
                if durable:
                    os.fsync(head_fd)
                return at, seq, prev, digest
            finally:
                if lock_fd >= 0:
                    fcntl.flock(lock_fd, fcntl.LOCK_UN)
        except OSError as e:
            raise AuditError(
                f"{self.path}: cannot append to the audit log ({e.strerror}); check the "
                "workspace's permissions and free space"
            ) from e

    def _files(self) -> tuple[int, int, int]:
        """The descriptors of the lock file, the head and the log, opened once per process: a read of
        restricted data appends an entry per request, and opening two files by name for each cost more than
        the rest of the entry. ``flock`` locks belong to an open file, so descriptors inherited across
        ``fork`` (gunicorn's workers) would share their parent's lock — a process opens its own. Whether the
        log at the log's path is still the opened one is checked under the lock (:meth:`_append_locked`): a
        file removed since (the workspace removed and made again, the log replaced) is opened anew, and so is
        a log moved away (rotated): an entry never goes to a file that is no longer at the log's path."""
        pid, fds = os.getpid(), self._fds
        if fds is not None and fds[0] == pid:
            return fds[1], fds[2], fds[3]
        self._fds = None  # a parent's descriptors are its own: this process opens its files anew
        self._tail = None
        opened: list[int] = []
        try:
            for path, flags in ((self.lock, os.O_RDWR), (self.head, os.O_RDWR),
                                (self.path, os.O_WRONLY | os.O_APPEND)):
                try:
                    opened.append(os.open(path, flags | os.O_CREAT, 0o600))
                except FileNotFoundError:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    opened.append(os.open(path, flags | os.O_CREAT, 0o600))
        except OSError as e:
            for fd in opened:
                os.close(fd)
            raise AuditError(f"{self.path}: cannot append to the audit log ({e.strerror}); check the "
                             "workspace's permissions and free space") from e
        log = os.fstat(opened[2])
        self._fds = (pid, opened[0], opened[1], opened[2], log.st_ino, log.st_dev)
        return opened[0], opened[1], opened[2]

    def _close(self) -> None:
        """Close this process's descriptors (those inherited from a parent are its copies: closing them here
        leaves the parent's lock alone)."""
        fds, self._fds, self._tail = self._fds, None, None
        for fd in fds[1:4] if fds is not None else ():
            try:
                os.close(fd)
            except OSError:
                pass

    def __del__(self) -> None:
        fds = getattr(self, "_fds", None)
        if fds is not None and fds[0] == os.getpid():
            self._close()

    def check_writable(self) -> "AuditLog":
        """Fail before a change, not after it: a change that cannot be recorded is not made."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for path in (self.path, self.lock):
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600))
        except OSError as e:
            raise AuditError(
                f"{self.path}: the audit log cannot be written ({e.strerror}); nothing was changed — fix the "
                "workspace's permissions first"
            ) from None
        return self

    def _last(self, head_fd: int) -> tuple[int, str]:
        """Sequence number and hash of the last entry: from the head, else (a new log, or one written before
        the head existed) from the log's last line."""
        text = os.pread(head_fd, HEAD_SIZE, 0).decode("utf-8", "replace").strip()
        if text:
            h = json.loads(text)
            return int(h["seq"]), str(h["hash"])
        lines = [line for _, line in self._lines()]
        if not lines:
            return 0, GENESIS
        entry = json.loads(lines[-1])
        return int(entry["seq"]), str(entry["hash"])

    def _lines(self) -> Iterator[tuple[int, str]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                yield n, line.rstrip("\n")

    def entries(self) -> Iterator[dict[str, Any]]:
        for n, line in self._lines():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                raise AuditError(
                    f"{self.path}: line {n} is not a JSON entry; run 'geoportal audit --verify'"
                ) from None

    def query(
        self, user: str | None = None, dataset: str | None = None, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Entries about ``user`` (as actor or subject), ``dataset``, at or after ``since``, oldest first."""
        out = []
        for e in self.entries():
            if user is not None and user not in (e.get("user"), e.get("actor")):
                continue
            if dataset is not None and e.get("dataset") != dataset:
                continue
            if since is not None and datetime.fromisoformat(e["at"]) < since:
                continue
            out.append(e)
        return out

    def verify(self) -> int:
        """Check the whole chain: the number of entries, or :class:`AuditError` naming the first broken
        one."""
        prev, seq = GENESIS, 0
        for n, line in self._lines():
            where = f"{self.path}: line {n}"
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict):
                    raise ValueError
            except ValueError:
                raise AuditError(
                    f"{where}: not a JSON entry — the log was edited; the chain is broken from here"
                ) from None
            where += f" (entry {entry.get('seq')}, {entry.get('action')} at {entry.get('at')})"
            if entry.get("seq") != seq + 1 or entry.get("prev") != prev:
                raise AuditError(
                    f"{where}: does not follow entry {seq} — an entry before it was removed or "
                    "reordered; the chain is broken from here"
                )
            if entry.get("hash") != _digest(entry):
                raise AuditError(f"{where}: its content does not match its hash — the entry was edited")
            prev, seq = entry["hash"], entry["seq"]
        head = self.head.read_text(encoding="utf-8").strip() if self.head.exists() else ""
        if head:
            h = json.loads(head)
            if int(h["seq"]) != seq or h["hash"] != prev:
                raise AuditError(
                    f"{self.path}: the log ends at entry {seq} but {h['seq']} were written — "
                    f"the last {int(h['seq']) - seq} entries were removed or replaced"
                )
        elif seq:
            raise AuditError(
                f"{self.head}: missing while the log has {seq} entries — it was removed; the end of "
                "the log cannot be checked"
            )
        return seq


def cli_actor() -> str:
    """Who runs a CLI command: the operating-system user, as ``cli:NAME``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def record_change(root: Path, action: str, *, dataset: str | None = None, **detail: Any) -> dict[str, Any]:
    """Append a change of the node's data or rules made outside the web (ingest, rollback, a new set of
    access rules) to the workspace's audit log: the actor is ``$GEOPORTAL_ACTOR`` when a scheduler or a
    deployment names who it runs for, else the operating-system user (:func:`cli_actor`)."""
    actor = os.environ.get("GEOPORTAL_ACTOR") or cli_actor()
    return AuditLog(Path(root) / "audit.log").append(action, actor=actor, address="local", dataset=dataset,
                                                     outcome="ok", **detail)
