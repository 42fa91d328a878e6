"""One object per node that the services call: who is asking, may they, and the record of it.

Enforcement (pygeoapi, MapServer, CSW, downloads, passports) needs four things, all here::

    acc = NodeAccess(cfg, workspace_root)
    principal = acc.principal(request.headers.get("Authorization"))   # TokenError → 401
    decision = acc.decide(principal, "cadastre", "wfs", "GetFeature", address=request.remote_addr)
    acc.jwks()                                                          # for /.well-known/jwks.json

and :meth:`NodeAccess.login` for a login form (LoginLocked → 429 with ``retry_after``). Errors carry
``http_status``; a service answers with it and the one-line message.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from access.audit import AuditLog
from access.config import AccessConfig
from access.errors import TokenMalformed
from access.principal import ANONYMOUS, Principal
from access.rules import Decision, Policy
from access.tokens import Verifier, issue, jwks
from access.users import UserRepository, open_users


class NodeAccess:
    """The access core of one node: its policy, users, token verifier and audit log, built lazily."""

    def __init__(self, cfg: Any, workspace_root: Path):
        self.cfg = cfg
        self.root = Path(workspace_root)
        self.config: AccessConfig = getattr(cfg, "access", None) or AccessConfig()

    @cached_property
    def policy(self) -> Policy:
        return Policy.from_config(self.cfg)

    @cached_property
    def users(self) -> UserRepository:
        return open_users(self.cfg, self.root)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.root / "audit.log")

    @cached_property
    def verifier(self) -> Verifier:
        return Verifier(self.cfg, self.root, users=self.users)

    def principal(self, authorization: str | None) -> Principal:
        """The caller of an HTTP request from its ``Authorization`` header: none → anonymous; ``Bearer JWT``
        → the verified principal; anything else is refused rather than ignored (fail closed)."""
        if authorization is None or not authorization.strip():
            return ANONYMOUS
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenMalformed(f"the Authorization header must be 'Bearer <token>' (got scheme '{scheme}')")
        return self.verifier.verify(token.strip())

    def decide(
        self,
        principal: Principal,
        dataset: str,
        service: str,
        operation: str = "read",
        address: str | None = None,
    ) -> Decision:
        """:meth:`Policy.decide`, logged to the audit log when the config asks for it."""
        return self.policy.decide_and_log(self.audit, principal, dataset, service, operation, address)

    def login(self, name: str, password: str, address: str) -> tuple[Principal, str]:
        """Check a password (rate-limited, audited) and issue a token for the session."""
        from access.passwords import login

        principal = login(self.users, self.audit, self.config.login, name, password, address)
        token, claims = issue(self.cfg, self.root, self.users.require(name))
        self.audit.append(
            "token.issued",
            actor=name,
            user=name,
            address=address,
            outcome="ok",
            jti=claims["jti"],
            audience=claims["aud"],
        )
        return principal, token

    def jwks(self) -> dict[str, Any]:
        return jwks(self.root)
