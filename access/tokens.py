"""Tokens: the node's signing key, its JWKS, and signed JWTs (joserfc) that other nodes can verify.

Each node signs with its own EC P-256 key (ES256), generated on first use and kept in the workspace
(``keys/signing.jwk.json``, mode 0600, never printed). :func:`jwks` is the public half, served at
``/.well-known/jwks.json``. A token carries ``iss`` (the node), ``sub`` (the user), ``aud`` (the network),
``exp``/``iat``/``nbf``/``jti`` and the claims the rules need: ``roles``, ``org`` (KATOTTH), ``datasets``.

Single sign-on: a hromada node that lists the oblast node in ``access.trusted_issuers`` accepts the oblast's
tokens; the issuer's role names are mapped to local roles through that entry (unmapped roles are dropped, so
a foreign admin is nobody special here), and custodianship never travels — dataset ids are local.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    DecodeError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
)
from joserfc.jwk import ECKey, KeySet

from access.config import KATOTTH_RE, AccessConfig, Issuer, Role
from access.errors import (
    AccessError,
    TokenError,
    TokenExpired,
    TokenMalformed,
    UnknownIssuer,
    UserError,
    WrongAudience,
)
from access.principal import Principal
from access.secret_files import create_private, require_private
from access.users import User, UserRepository

ALGORITHMS = ["ES256", "ES384", "RS256", "PS256", "EdDSA"]  # asymmetric only: no shared secrets, no "none"
LEEWAY = 30
MAX_TOKEN = 8192
MIN_REFRESH = 60.0


def _access(cfg: Any) -> AccessConfig:
    return getattr(cfg, "access", None) or AccessConfig()


def node_issuer(cfg: Any) -> str:
    """This node's ``iss``: ``access.issuer``, else its public URL, else ``urn:geoportal:<node id>``."""
    acc = _access(cfg)
    if acc.issuer:
        return acc.issuer
    if cfg.node.url:
        return str(cfg.node.url).rstrip("/")
    return f"urn:geoportal:{cfg.node.id}"


class NodeKey:
    """The node's private signing key in ``<workspace>/keys/signing.jwk.json``."""

    def __init__(self, workspace_root: Path):
        self.path = Path(workspace_root) / "keys" / "signing.jwk.json"

    def load(self) -> ECKey:
        """The key, generated (and written with mode 0600) the first time it is needed."""
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self.path.parent, 0o700)
            key = ECKey.generate_key(
                "P-256", parameters={"use": "sig", "alg": "ES256"}, private=True, auto_kid=True
            )
            create_private(self.path, json.dumps(key.as_dict(private=True)).encode())
        require_private(self.path, "signing key",
                        "and consider the key leaked: move it away to generate a new one")
        try:
            return ECKey.import_key(json.loads(self.path.read_text(encoding="utf-8")))
        except (ValueError, JoseError) as e:
            raise AccessError(
                f"{self.path}: not a usable signing key ({e}); move it away to generate a new one "
                "(tokens issued with it stop verifying)"
            ) from e


def jwks(workspace_root: Path) -> dict[str, Any]:
    """The node's public JWKS document (what ``/.well-known/jwks.json`` serves). No private part."""
    return dict(KeySet([NodeKey(workspace_root).load()]).as_dict(private=False))


def issue(
    cfg: Any,
    workspace_root: Path,
    user: User,
    ttl: int | None = None,
    audience: str | None = None,
    now: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """A signed token for ``user`` and its claims. Refused for a disabled user."""
    if user.disabled:
        raise UserError(f"user '{user.name}' is disabled; enable them before issuing a token")
    acc = _access(cfg)
    key = NodeKey(workspace_root).load()
    iat = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": node_issuer(cfg),
        "sub": user.name,
        "aud": audience or acc.audience,
        "iat": iat,
        "nbf": iat,
        "exp": iat + (ttl or acc.token_ttl),
        "jti": uuid.uuid4().hex,
        "roles": [user.role.value],
    }
    if user.organisation:
        claims["org"] = user.organisation
    if user.datasets:
        claims["datasets"] = list(user.datasets)
    token = jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])
    return token, claims


JwksFetcher = Callable[[str], dict[str, Any]]


def fetch_jwks_url(url: str) -> dict[str, Any]:
    import requests

    try:
        r = requests.get(url, timeout=10, headers={"Accept": "application/json"})
        r.raise_for_status()
        return dict(r.json())
    except (requests.RequestException, ValueError) as e:
        raise TokenError(
            f"cannot read the JWKS of a trusted issuer at {url} ({e}); the token cannot be "
            "checked — try again later"
        ) from e


class Verifier:
    """Checks bearer tokens for one node: its own and those of the issuers its config trusts.

    ``users``, when given, is asked about tokens this node issued: a user disabled since is refused.
    JWKS read from URLs are cached for ``cache_seconds`` and re-read once when a key id is unknown."""

    def __init__(
        self,
        cfg: Any,
        workspace_root: Path,
        users: UserRepository | None = None,
        fetch: JwksFetcher = fetch_jwks_url,
        cache_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
    ):
        self.cfg, self.root, self.users, self.fetch = cfg, Path(workspace_root), users, fetch
        self.acc = _access(cfg)
        self.issuer = node_issuer(cfg)
        self.cache_seconds, self.clock = cache_seconds, clock
        self._cache: dict[str, tuple[float, KeySet]] = {}

    def _keys(self, iss: str, trusted: Issuer | None, refresh: bool = False) -> KeySet:
        if trusted is None:
            return KeySet([NodeKey(self.root).load()])
        where = trusted.jwks_location
        cached = self._cache.get(where)
        if cached and not refresh and self.clock() - cached[0] < self.cache_seconds:
            return cached[1]
        if trusted.jwks_file:
            path = (
                self.cfg.resolve(trusted.jwks_file)
                if hasattr(self.cfg, "resolve")
                else Path(trusted.jwks_file)
            )
            try:
                doc = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise TokenError(f"{path}: the JWKS of trusted issuer '{iss}' cannot be read ({e})") from e
        else:
            doc = self.fetch(where)
        try:
            keys = KeySet.import_key_set(doc)  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError, JoseError) as e:
            raise TokenError(f"the JWKS of trusted issuer '{iss}' at {where} is not a key set ({e})") from e
        self._cache[where] = (self.clock(), keys)
        return keys

    def _may_refresh(self, trusted: Issuer) -> bool:
        """An unknown key id re-reads the issuer's JWKS (it may have rotated its key), but at most once a
        minute, so tokens with made-up key ids cannot make this node hammer the issuer."""
        cached = self._cache.get(trusted.jwks_location)
        return cached is None or self.clock() - cached[0] >= MIN_REFRESH

    def verify(self, token: str) -> Principal:
        """The principal a token stands for, or a :class:`TokenError` subclass saying why not."""
        token = token.strip()
        if len(token) > MAX_TOKEN:
            raise TokenMalformed(
                f"the bearer token is {len(token)} characters long; this node accepts up to {MAX_TOKEN}"
            )
        try:
            obj = jws.extract_compact(token.encode("ascii"))
            header, claims = obj.headers(), json.loads(obj.payload or b"")
        except (JoseError, ValueError, UnicodeError) as e:
            raise TokenMalformed(
                f"the bearer token is not a JWT ({type(e).__name__}); log in again"
            ) from None
        if not isinstance(claims, dict) or not isinstance(claims.get("iss"), str):
            raise TokenMalformed("the bearer token names no issuer ('iss'); log in again")
        if header.get("alg") not in ALGORITHMS:
            raise TokenMalformed(
                f"the bearer token is signed with '{header.get('alg')}', which this node does not "
                f"accept ({', '.join(ALGORITHMS)})"
            )
        iss = claims["iss"]
        trusted = next((i for i in self.acc.trusted_issuers if i.id == iss), None)
        if iss != self.issuer and trusted is None:
            raise UnknownIssuer(
                f"the token was issued by '{iss}', which this node does not trust; an admin can "
                "add it to access.trusted_issuers"
            )
        try:
            try:
                verified = jwt.decode(token, self._keys(iss, trusted), algorithms=ALGORITHMS)
            except JoseError as e:
                if trusted is None or "kid" not in str(e).lower() or not self._may_refresh(trusted):
                    raise
                verified = jwt.decode(token, self._keys(iss, trusted, refresh=True), algorithms=ALGORITHMS)
        except (BadSignatureError, DecodeError, JoseError, ValueError) as e:
            raise TokenMalformed(
                f"the token's signature does not verify against the keys of '{iss}' "
                f"({type(e).__name__}): it was altered or not signed by that issuer"
            ) from None
        claims = verified.claims
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self.clock()),
            leeway=LEEWAY,
            iss={"essential": True, "value": iss},
            sub={"essential": True},
            exp={"essential": True},
            aud={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise TokenExpired(f"the token of '{claims.get('sub')}' expired; log in again") from None
        except InvalidClaimError as e:
            if e.claim in ("nbf", "iat"):
                raise TokenExpired(
                    f"the token of '{claims.get('sub')}' is not valid yet ({e.description}); "
                    "check the clocks of the nodes"
                ) from None
            raise TokenMalformed(f"the token's claim '{e.claim}' is not valid ({e.description})") from None
        except ClaimError as e:
            raise TokenMalformed(f"the token lacks a required claim ({e})") from None
        aud = claims["aud"]
        if self.acc.audience not in ([aud] if isinstance(aud, str) else aud):
            raise WrongAudience(
                f"the token is meant for '{aud}', not for this node's audience '{self.acc.audience}'"
            )
        return self._principal(claims, trusted)

    def _principal(self, claims: dict[str, Any], trusted: Issuer | None) -> Principal:
        name = str(claims["sub"])
        org = claim(claims, "org" if trusted is None else trusted.organisation_claim)
        org = org if isinstance(org, str) and KATOTTH_RE.match(org) else None
        raw_roles = claim(claims, "roles" if trusted is None else trusted.roles_claim) or []
        raw_roles = (
            [raw_roles] if isinstance(raw_roles, str) else [r for r in raw_roles if isinstance(r, str)]
        )
        if trusted is None:
            if self.users is not None:
                user = self.users.get(name)
                if user is None or user.disabled:
                    raise TokenMalformed(
                        f"the token of '{name}' belongs to a user who is no longer active here"
                    )
                return user.principal()  # today's role, organisation and datasets, not those at issue time
            roles = {Role(r) for r in raw_roles if r in Role.__members__ and r != Role.anonymous.value}
            datasets = frozenset(d for d in claims.get("datasets") or [] if isinstance(d, str))
        else:
            roles = {trusted.roles[r] for r in raw_roles if r in trusted.roles} - {Role.anonymous}
            datasets = frozenset()
        if Role.official in roles and org is None:
            roles.discard(
                Role.official
            )  # an official is bound to an organisation; without one, not an official
        if not roles:
            roles = {Role.anonymous}  # known to its issuer, but with no role here: the rights of anyone
        return Principal(
            name=name,
            roles=frozenset(roles),
            organisation=org,
            datasets=datasets,
            issuer=claims["iss"] if trusted is not None else None,
        )


def claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by its name, or by a dotted path into nested claims as OpenID Connect providers write them
    (Keycloak: ``realm_access.roles``); None when any step is missing. A name that is itself a key (with
    its dots) wins over the path."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for step in path.split("."):
        if not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return value
