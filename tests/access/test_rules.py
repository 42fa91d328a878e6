"""decide(): a table of role × dataset × service cases with the decision and the rule that made it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from access.config import AccessConfig, Role, Rule
from access.principal import ANONYMOUS, Principal
from access.rules import Policy
from geoportal.config import NodeConfig

from .conftest import OLEVSK, OVRUCH


def P(
    name: str, *roles: str, org: str | None = None, datasets: tuple[str, ...] = (), issuer: str | None = None
) -> Principal:
    return Principal(
        name=name,
        roles=frozenset(Role(r) for r in roles),
        organisation=org,
        datasets=frozenset(datasets),
        issuer=issuer,
    )


CITIZEN = P("olena", "citizen")
OVRUCH_OFFICIAL = P("ivan", "official", org=OVRUCH)
OLEVSK_OFFICIAL = P("petro", "official", org=OLEVSK)
NO_ORG_OFFICIAL = P("nobody", "official")
WELLS_CUSTODIAN = P("maria", "custodian", datasets=("wells",))
ROADS_CUSTODIAN = P("taras", "custodian", datasets=("roads",))
ADMIN = P("root", "admin")
AUDITOR = P("auditor", "citizen")
FOREIGN_AUDITOR = P("auditor", "citizen", issuer="https://oblast.example")
INSPECTOR = P("inspector", "citizen")

CASES = [
    # principal, dataset, service, operation -> effect, rule (prefix), catalog
    (ANONYMOUS, "roads", "ogcapi", "read", "allow", "datasets.roads.access: public", "full"),
    (ANONYMOUS, "roads", "downloads", "read", "allow", "datasets.roads.access: public", "full"),
    (CITIZEN, "roads", "downloads", "read", "limit", "access.rules[2]", "full"),
    (CITIZEN, "roads", "wms", "GetFeatureInfo", "deny", "access.rules[5]", "full"),
    (CITIZEN, "roads", "wms", "GetMap", "allow", "datasets.roads.access: public", "full"),
    (ANONYMOUS, "roads", "ogcapi", "write", "deny", "datasets.roads.access: public", "full"),
    (ROADS_CUSTODIAN, "roads", "ogcapi", "write", "allow", "custodian of roads", "full"),
    (CITIZEN, "roads", "wfs", "Transaction", "deny", "datasets.roads.access: public", "full"),
    (ROADS_CUSTODIAN, "roads", "wfs", "Transaction", "allow", "custodian of roads", "full"),
    (ANONYMOUS, "plans", "ogcapi", "read", "deny", "datasets.plans.access: officials", "hide"),
    (CITIZEN, "plans", "wms", "GetMap", "deny", "datasets.plans.access: officials", "hide"),
    (OVRUCH_OFFICIAL, "plans", "ogcapi", "read", "allow", "datasets.plans.access: officials", "full"),
    (ANONYMOUS, "plans", "csw", "read", "limit", "access.rules[3]", "metadata"),
    (OVRUCH_OFFICIAL, "plans", "csw", "read", "allow", "datasets.plans.access: officials", "full"),
    (ANONYMOUS, "cadastre", "landing", "read", "limit", "datasets.cadastre.access: restricted", "metadata"),
    (ANONYMOUS, "wells", "dcat", "read", "deny", "datasets.wells.access: restricted", "hide"),
    (ANONYMOUS, "roads", "dcat", "read", "allow", "datasets.roads.access: public", "full"),
    (ANONYMOUS, "cadastre", "ogcapi", "read", "deny", "datasets.cadastre.access: restricted", "metadata"),
    (ANONYMOUS, "cadastre", "csw", "read", "limit", "datasets.cadastre.access: restricted", "metadata"),
    (CITIZEN, "cadastre", "ogcapi", "read", "deny", "datasets.cadastre.access: restricted", "metadata"),
    (OVRUCH_OFFICIAL, "cadastre", "ogcapi", "read", "limit", "access.rules[0]", "full"),
    (OLEVSK_OFFICIAL, "cadastre", "wms", "GetMap", "limit", "access.rules[0]", "full"),
    (OVRUCH_OFFICIAL, "cadastre", "wfs", "GetFeature", "deny", "access.rules[1]", "metadata"),
    (OLEVSK_OFFICIAL, "cadastre", "wfs", "GetFeature", "limit", "access.rules[0]", "full"),
    (OVRUCH_OFFICIAL, "cadastre", "csw", "read", "allow", "access.rules[0]", "full"),
    (NO_ORG_OFFICIAL, "cadastre", "ogcapi", "read", "deny", "access.rules[0]", "metadata"),
    # a rule for any operation lets no one write: writing is granted only by naming the operation
    (
        OLEVSK_OFFICIAL,
        "cadastre",
        "ogcapi",
        "write",
        "deny",
        "datasets.cadastre.access: restricted",
        "metadata",
    ),
    (AUDITOR, "cadastre", "wfs", "Transaction", "deny", "datasets.cadastre.access: restricted", "metadata"),
    (AUDITOR, "cadastre", "ogcapi", "read", "allow", "access.rules[4]", "full"),
    (
        FOREIGN_AUDITOR,
        "cadastre",
        "ogcapi",
        "read",
        "deny",
        "datasets.cadastre.access: restricted",
        "metadata",
    ),
    (WELLS_CUSTODIAN, "wells", "ogcapi", "read", "allow", "custodian of wells", "full"),
    (WELLS_CUSTODIAN, "wells", "ogcapi", "write", "allow", "custodian of wells", "full"),
    (ROADS_CUSTODIAN, "wells", "ogcapi", "read", "allow", "access.datasets.wells.roles", "full"),
    (ROADS_CUSTODIAN, "wells", "ogcapi", "write", "deny", "datasets.wells.access: restricted", "hide"),
    (INSPECTOR, "wells", "downloads", "read", "allow", "access.datasets.wells.users", "full"),
    (CITIZEN, "wells", "downloads", "read", "deny", "datasets.wells.access: restricted", "hide"),
    (OVRUCH_OFFICIAL, "wells", "ogcapi", "read", "deny", "datasets.wells.access: restricted", "hide"),
    (ADMIN, "cadastre", "wfs", "write", "allow", "role admin", "full"),
    (ANONYMOUS, "nosuch", "ogcapi", "read", "deny", "unknown dataset", "hide"),
    (ANONYMOUS, "roads", "ftp", "read", "deny", "unknown service", "hide"),
]


@pytest.fixture
def policy(node_config: Callable[..., NodeConfig]) -> Policy:
    return Policy.from_config(node_config())


@pytest.mark.parametrize(
    "who,dataset,service,operation,effect,rule,catalog",
    CASES,
    ids=[f"{c[0].name}-{c[1]}-{c[2]}-{c[3]}" for c in CASES],
)
def test_decision_table(
    policy: Policy,
    who: Principal,
    dataset: str,
    service: str,
    operation: str,
    effect: str,
    rule: str,
    catalog: str,
) -> None:
    d = policy.decide(who, dataset, service, operation)
    assert (d.effect, d.catalog) == (effect, catalog), d
    assert d.rule.startswith(rule), d


def test_limits_carry_the_callers_territory_and_hidden_attributes(policy: Policy) -> None:
    mine = policy.decide(OVRUCH_OFFICIAL, "cadastre", "ogcapi")
    theirs = policy.decide(OLEVSK_OFFICIAL, "cadastre", "ogcapi")
    assert mine.limits is not None and theirs.limits is not None
    assert mine.limits.area is not None and mine.limits.area.katotth == OVRUCH
    assert theirs.limits.area is not None and theirs.limits.area.katotth == OLEVSK
    assert mine.limits.hide_attributes == ("owner",)
    assert "officials see their own hromada" in mine.rule
    filtered = policy.decide(CITIZEN, "roads", "downloads")
    assert filtered.limits is not None and filtered.limits.filter == "category <> 'military'"


def _policy(*rules: dict[str, object], level: str = "restricted") -> Policy:
    return Policy(levels={"d": level}, access=AccessConfig(rules=[Rule.model_validate(r) for r in rules]))


def test_on_a_tie_deny_wins_then_the_earlier_rule() -> None:
    p = _policy(
        {"roles": ["citizen"], "dataset": "d", "effect": "allow"},
        {"roles": ["citizen"], "dataset": "d", "effect": "deny"},
        {"roles": ["citizen"], "dataset": "d", "effect": "allow", "note": "second allow"},
    )
    d = p.decide(CITIZEN, "d", "wms")
    assert (d.effect, d.rule) == ("deny", "access.rules[1]")
    p = _policy(
        {"roles": ["citizen"], "dataset": "d", "effect": "allow", "note": "first"},
        {"roles": ["citizen"], "dataset": "d", "effect": "allow", "note": "second"},
    )
    assert p.decide(CITIZEN, "d", "wms").rule == "access.rules[0] (first)"


def test_the_more_specific_rule_wins_whatever_its_place() -> None:
    p = _policy(
        {"dataset": "d", "service": "wms", "effect": "allow"},
        {"roles": ["citizen"], "effect": "deny"},
        {"roles": ["citizen"], "dataset": "d", "effect": "allow"},
        {"users": ["olena"], "dataset": "d", "effect": "deny"},
    )
    assert p.decide(CITIZEN, "d", "wms").rule == "access.rules[3]"  # user > role > everyone
    assert p.decide(P("other", "citizen"), "d", "wms").rule == "access.rules[2]"
    assert p.decide(P("other", "citizen"), "e", "wms").effect == "deny"  # unknown dataset
    assert p.decide(ANONYMOUS, "d", "wms").rule == "access.rules[0]"  # names dataset and service


def test_without_rules_non_public_data_is_denied_to_all_but_admins() -> None:
    for level in ("officials", "restricted"):
        p = _policy(level=level)
        for who in (ANONYMOUS, CITIZEN, WELLS_CUSTODIAN) + (
            (OVRUCH_OFFICIAL,) if level == "restricted" else ()
        ):
            for service in ("ogcapi", "wms", "wfs", "downloads", "csw", "passport"):
                assert p.decide(who, "d", service).effect == "deny", (level, who, service)
        assert p.decide(ADMIN, "d", "wfs").effect == "allow"


def test_a_write_is_granted_only_by_a_rule_naming_it() -> None:
    p = _policy(
        {"roles": ["official"], "dataset": "d", "effect": "allow"},
        {
            "organisations": [OVRUCH],
            "dataset": "d",
            "service": "ogcapi",
            "operation": "write",
            "effect": "allow",
        },
    )
    assert p.decide(OVRUCH_OFFICIAL, "d", "ogcapi", "read").rule == "access.rules[0]"
    assert p.decide(OVRUCH_OFFICIAL, "d", "ogcapi", "write").rule == "access.rules[1]"
    assert p.decide(OVRUCH_OFFICIAL, "d", "wfs", "Transaction").effect == "deny"
    assert p.decide(OLEVSK_OFFICIAL, "d", "ogcapi", "write").effect == "deny"
    assert p.decide(OLEVSK_OFFICIAL, "d", "ogcapi", "read").rule == "access.rules[0]"
