"""The audit log: entries chained by hash; editing, removing or truncating is caught at the first broken
entry."""

from __future__ import annotations

import json
import re
import stat
import threading
from pathlib import Path

import pytest

from access.audit import AuditLog, parse_since
from access.errors import AuditError


def _filled(tmp_path: Path, n: int = 5) -> AuditLog:
    log = AuditLog(tmp_path / "audit.log")
    for i in range(n):
        log.append(
            "user.added", actor="cli:root", address="local", user=f"u{i}", outcome="ok", role="citizen"
        )
    return log


def test_entries_are_chained_and_private(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    assert log.verify() == 5
    lines = [json.loads(x) for x in log.path.read_text(encoding="utf-8").splitlines()]
    assert [e["seq"] for e in lines] == [1, 2, 3, 4, 5]
    assert all(b["prev"] == a["hash"] for a, b in zip(lines, lines[1:], strict=False))
    assert {"at", "actor", "action", "address", "user"} <= set(lines[0])
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.head.stat().st_mode) == 0o600


def _edit(path: Path, lineno: int, change) -> None:  # type: ignore[no-untyped-def]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[lineno - 1 : lineno] = change(lines[lineno - 1])
    path.write_text("".join(lines), encoding="utf-8")


def test_an_edited_line_is_named(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    _edit(log.path, 3, lambda line: [line.replace('"user":"u2"', '"user":"mallory"')])
    with pytest.raises(
        AuditError, match=r"line 3 \(entry 3, user.added .*\): its content does not match its hash"
    ):
        log.verify()


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    from access.audit import _digest

    log = _filled(tmp_path)

    def forge(line: str) -> list[str]:
        e = json.loads(line)
        e["outcome"] = "failed"
        e["hash"] = _digest(e)
        return [json.dumps(e, separators=(",", ":")) + "\n"]

    _edit(log.path, 2, forge)
    with pytest.raises(AuditError, match=r"line 3 \(entry 3.*does not follow entry 2"):
        log.verify()


def test_a_removed_line_is_named(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    _edit(log.path, 2, lambda line: [])
    with pytest.raises(
        AuditError, match=r"line 2 \(entry 3.*does not follow entry 1 — an entry before it was removed"
    ):
        log.verify()


def test_removed_last_lines_are_caught_by_the_head(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    _edit(log.path, 5, lambda line: [])
    with pytest.raises(AuditError, match="ends at entry 4 but 5 were written"):
        log.verify()
    log.head.unlink()
    with pytest.raises(AuditError, match="audit.head: missing"):
        log.verify()


def test_garbage_is_named(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    _edit(log.path, 4, lambda line: ["this is not json\n"])
    with pytest.raises(AuditError, match="line 4: not a JSON entry"):
        log.verify()


def test_secrets_are_refused(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    with pytest.raises(AuditError, match="refusing to log password"):
        log.append("user.password", actor="cli:root", user="x", password="hunter2hunter2")
    assert not log.path.exists()


def test_query_by_user_dataset_and_time(tmp_path: Path) -> None:
    log = _filled(tmp_path, 3)
    log.append("access.decision", actor="u1", dataset="cadastre", outcome="deny", service="wfs")
    assert [e["seq"] for e in log.query(user="u1")] == [2, 4]
    assert [e["seq"] for e in log.query(dataset="cadastre")] == [4]
    assert log.query(since=parse_since("2999-01-01")) == []
    assert len(log.query(since=parse_since("2000-01-01T00:00"))) == 4
    with pytest.raises(AuditError, match="--since 'yesterday'"):
        parse_since("yesterday")


def _append_many(path: str, who: str, n: int) -> None:
    log = AuditLog(Path(path))
    for i in range(n):
        log.append("access.read", actor=who, dataset="d", durable=i % 7 == 0, n=i)


def _appending_threads(log: AuditLog, threads: int, n: int) -> list[threading.Thread]:
    """``threads`` started threads, each appending ``n`` reads to the one ``log`` object (gunicorn's
    gthread workers share it so)."""

    def many(who: str) -> None:
        for i in range(n):
            log.append("access.read", actor=who, dataset="d", durable=False, n=i)

    started = [threading.Thread(target=many, args=(f"thread{i}",)) for i in range(threads)]
    for t in started:
        t.start()
    return started


def test_appends_from_several_processes_keep_one_chain(tmp_path: Path) -> None:
    """gunicorn's workers append to one log: each process locks its own descriptor (a lock inherited across
    fork would be shared with the parent), so the chain stays whole and the head names its last entry."""
    import multiprocessing

    path = tmp_path / "audit.log"
    AuditLog(path).append("login", actor="before-fork")  # the parent holds its lock descriptor open
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(path), f"worker{i}", 150)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert AuditLog(path).verify() == 1 + 4 * 150
    head = json.loads((tmp_path / "audit.head").read_text(encoding="utf-8"))
    assert head["seq"] == 601


def test_a_head_written_before_the_fixed_width_one_is_read(tmp_path: Path) -> None:
    """A log whose head was written whole by an older version (no padding) goes on from it."""
    log = AuditLog(tmp_path / "audit.log")
    first = log.append("login", actor="a")
    (tmp_path / "audit.head").write_text(json.dumps({"seq": first["seq"], "hash": first["hash"]}), encoding="utf-8")
    log.append("login", actor="b")
    assert AuditLog(tmp_path / "audit.log").verify() == 2


def test_appends_from_several_threads_keep_one_chain(tmp_path: Path) -> None:
    """gunicorn's gthread workers append from several threads of one process, which share the process's lock
    descriptor — and ``flock`` does not exclude the holders of one descriptor from each other — so the
    threads of a process take turns on a lock of their own as well."""
    log = AuditLog(tmp_path / "audit.log")
    log.append("login", actor="first")  # the lock descriptor is open before the threads start
    for t in _appending_threads(log, 6, 150):
        t.join()
    assert AuditLog(tmp_path / "audit.log").verify() == 1 + 6 * 150


def test_a_log_removed_or_replaced_under_a_running_node_gets_the_next_entries(tmp_path: Path) -> None:
    """The node keeps its log's files open between entries; one removed (the workspace removed and made
    again) or replaced while it runs is opened anew, so no entry goes to a file that is gone."""
    import shutil

    ws = tmp_path / "ws"
    log = AuditLog(ws / "audit.log")
    log.append("login", actor="a")
    shutil.rmtree(ws)
    log.append("login", actor="b")
    assert [e["actor"] for e in AuditLog(ws / "audit.log").entries()] == ["b"]
    assert AuditLog(ws / "audit.log").verify() == 1
    copy = ws / "copy.log"
    shutil.copy(ws / "audit.log", copy)
    copy.replace(ws / "audit.log")  # e.g. restored from a backup
    log.append("login", actor="c")
    assert [e["actor"] for e in AuditLog(ws / "audit.log").entries()] == ["b", "c"]
    assert AuditLog(ws / "audit.log").verify() == 2


def test_a_log_moved_away_under_a_running_node_is_not_written_to_again(tmp_path: Path) -> None:
    """A log rotated by moving it (``mv audit.log audit.log.1``) while the node runs: the next entry goes to a
    new file at the log's path, never to the moved one."""
    log = AuditLog(tmp_path / "audit.log")
    log.append("login", actor="a")
    (tmp_path / "audit.log").rename(tmp_path / "audit.log.1")
    log.append("login", actor="b")
    assert [e["actor"] for e in AuditLog(tmp_path / "audit.log.1").entries()] == ["a"]
    assert [e["actor"] for e in AuditLog(tmp_path / "audit.log").entries()] == ["b"]


def test_two_writers_of_one_log_take_the_chain_from_each_other(tmp_path: Path) -> None:
    """A process keeps the end of the chain it wrote in memory and trusts it only while the log still has the
    size it left: entries of two writers (two workers, each with its own descriptors and lock) alternating
    one by one keep one chain, and each entry names the one before it, whoever wrote it."""
    a, b = AuditLog(tmp_path / "audit.log"), AuditLog(tmp_path / "audit.log")
    written = [(a if i % 3 else b).append("access.read", actor=f"w{i}", dataset="d", durable=False)
               for i in range(12)]
    assert [e["seq"] for e in written] == list(range(1, 13))
    assert all(y["prev"] == x["hash"] for x, y in zip(written, written[1:], strict=False))
    assert [e["hash"] for e in AuditLog(tmp_path / "audit.log").entries()] == [e["hash"] for e in written]
    assert AuditLog(tmp_path / "audit.log").verify() == 12
    at = written[0]["at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", at) and parse_since(at)


def test_a_log_cut_under_a_running_node_is_still_caught(tmp_path: Path) -> None:
    """The last entry removed while the node runs (the log shorter than the node left it): the node takes the
    chain's end from the head again, and verify names the gap instead of a chain that looks whole."""
    log = _filled(tmp_path, 3)
    _edit(log.path, 3, lambda line: [])
    log.append("access.read", actor="after", dataset="d", durable=False)
    with pytest.raises(AuditError, match=r"line 3 \(entry 4.*does not follow entry 2"):
        AuditLog(log.path).verify()


def test_a_log_rotated_while_threads_and_processes_append_loses_and_forks_nothing(tmp_path: Path) -> None:
    """The check that the log at the path is still the one written to is made under the lock, and a log
    moved away is opened anew and locked again: with threads of one process and another process appending
    while the log is rotated twice, every entry is in exactly one of the files, and the files read one after
    the other are one chain, which the head ends."""
    import multiprocessing
    import time

    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.append("login", actor="first")
    other = multiprocessing.get_context("fork").Process(target=_append_many, args=(str(path), "process", 600))
    other.start()
    threads = _appending_threads(log, 3, 600)
    for n in (1, 2):  # rotated twice while the writers are at it
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if path.stat().st_size > 40_000:
                    break
            except FileNotFoundError:
                pass
        path.rename(tmp_path / f"audit.log.{n}")
    for t in threads:
        t.join()
    other.join()
    assert other.exitcode == 0
    whole = tmp_path / "whole" / "audit.log"
    whole.parent.mkdir()
    whole.write_bytes(b"".join((tmp_path / name).read_bytes() for name in ("audit.log.1", "audit.log.2", "audit.log")))
    (whole.parent / "audit.head").write_bytes((tmp_path / "audit.head").read_bytes())
    assert AuditLog(whole).verify() == 1 + 600 + 3 * 600
    assert all((tmp_path / name).stat().st_size for name in ("audit.log.1", "audit.log.2"))
