"""Server-side sessions and CSRF tokens (access.sessions), on real files in a temporary workspace."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from access.errors import AccessError
from access.sessions import RequestCsrf, SessionSecret, SessionStore, csrf_token


def test_a_session_lives_until_its_expiry_and_only_its_hash_is_stored(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions.db")
    raw, s = store.create("alice", ttl=600, now=1000.0)
    assert store.get(raw, now=1599.0) == s and s.user == "alice"
    assert store.get(raw, now=1600.0) is None  # expired
    assert raw.encode() not in (tmp_path / "sessions.db").read_bytes()
    assert stat.S_IMODE(os.stat(tmp_path / "sessions.db").st_mode) == 0o600


def test_revoked_sessions_are_gone_for_every_worker(tmp_path: Path) -> None:
    a, b = SessionStore(tmp_path / "s.db"), SessionStore(tmp_path / "s.db")  # two workers, one file
    raw, _ = a.create("alice", ttl=600)
    other, _ = a.create("alice", ttl=600)
    kept, _ = a.create("bohdan", ttl=600)
    assert b.revoke(raw) and not b.revoke(raw)
    assert a.get(raw) is None and a.get(other) is not None
    assert b.revoke_user("alice") == 1
    assert a.get(other) is None and a.get(kept) is not None


@pytest.mark.parametrize("raw", ["", "x" * 1000, "\udcff", "'; DROP TABLE sessions; --"])
def test_garbage_cookie_values_are_no_session(tmp_path: Path, raw: str) -> None:
    assert SessionStore(tmp_path / "s.db").get(raw) is None


def test_the_secret_is_made_once_private_and_refused_when_readable(tmp_path: Path) -> None:
    first = SessionSecret(tmp_path).load()
    assert SessionSecret(tmp_path).load() == first and len(first) >= 32
    path = tmp_path / "keys" / "session.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    with pytest.raises(AccessError, match="chmod 600"):
        SessionSecret(tmp_path).load()


def test_csrf_tokens_are_bound_to_their_session() -> None:
    secret = b"s" * 32
    mine = RequestCsrf(secret, "s:abc")
    assert mine.valid(csrf_token(secret, "s:abc"))
    assert not mine.valid(csrf_token(secret, "s:abd"))  # another session's token
    assert not mine.valid(csrf_token(b"t" * 32, "s:abc"))  # another node's
    assert not mine.valid("") and not mine.valid(None)
    fresh = RequestCsrf(secret, "p:new", new_binding=True)
    assert not fresh.valid(fresh.token)  # a binding made in this request was in no earlier form
    assert fresh.issued
