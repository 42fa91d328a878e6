"""The typed values of the register and the two lifecycles.

A :class:`Decision` and a :class:`Project` are plain values: the service (service.py) changes a copy and
hands it to the repository, which stores it with one history row per changed field in the same transaction.
Comments, party answers and milestone reports are appended, never rewritten (a moderator only *hides* a
comment); an answer is an immutable JSON document with its own id, so parent and child nodes can exchange it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any

KATOTTH = re.compile(r"^UA\d{17}$")
#: a party that must agree: a body by its KATOTTH code, or one unit of it (an oblast department) as CODE/unit
PARTY = re.compile(r"^UA\d{17}(/[a-z0-9][a-z0-9-]*)?$")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(v: str | datetime | date) -> datetime:
    """An instant from ISO text; a bare date means the END of that day (a deadline 'until 30 May' includes
    the 30th), in UTC."""
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=timezone.utc)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, 23, 59, 59, tzinfo=timezone.utc)
    s = str(v).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return parse_time(date.fromisoformat(s))
    t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


class Status(str, Enum):
    DRAFT = "draft"
    CONSULTATION = "consultation"
    AGREEMENT = "agreement"
    ADOPTED = "adopted"
    IMPLEMENTATION = "implementation"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


def _linear(steps: list[Any], cancelled: Any) -> dict[Any, tuple[Any, ...]]:
    """A fixed lifecycle: each open step moves one step forward or is cancelled; the last and ``cancelled``
    are final."""
    table = {a: (b, cancelled) for a, b in zip(steps, steps[1:])}
    return {**table, steps[-1]: (), cancelled: ()}


#: the fixed lifecycle of a decision
NEXT: dict[Status, tuple[Status, ...]] = _linear([s for s in Status if s is not Status.CANCELLED], Status.CANCELLED)

STATUS_UK = {"draft": "проєкт", "consultation": "громадське обговорення", "agreement": "погодження",
             "adopted": "прийнято", "implementation": "виконання", "completed": "виконано",
             "cancelled": "скасовано"}


class Kind(str, Enum):
    COUNCIL_DECISION = "council-decision"
    ADMINISTRATION_ORDER = "administration-order"
    DEVELOPMENT_PROGRAMME = "development-programme"
    LAND_USE_CHANGE = "land-use-change"
    DETAILED_PLAN = "detailed-plan"
    OTHER = "other"


KIND_UK = {"council-decision": "рішення ради", "administration-order": "розпорядження адміністрації",
           "development-programme": "програма розвитку", "land-use-change": "зміна цільового призначення",
           "detailed-plan": "детальний план території", "other": "інше"}


class Stage(str, Enum):
    IDEA = "idea"
    PREPARATION = "preparation"
    FUNDING = "funding"
    PROCUREMENT = "procurement"
    WORKS = "works"
    COMMISSIONING = "commissioning"
    CANCELLED = "cancelled"


#: the fixed route of a development project
STAGE_NEXT: dict[Stage, tuple[Stage, ...]] = _linear([s for s in Stage if s is not Stage.CANCELLED], Stage.CANCELLED)


@dataclass(frozen=True)
class Actor:
    """Who acts: a name, a role (see permissions.py) and the organisation's KATOTTH code. Passed in by the
    caller (the access package will build it from a login); the register never trusts anything else."""

    name: str
    role: str
    org: str | None = None  # KATOTTH code of the body, or CODE/unit for a unit of it (an oblast department)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "org": self.org}


@dataclass(frozen=True)
class Text:
    uk: str
    en: str = ""


@dataclass(frozen=True)
class Document:
    """A file of the decision, identified by its sha256 (the adopted text has role 'adopted-text')."""

    name: str
    sha256: str
    size: int
    role: str = "draft-text"
    added_at: str = ""


@dataclass
class Comment:
    id: int
    author: str
    at: str
    text: str
    hidden: bool = False
    hidden_by: str | None = None
    hidden_at: str | None = None
    hidden_reason: str | None = None


@dataclass(frozen=True)
class Answer:
    """One party's answer: agree / object (with reasons) / silence (recorded after the deadline).
    Immutable; ``id`` is global so a parent or child node can store the same document."""

    id: str
    decision: str
    party: str
    answer: str
    at: str
    by: str | None = None
    reasons: str | None = None


@dataclass
class Milestone:
    id: int
    title: str
    due: str  # YYYY-MM-DD
    responsible: str  # KATOTTH of the responsible body
    done_at: str | None = None
    reports: list[dict[str, Any]] = field(default_factory=list)  # {at, by, progress, text}


@dataclass
class Target:
    """A target indicator "from X to Y" of one hromada; ``actual`` is recomputed from the passport."""

    indicator: str
    katotth: str
    from_value: float
    to_value: float
    actual: float | None = None
    actual_at: str | None = None
    actual_source_version: str | None = None


@dataclass
class Decision:
    id: str
    title: Text
    summary: Text
    kind: str
    issuer: str
    geometry: str | None  # WKT in EPSG:4326 (lon/lat)
    geometry_source: dict[str, Any]  # {"drawn": "wkt"|"geojson"} or {"dataset", "features", "version"}
    status: str = Status.DRAFT.value
    documents: list[Document] = field(default_factory=list)
    parties: list[str] = field(default_factory=list)
    cites: list[dict[str, str]] = field(default_factory=list)  # passport indicators: {katotth, indicator}
    consultation_until: str | None = None
    agreement_deadline: str | None = None
    justification: dict[str, Any] | None = None
    comments: list[Comment] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Decision":
        d = dict(d)
        d["title"], d["summary"] = Text(**d["title"]), Text(**d["summary"])
        d["documents"] = [Document(**x) for x in d.get("documents", [])]
        d["comments"] = [Comment(**x) for x in d.get("comments", [])]
        d["answers"] = [Answer(**x) for x in d.get("answers", [])]
        d["milestones"] = [Milestone(**x) for x in d.get("milestones", [])]
        d["targets"] = [Target(**x) for x in d.get("targets", [])]
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def visible_comments(self) -> list[Comment]:
        return [c for c in self.comments if not c.hidden]

    def answer_of(self, party: str) -> Answer | None:
        return next((a for a in self.answers if a.party == party), None)


@dataclass
class Budget:
    source: str  # e.g. "state budget", "local budget", "EU grant"
    planned: float
    actual: float = 0.0
    currency: str = "UAH"


@dataclass
class Project:
    id: str
    title: Text
    issuer: str
    decisions: list[str]
    stage: str = Stage.IDEA.value
    tender_id: str | None = None
    budget: list[Budget] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""
    #: the OCDS contracting process it was imported as (None: this node's own, ``<ocid prefix>-<id>``)
    ocid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Project":
        d = dict(d)
        d["title"] = Text(**d["title"])
        d["budget"] = [Budget(**b) for b in d.get("budget", [])]
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class HistoryRow:
    """One change: who, when, what (action), which field from which value to which, and why."""

    entity: str  # "decision" | "project"
    entity_id: str
    at: str
    actor: dict[str, Any]
    action: str
    field: str | None = None
    old: Any = None
    new: Any = None
    reason: str | None = None
