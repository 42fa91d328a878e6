"""NodeAccess, the object the services will call: header → principal → decision, login → token."""

from __future__ import annotations

from pathlib import Path

import pytest

from access.config import Role
from access.errors import AccessError, BadCredentials, TokenMalformed
from access.node import NodeAccess
from access.passwords import hash_password
from access.principal import ANONYMOUS
from access.users import User
from geoportal.config import load_config

from .conftest import OVRUCH, write_node

PASSWORD = "довгий-пароль-посадовця"


@pytest.fixture
def acc(tmp_path: Path) -> NodeAccess:
    node = NodeAccess(load_config(write_node(tmp_path / "node")), tmp_path / "ws")
    node.users.add(
        User(name="ivan", role=Role.official, organisation=OVRUCH, password_hash=hash_password(PASSWORD))
    )
    return node


def test_login_then_bearer_then_decision(acc: NodeAccess) -> None:
    principal, token = acc.login("ivan", PASSWORD, "192.0.2.7")
    assert principal.organisation == OVRUCH
    caller = acc.principal(f"Bearer {token}")
    assert caller == principal
    d = acc.decide(caller, "cadastre", "wms", "GetMap", address="192.0.2.7")
    assert d.effect == "limit" and d.limits is not None and d.limits.area is not None
    assert d.limits.area.katotth == OVRUCH
    actions = [(e["action"], e["address"], e["outcome"]) for e in acc.audit.entries()]
    assert actions == [
        ("login", "192.0.2.7", "ok"),
        ("token.issued", "192.0.2.7", "ok"),
        ("access.decision", "192.0.2.7", "limit"),
    ]
    assert token not in acc.audit.path.read_text(encoding="utf-8")


def test_no_header_is_anonymous_and_a_bad_one_is_refused(acc: NodeAccess) -> None:
    assert acc.principal(None) == ANONYMOUS and acc.principal("  ") == ANONYMOUS
    assert acc.decide(ANONYMOUS, "cadastre", "ogcapi").effect == "deny"
    for header in ("Basic aXZhbjpwdw==", "Bearer", "Bearer not-a-jwt"):
        with pytest.raises(TokenMalformed) as ei:
            acc.principal(header)
        assert ei.value.http_status == 401
    with pytest.raises(BadCredentials):
        acc.login("ivan", "wrong-password-here", "192.0.2.7")


def test_a_signing_key_readable_by_others_is_refused(acc: NodeAccess) -> None:
    acc.jwks()
    key = acc.root / "keys" / "signing.jwk.json"
    key.chmod(0o644)
    with pytest.raises(AccessError, match="readable by other users; run 'chmod 600"):
        acc.jwks()
