"""The access decision: :meth:`Policy.decide` is a pure function of the config and its arguments.

Order of the decision (modelled on GeoFence's rule table, made deterministic by specificity):

1. an unknown dataset or service is denied;
2. an admin is allowed everything (an admin edits the config anyway);
3. of the ``access.rules`` that match (who × dataset × service × operation), the most specific wins:
   a rule naming the dataset beats one that does not, then naming users beats organisations beats roles
   beats everyone, then naming the service, then the operation. On a tie deny beats limit beats allow
   (fail closed), then the earlier rule in the file. A rule that allows or limits without naming its
   operation covers reads only: writing is granted by a rule naming the operation (or by custodianship);
4. no rule matches: the dataset's level (``datasets[i].access``) decides — public data is readable by all;
   ``officials`` by officials; ``restricted`` by the organisations, roles and users listed in
   ``access.datasets.<id>``; writing only by the dataset's custodians. Anything else is denied.

The catalog services (``csw``, ``dcat``, ``landing``) answer "may the record be shown": a caller denied
the data still sees the record without data links when the dataset's (or the rule's) catalog mode is
``metadata``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from access.config import (
    CATALOG_SERVICES,
    SERVICES,
    WRITE_OPERATIONS,
    AccessConfig,
    DatasetAccess,
    Role,
    Rule,
)
from access.principal import Principal

if TYPE_CHECKING:
    from access.audit import AuditLog

Effect = Literal["allow", "deny", "limit"]
Catalog = Literal["full", "metadata", "hide"]


@dataclass(frozen=True)
class Area:
    """Where the caller may see features: a territory by KATOTTH code, or a WKT polygon (EPSG:4326)."""

    katotth: str | None = None
    wkt: str | None = None


@dataclass(frozen=True)
class Limits:
    """What enforcement must apply to an ``limit`` decision; all of it, together."""

    area: Area | None = None
    filter: str | None = None
    hide_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The answer: ``effect``, the ``limits`` of a ``limit``, what the catalog shows, and the rule that
    decided (a key path in the node config, e.g. ``access.rules[2]``, or the dataset level) with a human
    reason."""

    effect: Effect
    rule: str
    reason: str
    limits: Limits | None = None
    catalog: Catalog = "hide"

    @property
    def allowed(self) -> bool:
        """Whether any data (or, on a catalog service, the record) may be returned; ``limit`` counts, with its
        limits."""
        return self.effect != "deny"

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "effect": self.effect,
            "rule": self.rule,
            "reason": self.reason,
            "catalog": self.catalog,
        }
        if self.limits is not None:
            lim = self.limits
            out["limits"] = {
                "area": None if lim.area is None else {"katotth": lim.area.katotth, "wkt": lim.area.wkt},
                "filter": lim.filter,
                "hide_attributes": list(lim.hide_attributes),
            }
        return out


@dataclass(frozen=True)
class Policy:
    """The node's access policy: dataset levels (``id → public|officials|restricted``) and the access
    config."""

    levels: dict[str, str]
    access: AccessConfig = field(default_factory=AccessConfig)

    @classmethod
    def from_config(cls, cfg: object) -> Policy:
        """From a :class:`geoportal.config.NodeConfig` (typed loosely to keep this module free of it)."""
        datasets = cfg.datasets
        access = getattr(cfg, "access", None) or AccessConfig()
        return cls(levels={d.id: d.access.value for d in datasets}, access=access)

    def dataset_access(self, dataset: str) -> DatasetAccess:
        return self.access.datasets.get(dataset) or DatasetAccess()

    def should_log(self, dataset: str) -> bool:
        """Whether decisions on ``dataset`` go to the audit log (non-public data, when the config asks)."""
        level = self.levels.get(dataset)
        return (
            level is not None
            and level != "public"
            and (self.access.log_decisions or self.dataset_access(dataset).log)
        )

    def decide_and_log(
        self,
        audit: AuditLog,
        principal: Principal,
        dataset: str,
        service: str,
        operation: str = "read",
        address: str | None = None,
    ) -> Decision:
        """:meth:`decide`, and the decision appended to the audit log when the config asks for it."""
        d = self.decide(principal, dataset, service, operation)
        if self.should_log(dataset):
            audit.append(
                "access.decision",
                actor=principal.name,
                address=address,
                dataset=dataset,
                outcome=d.effect,
                service=service,
                operation=operation,
                rule=d.rule,
                issuer=principal.issuer,
            )
        return d

    def decide(self, principal: Principal, dataset: str, service: str, operation: str = "read") -> Decision:
        """Allow, deny or limit ``principal`` doing ``operation`` on ``dataset`` through ``service``."""
        level = self.levels.get(dataset)
        if level is None:
            return Decision("deny", "unknown dataset", f"this node has no dataset '{dataset}'")
        if service not in SERVICES:
            return Decision(
                "deny", "unknown service", f"'{service}' is not a service of the node ({', '.join(SERVICES)})"
            )
        if principal.has(Role.admin):
            return Decision("allow", "role admin", "admins may do everything on their node", catalog="full")
        best = self._best_rule(principal, dataset, service, operation)
        if best is not None:
            index, rule = best
            decision = self._from_rule(index, rule, principal, dataset)
        else:
            decision = self._from_level(level, principal, dataset, operation)
        return self._for_service(decision, service)

    # -- rules ------------------------------------------------------------------------------------
    def _best_rule(self, p: Principal, dataset: str, service: str, operation: str) -> tuple[int, Rule] | None:
        rank = {"deny": 2, "limit": 1, "allow": 0}
        found = [
            (_specificity(r), rank[r.effect], -i, i, r)
            for i, r in enumerate(self.access.rules)
            if _matches(r, p, dataset, service, operation)
        ]
        if not found:
            return None
        *_, index, rule = max(found, key=lambda t: t[:3])
        return index, rule

    def _from_rule(self, index: int, rule: Rule, p: Principal, dataset: str) -> Decision:
        key = f"access.rules[{index}]" + (f" ({rule.note})" if rule.note else "")
        fallback: Catalog = (
            self.dataset_access(dataset).catalog if self.levels[dataset] != "public" else "full"
        )
        if rule.effect == "allow":
            return Decision("allow", key, "allowed by rule", catalog="full")
        if rule.effect == "deny":
            return Decision("deny", key, "denied by rule", catalog=fallback)
        lim = rule.limit
        assert lim is not None  # a limit rule always has one (validated)
        if lim.catalog is not None:
            return Decision(
                "deny",
                key,
                f"the rule shows only {'the record' if lim.catalog == 'metadata' else 'nothing'}"
                ", not the data",
                catalog=lim.catalog,
            )
        area: Area | None = None
        if lim.area == "organisation":
            if not p.organisation:
                return Decision(
                    "deny",
                    key,
                    "the rule limits to the caller's organisation, and the caller has none",
                    catalog=fallback,
                )
            area = Area(katotth=p.organisation)
        elif lim.area is not None:
            area = Area(katotth=lim.area) if lim.area.startswith("UA") else Area(wkt=lim.area)
        return Decision(
            "limit",
            key,
            "allowed with limits",
            catalog="full",
            limits=Limits(area=area, filter=lim.filter, hide_attributes=tuple(lim.hide_attributes)),
        )

    # -- levels -----------------------------------------------------------------------------------
    def _from_level(self, level: str, p: Principal, dataset: str, operation: str) -> Decision:
        key = f"datasets.{dataset}.access: {level}"
        da = self.dataset_access(dataset)
        if operation.lower() in WRITE_OPERATIONS:
            if p.custodian_of(dataset):
                return Decision(
                    "allow",
                    f"custodian of {dataset}",
                    "custodians may load and edit their datasets",
                    catalog="full",
                )
            return Decision(
                "deny",
                key,
                "only admins and the dataset's custodians may change it",
                catalog="full" if level == "public" else da.catalog,
            )
        if level == "public" or p.custodian_of(dataset):
            return Decision(
                "allow",
                key if level == "public" else f"custodian of {dataset}",
                "public data" if level == "public" else "custodians see their datasets",
                catalog="full",
            )
        if level == "officials":
            if p.has(Role.official):
                return Decision("allow", key, "open to officials", catalog="full")
            return Decision("deny", key, "open to officials only", catalog=da.catalog)
        # restricted
        if p.organisation and p.organisation in da.organisations and not p.is_anonymous:
            return Decision(
                "allow",
                f"access.datasets.{dataset}.organisations",
                "the caller's organisation is listed",
                catalog="full",
            )
        if p.roles & set(da.roles) and not p.is_anonymous:
            return Decision(
                "allow", f"access.datasets.{dataset}.roles", "the caller's role is listed", catalog="full"
            )
        if p.name in da.users and p.issuer is None and not p.is_anonymous:
            return Decision(
                "allow", f"access.datasets.{dataset}.users", "the caller is listed", catalog="full"
            )
        return Decision(
            "deny", key, "restricted to listed organisations, roles and users", catalog=da.catalog
        )

    @staticmethod
    def _for_service(d: Decision, service: str) -> Decision:
        """On the catalog the question is the record, not the data: 'metadata' becomes a limit there, and a
        deny hides the record whatever the dataset's level."""
        if service not in CATALOG_SERVICES:
            return d
        if d.effect == "deny" and d.catalog == "metadata":
            return Decision(
                "limit", d.rule, d.reason + "; the record is shown without data links", catalog="metadata"
            )
        if d.effect == "limit":
            return Decision("allow", d.rule, d.reason + "; the record is shown in full", catalog="full")
        if d.effect == "deny":
            return Decision("deny", d.rule, d.reason + "; the record is hidden", catalog="hide")
        return d


def _matches(r: Rule, p: Principal, dataset: str, service: str, operation: str) -> bool:
    if r.dataset not in ("*", dataset) or r.service not in ("*", service):
        return False
    if r.operation != "*" and r.operation.lower() != operation.lower():
        return False
    if r.operation == "*" and r.effect != "deny" and operation.lower() in WRITE_OPERATIONS:
        return False  # granting a write takes a rule that names it; 'any operation' means any read
    if r.users and (p.issuer is not None or p.name not in r.users):
        return False  # user names are local: a token of another issuer never matches them
    if r.organisations and p.organisation not in r.organisations:
        return False
    return not (r.roles and not (p.roles & set(r.roles)))


def _specificity(r: Rule) -> tuple[int, int, int, int, int, int]:
    return (
        r.dataset != "*",
        bool(r.users),
        bool(r.organisations),
        bool(r.roles),
        r.service != "*",
        r.operation != "*",
    )
