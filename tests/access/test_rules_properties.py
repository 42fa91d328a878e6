"""Properties of decide() over generated callers, rules and requests (bounded; no deadline)."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from access.config import CATALOG_SERVICES, SERVICES, AccessConfig, DatasetAccess, Role, Rule
from access.principal import ANONYMOUS, Principal
from access.rules import Policy

from .conftest import OLEVSK, OVRUCH

ORGS = st.sampled_from([None, OVRUCH, OLEVSK])
ROLES = st.sampled_from([r for r in Role if r != Role.admin])
DATASETS = ["open", "offic", "restr"]
LEVELS = {"open": "public", "offic": "officials", "restr": "restricted"}

principals = st.builds(
    lambda name, roles, org, ds, foreign: Principal(
        name=name,
        roles=frozenset(roles),
        organisation=org,
        datasets=frozenset(ds),
        issuer="https://other.example" if foreign else None,
    ),
    name=st.sampled_from(["ivan", "olena", "anonymous"]),
    roles=st.sets(ROLES, max_size=2),
    org=ORGS,
    ds=st.sets(st.sampled_from(DATASETS), max_size=2),
    foreign=st.booleans(),
)
services = st.sampled_from([*SERVICES, "tms"])
operations = st.sampled_from(["read", "write", "GetMap", "Transaction", "x"])
rules = st.builds(
    lambda roles, orgs, users, ds, service, effect: Rule.model_validate(
        {
            "roles": sorted(roles),
            "organisations": orgs,
            "users": users,
            "dataset": ds,
            "service": service,
            "effect": effect,
            **({"limit": {"filter": "a1 = 1"}} if effect == "limit" else {}),
        }
    ),
    roles=st.one_of(st.just(set()), st.sets(ROLES, max_size=2)),
    orgs=st.one_of(st.just([]), st.lists(st.sampled_from([OVRUCH, OLEVSK]), max_size=1)),
    users=st.one_of(st.just([]), st.lists(st.sampled_from(["ivan", "olena"]), max_size=1)),
    ds=st.sampled_from(["*", *DATASETS]),
    service=st.sampled_from(["*", *SERVICES]),
    effect=st.sampled_from(["allow", "deny", "limit"]),
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(principals, st.sampled_from(DATASETS), services, operations)
def test_without_rules_only_public_reads_custodians_and_listed_callers_pass(
    p: Principal, dataset: str, service: str, operation: str
) -> None:
    policy = Policy(
        levels=LEVELS, access=AccessConfig(datasets={"restr": DatasetAccess(organisations=[OVRUCH])})
    )
    d = policy.decide(p, dataset, service, operation)
    assert d.effect in ("allow", "deny", "limit") and d.rule
    if d.effect != "deny" and service not in CATALOG_SERVICES:
        write = operation.lower() in ("write", "transaction")
        assert service in SERVICES
        assert p.custodian_of(dataset) or (
            not write
            and (
                LEVELS[dataset] == "public"
                or (LEVELS[dataset] == "officials" and Role.official in p.roles)
                or (dataset == "restr" and p.organisation == OVRUCH and not p.is_anonymous)
            )
        ), d
    if service in SERVICES and (
        p.custodian_of(dataset)
        or (LEVELS[dataset] == "public" and operation.lower() not in ("write", "transaction"))
    ):
        assert d.effect == "allow", d


@SETTINGS
@given(principals, st.lists(rules, max_size=5), st.sampled_from(DATASETS), services, operations)
@example(ANONYMOUS, [Rule(dataset="open", effect="deny")], "open", "csw", "read")
def test_the_deciding_rule_matches_and_nothing_more_specific_contradicts_it(
    p: Principal, rs: list[Rule], dataset: str, service: str, operation: str
) -> None:
    policy = Policy(levels=LEVELS, access=AccessConfig(rules=rs))
    d = policy.decide(p, dataset, service, operation)
    if not d.rule.startswith("access.rules["):
        # no rule matched: then every rule misses on dataset, service or who
        from access.rules import _matches

        assert service not in SERVICES or not any(_matches(r, p, dataset, service, operation) for r in rs)
        return
    index = int(d.rule.split("[")[1].split("]")[0])
    rule = rs[index]
    assert rule.dataset in ("*", dataset) and rule.service in ("*", service)
    assert not rule.users or (p.issuer is None and p.name in rule.users)
    assert not rule.roles or p.roles & set(rule.roles)
    if service not in CATALOG_SERVICES:
        assert d.effect == rule.effect
    elif rule.effect == "deny":
        assert d.effect in ("deny", "limit") and d.catalog != "full"  # at most the record without data
