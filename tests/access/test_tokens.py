"""Tokens: real ES256 signatures with two nodes' keys; single sign-on from the oblast to a hromada; expired,
tampered, unknown-issuer and wrong-audience tokens refused with a typed 401 error."""

from __future__ import annotations

import base64
import json
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from access.config import Role
from access.errors import TokenError, TokenExpired, TokenMalformed, UnknownIssuer, WrongAudience
from access.rules import Policy
from access.tokens import NodeKey, Verifier, issue, jwks, node_issuer
from access.users import SQLiteUsers, User
from geoportal.config import NodeConfig, load_config

from .conftest import OBLAST, OLEVSK, OVRUCH, write_node

OBLAST_URL = "https://geo.zht.example"


def _node(
    tmp_path: Path, node_id: str, level: str, katotth: str, access: str, url: str | None = None
) -> tuple[NodeConfig, Path]:
    cfg = load_config(
        write_node(tmp_path / node_id, node_id=node_id, level=level, katotth=katotth, url=url, access=access)
    )
    return cfg, tmp_path / node_id / "ws"


def _trusting(jwks_where: str) -> str:
    return f"""
access:
  audience: zhytomyr-network
  trusted_issuers:
    - id: {OBLAST_URL}
      {jwks_where}
      roles: {{official: official, citizen: citizen, oblast-custodian: custodian}}
"""


@pytest.fixture
def oblast(tmp_path: Path) -> tuple[NodeConfig, Path]:
    return _node(
        tmp_path, "oblast", "oblast", OBLAST, "access: {audience: zhytomyr-network}\n", url=OBLAST_URL
    )


@pytest.fixture
def hromada(tmp_path: Path, oblast: tuple[NodeConfig, Path]) -> tuple[NodeConfig, Path]:
    (tmp_path / "oblast-jwks.json").write_text(json.dumps(jwks(oblast[1])), encoding="utf-8")
    return _node(tmp_path, "ovruch", "hromada", OVRUCH, _trusting("jwks_file: ../oblast-jwks.json"))


def _user(name: str, role: Role, org: str | None = None, datasets: tuple[str, ...] = ()) -> User:
    return User(name=name, role=role, organisation=org, datasets=datasets, password_hash="$argon2id$unused")


def test_a_node_verifies_its_own_tokens(tmp_path: Path) -> None:
    cfg, ws = _node(tmp_path, "ovruch", "hromada", OVRUCH, "access: {token_ttl: 600}\n")
    token, claims = issue(cfg, ws, _user("maria", Role.custodian, datasets=("wells",)))
    assert claims["iss"] == node_issuer(cfg) == "urn:geoportal:ovruch"
    assert claims["exp"] - claims["iat"] == 600 and claims["aud"] == "geoportal-network"
    p = Verifier(cfg, ws).verify(token)
    assert (p.name, p.roles, p.datasets, p.issuer) == ("maria", {Role.custodian}, {"wells"}, None)
    assert Policy.from_config(cfg).decide(p, "wells", "ogcapi", "write").effect == "allow"


def test_the_signing_key_is_private_and_the_jwks_public(tmp_path: Path) -> None:
    key_file = NodeKey(tmp_path).path
    doc = jwks(tmp_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    private = json.loads(key_file.read_text())
    (public,) = doc["keys"]
    assert "d" in private and "d" not in public and private["d"] not in json.dumps(doc)
    assert public["kid"] == private["kid"] and public["alg"] == "ES256"
    assert jwks(tmp_path) == doc  # generated once, then reused


def test_single_sign_on_oblast_token_at_a_hromada(
    oblast: tuple[NodeConfig, Path], hromada: tuple[NodeConfig, Path]
) -> None:
    token, _ = issue(*oblast, _user("ivan", Role.official, OVRUCH))
    p = Verifier(*hromada).verify(token)
    assert (p.name, p.roles, p.organisation, p.issuer) == ("ivan", {Role.official}, OVRUCH, OBLAST_URL)
    assert Policy.from_config(hromada[0]).decide(p, "plans", "ogcapi").effect == "allow"
    # the oblast's admins and custodians are nobody special at the hromada
    admin, _ = issue(*oblast, _user("boss", Role.admin))
    assert Verifier(*hromada).verify(admin).roles == {Role.anonymous}
    cust, _ = issue(*oblast, _user("maria", Role.custodian, datasets=("wells",)))
    assert Verifier(*hromada).verify(cust).datasets == frozenset()
    assert (
        Policy.from_config(hromada[0]).decide(Verifier(*hromada).verify(admin), "plans", "ogcapi").effect
        == "deny"
    )


def test_an_expired_token_is_refused(
    oblast: tuple[NodeConfig, Path], hromada: tuple[NodeConfig, Path]
) -> None:
    token, _ = issue(*oblast, _user("ivan", Role.official, OVRUCH), ttl=60, now=int(time.time()) - 3600)
    with pytest.raises(TokenExpired, match="token of 'ivan' expired") as ei:
        Verifier(*hromada).verify(token)
    assert ei.value.http_status == 401


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_tampered_token_is_refused(
    oblast: tuple[NodeConfig, Path], hromada: tuple[NodeConfig, Path]
) -> None:
    token, claims = issue(*oblast, _user("olena", Role.citizen))
    header, _, signature = token.split(".")
    forged = ".".join([header, _b64(claims | {"roles": ["official"], "org": OVRUCH}), signature])
    with pytest.raises(TokenMalformed, match="signature does not verify"):
        Verifier(*hromada).verify(forged)
    no_alg = ".".join([_b64({"alg": "none", "typ": "JWT"}), _b64(claims), ""])
    with pytest.raises(TokenMalformed, match="signed with 'none'"):
        Verifier(*hromada).verify(no_alg)
    with pytest.raises(TokenMalformed, match="not a JWT"):
        Verifier(*hromada).verify("Bearer nonsense")
    with pytest.raises(TokenMalformed, match="accepts up to 8192"):
        Verifier(*hromada).verify(token + "A" * 10_000)


def test_a_token_signed_by_another_key_claiming_the_oblast_is_refused(
    tmp_path: Path, hromada: tuple[NodeConfig, Path]
) -> None:
    impostor = _node(
        tmp_path,
        "impostor",
        "oblast",
        OBLAST,
        f"access: {{issuer: '{OBLAST_URL}', audience: zhytomyr-network}}\n",
    )
    token, claims = issue(*impostor, _user("ivan", Role.official, OVRUCH))
    assert claims["iss"] == OBLAST_URL
    with pytest.raises(TokenMalformed, match="not signed by that issuer"):
        Verifier(*hromada).verify(token)


def test_an_unknown_issuer_is_refused(tmp_path: Path, hromada: tuple[NodeConfig, Path]) -> None:
    olevsk = _node(tmp_path, "olevsk", "hromada", OLEVSK, "access: {audience: zhytomyr-network}\n")
    token, _ = issue(*olevsk, _user("petro", Role.official, OLEVSK))
    with pytest.raises(
        UnknownIssuer, match="issued by 'urn:geoportal:olevsk', which this node does not trust"
    ):
        Verifier(*hromada).verify(token)


def test_a_token_for_another_audience_is_refused(
    oblast: tuple[NodeConfig, Path], hromada: tuple[NodeConfig, Path]
) -> None:
    token, _ = issue(*oblast, _user("ivan", Role.official, OVRUCH), audience="kyiv-network")
    with pytest.raises(WrongAudience, match="meant for 'kyiv-network'"):
        Verifier(*hromada).verify(token)


def test_a_token_carries_the_users_current_rights_and_stops_when_disabled(tmp_path: Path) -> None:
    cfg, ws = _node(tmp_path, "ovruch", "hromada", OVRUCH, "")
    users = SQLiteUsers(ws / "access.db")
    users.add(_user("olena", Role.citizen))
    token, _ = issue(cfg, ws, users.require("olena"))
    assert Verifier(cfg, ws, users=users).verify(token).name == "olena"
    users.update("olena", role=Role.custodian, datasets=("wells",))  # what she may do now, not at issue time
    assert Verifier(cfg, ws, users=users).verify(token).custodian_of("wells")
    users.update("olena", role=Role.citizen, datasets=())
    assert Verifier(cfg, ws, users=users).verify(token).roles == {Role.citizen}
    users.update("olena", disabled=True)
    with pytest.raises(TokenMalformed, match="no longer active"):
        Verifier(cfg, ws, users=users).verify(token)


@pytest.fixture
def jwks_server(oblast: tuple[NodeConfig, Path]) -> Iterator[tuple[str, list[str], list[bytes]]]:
    body = [json.dumps(jwks(oblast[1])).encode()]
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            hits.append(self.path)
            self.send_response(200 if self.path == "/.well-known/jwks.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body[0])

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", hits, body
    finally:
        server.shutdown()
        server.server_close()


def test_the_issuers_jwks_is_read_over_http_and_cached(
    tmp_path: Path, oblast: tuple[NodeConfig, Path], jwks_server: tuple[str, list[str], list[bytes]]
) -> None:
    url, hits, _ = jwks_server
    hromada = _node(tmp_path, "ovruch", "hromada", OVRUCH, _trusting(f"jwks_url: {url}"))
    verifier = Verifier(*hromada)
    for name in ("ivan", "olena"):
        token, _ = issue(*oblast, _user(name, Role.citizen))
        assert verifier.verify(token).roles == {Role.citizen}
    assert hits == ["/.well-known/jwks.json"]
    broken = _node(
        tmp_path, "olevsk", "hromada", OLEVSK, _trusting(f"jwks_url: {url.replace('jwks', 'nothing')}")
    )
    token, _ = issue(*oblast, _user("ivan", Role.citizen))
    with pytest.raises(TokenError, match="cannot read the JWKS of a trusted issuer"):
        Verifier(*broken).verify(token)


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


def test_a_rotated_issuer_key_is_fetched_again_but_not_on_every_unknown_kid(
    tmp_path: Path,
    oblast: tuple[NodeConfig, Path],
    jwks_server: tuple[str, list[str], list[bytes]],
) -> None:
    url, hits, body = jwks_server
    hromada = _node(tmp_path, "ovruch", "hromada", OVRUCH, _trusting(f"jwks_url: {url}"))
    clock = Clock()
    verifier = Verifier(*hromada, clock=clock)
    old, _ = issue(*oblast, _user("ivan", Role.citizen))
    assert verifier.verify(old).name == "ivan" and len(hits) == 1
    NodeKey(oblast[1]).path.unlink()  # the oblast rotates its key and publishes the new JWKS
    body[0] = json.dumps(jwks(oblast[1])).encode()
    new, _ = issue(*oblast, _user("ivan", Role.citizen))
    with pytest.raises(TokenMalformed):  # within a minute of the last read: not fetched again
        verifier.verify(new)
    assert len(hits) == 1
    clock.t += 61
    assert verifier.verify(new).name == "ivan" and len(hits) == 2
    with pytest.raises(TokenMalformed):  # the old key is gone from the issuer's set
        verifier.verify(old)


def test_nested_claims_of_an_openid_connect_provider_are_mapped(
    tmp_path: Path, oblast: tuple[NodeConfig, Path]
) -> None:
    """A Keycloak-style token keeps its roles in ``realm_access.roles`` and the organisation in a nested
    attribute: an issuer's ``roles_claim``/``organisation_claim`` take dotted paths."""
    from joserfc import jwt

    from access.tokens import NodeKey

    (tmp_path / "oblast-jwks.json").write_text(json.dumps(jwks(oblast[1])), encoding="utf-8")
    trusting = f"""
access:
  audience: zhytomyr-network
  trusted_issuers:
    - id: {OBLAST_URL}
      jwks_file: ../oblast-jwks.json
      roles: {{hromada-official: official}}
      roles_claim: realm_access.roles
      organisation_claim: attributes.katotth
"""
    node = _node(tmp_path, "ovruch-kc", "hromada", OVRUCH, trusting)
    key = NodeKey(oblast[1]).load()
    now = int(time.time())
    claims = {"iss": OBLAST_URL, "sub": "olena", "aud": "zhytomyr-network", "iat": now, "nbf": now,
              "exp": now + 300, "realm_access": {"roles": ["hromada-official", "offline_access"]},
              "attributes": {"katotth": OVRUCH}}
    token = jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])
    p = Verifier(*node).verify(token)
    assert (p.name, p.roles, p.organisation) == ("olena", {Role.official}, OVRUCH)
    # the same roles at the top level are not read through the nested path's absence
    flat = jwt.encode({"alg": "ES256", "kid": key.kid}, {k: v for k, v in claims.items() if k != "realm_access"}
                      | {"roles": ["hromada-official"]}, key, algorithms=["ES256"])
    assert Verifier(*node).verify(flat).roles == {Role.anonymous}
