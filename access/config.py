"""The ``access:`` section of a node config: who may see what, whose tokens count, how logins are limited.

A dataset's *level* stays where it always was, ``datasets[i].access`` (public | officials | restricted);
this section only adds what a level cannot say: which organisations, roles or users a restricted dataset
is open to, what the catalog shows to those who may not see the data, and rules role × dataset × service ×
operation → allow | deny | limit. The model is self-contained (no import of geoportal.config) so that the
node config can embed it; the checks that need the dataset list live in :func:`problems_with`.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KATOTTH_RE = re.compile(r"^UA\d{17}$")
NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
#: a dataset of this node (its id), or one harvested from another node: ``<origin node id>/<dataset id>``
DATASET_RE = r"^(\*|([a-z0-9][a-z0-9_-]{0,62}/)?[a-z0-9][a-z0-9_-]{0,62})$"
TOKEN_RE = r"^(\*|[A-Za-z][A-Za-z0-9_-]{0,62})$"

#: services a rule can name; enforcement passes one of them to decide()
SERVICES = ("ogcapi", "wms", "wfs", "downloads", "passport", "csw", "dcat", "landing")
#: services that show records about datasets rather than their data: decide() answers "may the record be
#: shown" there (allow: in full; limit: without data links; deny: hidden)
CATALOG_SERVICES = frozenset({"csw", "dcat", "landing"})
#: operations that change data (compared case-blind: WFS-T and CSW-T send 'Transaction', 'Harvest'); only
#: admins and the dataset's custodians may do them by default
WRITE_OPERATIONS = frozenset(
    {"write", "load", "edit", "create", "insert", "update", "replace", "delete", "transaction", "harvest"}
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Role(str, Enum):
    """The local roles. ``anonymous`` is whoever presents no identity; it is never stored."""

    anonymous = "anonymous"
    citizen = "citizen"
    official = "official"
    custodian = "custodian"
    admin = "admin"


CatalogMode = Literal["metadata", "hide"]


def _katotth(v: str) -> str:
    if not KATOTTH_RE.match(v):
        raise ValueError(
            f"'{v}' is not a KATOTTH code ('UA' followed by 17 digits, e.g. UA18060170000069581)"
        )
    return v


class DatasetAccess(_Strict):
    """Who a non-public dataset is open to, beyond admins and its custodians."""

    organisations: list[str] = Field(
        default_factory=list,
        description="KATOTTH codes of the bodies that may see the data (restricted datasets)",
    )
    roles: list[Role] = Field(default_factory=list, description="roles that may see the data (restricted)")
    users: list[Annotated[str, Field(pattern=NAME_RE)]] = Field(
        default_factory=list, description="user names that may see the data (restricted)"
    )
    catalog: CatalogMode = Field(
        default="hide",
        description="what the catalog shows to those who may not see "
        "the data: 'metadata' (the record, without data links) or 'hide' (nothing)",
    )
    log: bool = Field(default=False, description="append every decision on this dataset to the audit log")

    @field_validator("organisations")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return [_katotth(c) for c in v]


class Limit(_Strict):
    """What a ``limit`` rule keeps back while letting the data through."""

    area: str | None = Field(
        default=None,
        description="'organisation' (the caller's own territory), a KATOTTH "
        "code, or a WKT geometry in EPSG:4326: only features inside it",
    )
    filter: str | None = Field(default=None, description="a CQL2 text row filter, e.g. \"status = 'active'\"")
    hide_attributes: list[str] = Field(
        default_factory=list, description="attributes left out of every answer"
    )
    catalog: CatalogMode | None = Field(
        default=None, description="'metadata': show the record but no data; 'hide': hide the record as well"
    )

    @field_validator("area")
    @classmethod
    def _area(cls, v: str | None) -> str | None:
        if v is None or v == "organisation" or KATOTTH_RE.match(v):
            return v
        try:
            import shapely

            geom = shapely.from_wkt(v)
        except Exception as e:  # shapely raises its own GEOSException for bad WKT
            raise ValueError(
                "an area is 'organisation', a KATOTTH code or a WKT polygon in EPSG:4326 "
                f"(the WKT does not parse: {e})"
            ) from None
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty or not geom.is_valid:
            raise ValueError("an area geometry must be a valid, non-empty (Multi)Polygon in EPSG:4326")
        return v

    @field_validator("filter")
    @classmethod
    def _cql2(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from pygeofilter.parsers.cql2_text import parse

        try:
            parse(v)
        except Exception as e:  # the parser raises lark errors of several kinds
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ValueError(f"not a CQL2 text filter ({first}); write e.g. \"status = 'active'\"") from None
        return v

    @model_validator(mode="after")
    def _something(self) -> Limit:
        if not (self.area or self.filter or self.hide_attributes or self.catalog):
            raise ValueError("a limit needs at least one of 'area', 'filter', 'hide_attributes', 'catalog'")
        return self


class Rule(_Strict):
    """One rule: who (roles/organisations/users; none = everyone) × dataset × service × operation → effect.

    When several rules match, the most specific wins (see :mod:`access.rules`). An ``allow`` or ``limit``
    with ``operation: *`` covers reads only; to grant a write, name it (``operation: write``)."""

    roles: list[Role] = Field(default_factory=list)
    organisations: list[str] = Field(default_factory=list, description="KATOTTH codes of the caller's body")
    users: list[Annotated[str, Field(pattern=NAME_RE)]] = Field(default_factory=list)
    dataset: str = Field(default="*", pattern=DATASET_RE)
    service: str = Field(default="*", pattern=TOKEN_RE, description=f"one of {', '.join(SERVICES)} or *")
    operation: str = Field(
        default="*",
        pattern=TOKEN_RE,
        description="read, write, or a service operation (GetMap, GetFeature, …), or *",
    )
    effect: Literal["allow", "deny", "limit"]
    limit: Limit | None = None
    note: str | None = Field(
        default=None, description="why the rule exists; shown by 'geoportal access check'"
    )

    @field_validator("organisations")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return [_katotth(c) for c in v]

    @field_validator("service")
    @classmethod
    def _service(cls, v: str) -> str:
        if v != "*" and v not in SERVICES:
            raise ValueError(f"unknown service '{v}'; use one of {', '.join(SERVICES)} or *")
        return v

    @model_validator(mode="after")
    def _limit_matches_effect(self) -> Rule:
        if self.effect == "limit" and self.limit is None:
            raise ValueError("effect 'limit' needs a 'limit:' (area, filter, hide_attributes or catalog)")
        if self.effect != "limit" and self.limit is not None:
            raise ValueError(f"effect '{self.effect}' takes no 'limit:'; use effect: limit")
        return self


class Issuer(_Strict):
    """Another node (or an OpenID Connect provider) whose tokens this node accepts."""

    id: str = Field(min_length=1, description="the 'iss' of its tokens, e.g. https://geo.zht.gov.ua")
    jwks_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="where its JWKS is (default: <id>/.well-known/jwks.json)",
    )
    jwks_file: str | None = Field(default=None, description="or a JWKS file (relative to the config)")
    roles: dict[str, Role] = Field(
        default_factory=lambda: {"citizen": Role.citizen, "official": Role.official},
        description="its role names → local roles; roles not listed are dropped "
        "(so a foreign 'admin' is not an admin here unless mapped)",
    )
    roles_claim: str = Field(
        default="roles", description="the claim with its role names; a dotted path reads a nested claim "
        "(Keycloak: realm_access.roles)"
    )
    organisation_claim: str = Field(
        default="org", description="the claim with the caller's KATOTTH code (a dotted path for a nested one)"
    )

    @model_validator(mode="after")
    def _where_keys(self) -> Issuer:
        if self.jwks_url and self.jwks_file:
            raise ValueError("give 'jwks_url' or 'jwks_file', not both")
        if not (self.jwks_url or self.jwks_file or self.id.startswith(("http://", "https://"))):
            raise ValueError("an issuer whose id is not a URL needs 'jwks_url' or 'jwks_file'")
        return self

    @property
    def jwks_location(self) -> str:
        return self.jwks_file or self.jwks_url or self.id.rstrip("/") + "/.well-known/jwks.json"


class LoginLimits(_Strict):
    """After ``max_failures`` failed logins within ``window`` seconds (per user, and per address), further
    attempts are refused for ``lockout`` seconds without looking at the password."""

    max_failures: int = Field(default=5, ge=1)
    window: int = Field(default=300, ge=1)
    lockout: int = Field(default=900, ge=1)


class AccessConfig(_Strict):
    issuer: str | None = Field(
        default=None, description="this node's 'iss' (default: node.url, else urn:geoportal:<node id>)"
    )
    audience: str = Field(
        default="geoportal-network",
        min_length=1,
        description="the 'aud' tokens must name to be accepted here, and that issued tokens carry",
    )
    token_ttl: int = Field(
        default=3600, ge=60, le=30 * 86400, description="seconds a token issued here is valid"
    )
    trusted_issuers: list[Issuer] = Field(default_factory=list)
    login: LoginLimits = Field(default_factory=LoginLimits)
    datasets: dict[str, DatasetAccess] = Field(
        default_factory=dict, description="per dataset id: who a non-public dataset is open to"
    )
    rules: list[Rule] = Field(default_factory=list)
    log_decisions: bool = Field(
        default=False,
        description="append every decision on non-public data to the "
        "audit log (per dataset: datasets.<id>.log)",
    )


def problems_with(access: AccessConfig, datasets: dict[str, str]) -> list[str]:
    """What in ``access`` contradicts the node's datasets (``id → access level``), one key path per line."""
    out = []
    for ds_id, da in access.datasets.items():
        if "/" in ds_id:  # a dataset of another node, known once harvested (catalog.access_view)
            if not re.match(DATASET_RE, ds_id):
                out.append(f"access.datasets.{ds_id}: a dataset of another node is named "
                           "<origin node id>/<dataset id>, e.g. ovrutska-hromada/cadastre")
            continue
        if ds_id not in datasets:
            out.append(
                f"access.datasets.{ds_id}: no dataset '{ds_id}' (known: {', '.join(datasets) or 'none'})"
            )
        elif datasets[ds_id] == "public" and (da.organisations or da.roles or da.users):
            out.append(
                f"access.datasets.{ds_id}: the dataset is public, so listing who may see it has no "
                "effect; set its 'access: restricted' or remove the list"
            )
        elif datasets[ds_id] == "officials" and (da.organisations or da.roles or da.users):
            out.append(
                f"access.datasets.{ds_id}: the dataset is open to all officials; to open it to listed "
                "organisations/roles/users only, set its 'access: restricted'"
            )
    for i, r in enumerate(access.rules):
        if r.dataset != "*" and "/" not in r.dataset and r.dataset not in datasets:
            out.append(
                f"access.rules[{i}].dataset: no dataset '{r.dataset}' "
                f"(known: {', '.join(datasets) or 'none'})"
            )
    ids = [i.id for i in access.trusted_issuers]
    for i, iss in enumerate(ids):
        if iss in ids[:i]:
            out.append(f"access.trusted_issuers[{i}].id: '{iss}' is listed twice")
    return out


def unknown_attributes(access: AccessConfig, columns: dict[str, dict[str, str]]) -> list[str]:
    """``hide_attributes`` that name no column of the stored layers (``dataset id → {column: title}``),
    one key path per line. A misspelt name would hide nothing, silently: the build refuses it instead.

    A rule on one dataset must name its columns; a rule on ``*`` must name a column of at least one."""
    out = []
    for i, r in enumerate(access.rules):
        if r.limit is None or not r.limit.hide_attributes or "/" in r.dataset:
            continue
        if r.dataset == "*":
            known = {c for cols in columns.values() for c in cols}
            for a in r.limit.hide_attributes:
                if a not in known:
                    out.append(f"access.rules[{i}].limit.hide_attributes: '{a}' is a column of no stored "
                               "dataset; name a column as the layer stores it (see /datasets/<id>/)")
            continue
        cols = columns.get(r.dataset)
        if cols is None:  # not loaded yet: nothing to hide, checked when it is
            continue
        for a in r.limit.hide_attributes:
            if a in cols:
                continue
            by_title = [c for c, t in cols.items() if t == a]
            hint = (f"the column titled '{a}' is stored as '{by_title[0]}'" if by_title else
                    "its columns: " + ", ".join(f"{c} ({t})" if t and t != c else c for c, t in cols.items()))
            out.append(f"access.rules[{i}].limit.hide_attributes: dataset '{r.dataset}' has no column '{a}'; "
                       f"{hint}")
    return out
