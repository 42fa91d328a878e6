"""The small parts of the access front: header merging, Basic decoding, cookies, and deny()."""

from __future__ import annotations

import base64

import pytest

from access.errors import BadCredentials
from access.principal import ANONYMOUS, Principal
from access.config import Role
from access.web import PRINCIPAL
from geoportal.access_front import (
    NO_CHALLENGE,
    add_vary,
    decode_basic,
    deny,
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
