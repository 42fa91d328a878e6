"""Who is asking. A principal comes from a login (a stored user), a verified token, or nobody (anonymous)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from access.config import Role


@dataclass(frozen=True)
class Principal:
    """The caller as the rules see it.

    ``organisation`` is the KATOTTH code of the body an official works for; ``datasets`` the ids a custodian
    may load and edit on *this* node; ``issuer`` is None for local users and the token's ``iss`` otherwise."""

    name: str
    roles: frozenset[Role]
    organisation: str | None = None
    datasets: frozenset[str] = field(default_factory=frozenset)
    issuer: str | None = None

    @cached_property
    def is_anonymous(self) -> bool:
        """Asked several times per request (the access front, the node's routes): computed once (the roles
        are frozen)."""
        return Role.anonymous in self.roles or not self.roles

    def has(self, role: Role) -> bool:
        return role in self.roles

    def custodian_of(self, dataset: str) -> bool:
        return Role.custodian in self.roles and dataset in self.datasets

    def describe(self) -> str:
        roles = ",".join(sorted(r.value for r in self.roles)) or "none"
        org = f" org {self.organisation}" if self.organisation else ""
        via = f" via {self.issuer}" if self.issuer else ""
        return f"{self.name} ({roles}{org}{via})"


ANONYMOUS = Principal(name="anonymous", roles=frozenset({Role.anonymous}))
