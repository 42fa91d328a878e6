"""The small parts of the access front: header merging, Basic decoding, cookies, and deny()."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Callable

import pytest

from access.errors import BadCredentials
from access.principal import ANONYMOUS, Principal
from access.config import Role
from access.web import PRINCIPAL
from geoportal.access_front import (
    NO_CHALLENGE,
    BasicCache,
    add_vary,
    decode_basic,
    deny,
    logged_in_cache_control,
    parse_cookies,
    private_cache_control,
)


@pytest.mark.parametrize("given, expected", [
    (None, "private, no-cache"),
    ("public, max-age=3600", "private, max-age=3600"),
    ("max-age=60, s-maxage=600", "private, max-age=60"),
    ("no-store", "no-store"),
    ("private, max-age=5", "private, max-age=5"),
    ("PUBLIC, no-store", "private, no-store"),
])
def test_private_cache_control(given: str | None, expected: str) -> None:
    assert private_cache_control(given) == expected


@pytest.mark.parametrize("given, expected", [
    (None, "private, no-store"),
    ("public, max-age=3600", "private, no-store"),
    ("private, max-age=5", "private, no-store"),
    ("no-cache", "private, no-store"),
    ("no-store", "no-store"),
    ("PUBLIC, no-store", "private, no-store"),
])
def test_an_answer_to_someone_logged_in_is_never_stored(given: str | None, expected: str) -> None:
    """Not only private: QGIS's own cache ignores Vary, and would give a user's answer to anonymous."""
    assert logged_in_cache_control(given) == expected


def test_vary_is_merged_not_replaced() -> None:
    assert add_vary(None) == "Authorization, Cookie"
    assert add_vary("Accept-Encoding") == "Accept-Encoding, Authorization, Cookie"
    assert add_vary("cookie, Accept") == "cookie, Accept, Authorization"
    assert add_vary("*") == "*"


def test_basic_credentials() -> None:
    enc = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    assert decode_basic(enc("alice:pa:ss word")) == ("alice", "pa:ss word")
    assert decode_basic(enc("олена:пароль")) == ("олена", "пароль")
    assert decode_basic(base64.b64encode("ivan:p\xe4ss".encode("latin-1")).decode()) == ("ivan", "p\xe4ss")
    for bad in ("%%%", enc("no colon"), enc(":only-password"), "", enc("a\x01b:x")):
        with pytest.raises(BadCredentials):
            decode_basic(bad)


def test_cookies_survive_one_bad_pair() -> None:
    assert parse_cookies('junk; gp_session_x=abc; "q=1; gp_session_x=second; y="v"') == {
        "gp_session_x": "abc", '"q': "1", "y": "v"}


def call(principal: Principal, accept: str = "") -> tuple[str, dict[str, str], bytes, dict]:
    environ = {PRINCIPAL: principal, "HTTP_ACCEPT": accept, "PATH_INFO": "/downloads/cadastre.gpkg",
               "QUERY_STRING": "a=1&b=2"}
    seen: dict = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        seen.update(status=status, headers=dict(headers))

    body = b"".join(deny(environ, start, "cadastre is open to the officials of Ovruch only"))
    return seen["status"], seen["headers"], body, environ


def test_deny_asks_anonymous_to_log_in_and_refuses_the_known() -> None:
    status, headers, body, env = call(ANONYMOUS)
    assert status.startswith("401") and body == b"cadastre is open to the officials of Ovruch only\n"
    assert NO_CHALLENGE not in env  # the front adds the Basic challenge for tools
    status, headers, body, env = call(ANONYMOUS, "text/html,application/xhtml+xml")
    assert status.startswith("401") and env[NO_CHALLENGE]
    assert b'href="/login?next=%2Fdownloads%2Fcadastre.gpkg%3Fa%3D1%26b%3D2"' in body
    status, _, _, _ = call(Principal("alice", frozenset({Role.citizen})))
    assert status.startswith("403")


PASSWORD_OF_TEST = "a password of the test 1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_basic_credential_is_kept_while_it_is_used_and_checked_again_after_max_age() -> None:
    clock = Clock()
    cache = BasicCache(seconds=60, max_age=3600, clock=clock)
    qgis = Principal("qgis", frozenset({Role.citizen}))
    mac = cache.mac("cWdpczpwdw==")
    assert mac != cache.mac("cWdpczpvdGhlcg==") and len(mac) == 32
    assert BasicCache().mac("cWdpczpwdw==") != mac  # a key of its own per process
    cache.put(mac, "qgis", "stamp-1", "the user", qgis)
    assert cache.get(cache.mac("cWdpczpvdGhlcg==")) is None
    for _ in range(10):  # a client drawing tiles for ten minutes, a request every 50 s
        clock.now += 50
        assert cache.get(mac) == ("qgis", "stamp-1", "the user", qgis)
    clock.now += 61  # a minute unused: forgotten
    assert cache.get(mac) is None
    cache.put(mac, "qgis", "stamp-1", "the user", qgis)
    logged_in = clock.now
    while cache.get(mac) is not None:  # in use for an hour: checked (and audited) again
        clock.now += 50
        if clock.now - logged_in == 1000:
            cache.put(mac, "qgis", "stamp-1", "the user re-read", qgis)  # a refresh keeps the login time
    assert 3600 < clock.now - logged_in <= 3650
    cache.put(mac, "qgis", "stamp-1", "the user", qgis)
    cache.forget("qgis")
    assert cache.get(mac) is None


def test_threads_bringing_one_new_basic_pair_share_one_password_check(tmp_path: Path) -> None:
    """A WMS client opening several connections at once sends the same credentials on each: one argon2 check
    and one audited login, not one per thread (each costs ~0.15 s of CPU)."""
    import threading

    from access.audit import AuditLog
    from access.node import NodeAccess
    from access.passwords import hash_password
    from access.users import User
    from access.web import principal_of
    from geoportal.access_front import AccessFront
    from geoportal.config import load_config
    from tests.conftest import DEMO_CONFIG

    access = NodeAccess(load_config(DEMO_CONFIG), tmp_path)
    access.users.add(User("qgis", Role.citizen, hash_password(PASSWORD_OF_TEST)))

    def app(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [principal_of(environ).name.encode()]

    front = AccessFront(app, access, "test-node")
    auth = "Basic " + base64.b64encode(f"qgis:{PASSWORD_OF_TEST}".encode()).decode()
    start = threading.Barrier(6)
    answers: list[bytes] = []

    def client() -> None:
        start.wait()
        env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "HTTP_AUTHORIZATION": auth, "REMOTE_ADDR": "127.0.0.1"}
        answers.append(b"".join(front(env, lambda *a: None)))

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [b"qgis"] * 6
    logins = [e for e in AuditLog(tmp_path / "audit.log").entries() if e["action"] == "login"]
    assert [(e["user"], e["outcome"]) for e in logins] == [("qgis", "ok")]
