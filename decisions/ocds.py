"""Development projects as OCDS 1.1 release packages, out (:func:`release_package`) and in
(:func:`read_releases`: a package or a bare list of releases, validated whole before anything is read).

Both ways the package is checked against the official OCDS 1.1 release package schema, vendored unchanged in
``schema/ocds/`` and read offline (:mod:`decisions.ocds_schema`): an export that breaks it is not written, an
import that breaks it changes nothing.

What a project is in a release, both ways: the stage is the pair (tags, ``tender.status``) of
:data:`STAGE_TAGS` (with an award and a contract for works/commissioning), the budget one funder party per
source with ``planning.budget.description`` as ``SOURCE: PLANNED CUR (actual SPENT); …`` in the funders' order
(core OCDS has no per-source budget without the budget-breakdown extension, so this is the one place
per-source money fits) and the spending also as contract transactions paid by the funder, the decisions
``relatedProcesses`` with scheme ``decision``, the issuer the buyer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from decisions import ocds_schema
from decisions.errors import DecisionError
from decisions.model import KATOTTH, Budget, Project, Stage, iso, parse_time, utcnow

#: the OCDS tag and tender status of each stage of a project
STAGE_TAGS = {"idea": (["planning"], "planning"), "preparation": (["planningUpdate"], "planning"),
              "funding": (["planningUpdate"], "planned"), "procurement": (["tender"], "active"),
              "works": (["contract", "implementation"], "complete"),
              "commissioning": (["implementationUpdate"], "complete"), "cancelled": (["tenderCancellation"], "cancelled")}


def release(p: Project, *, ocid_prefix: str, buyer_name: str, decision_url: str = "") -> dict[str, Any]:
    ocid = p.ocid or f"{ocid_prefix}-{p.id}"
    tags, tender_status = STAGE_TAGS[p.stage]
    currency = p.budget[0].currency if p.budget else "UAH"
    planned = sum(b.planned for b in p.budget)
    buyer = {"id": p.issuer, "name": buyer_name}
    r: dict[str, Any] = {
        "ocid": ocid, "id": f"{ocid}-{p.stage}-{p.updated_at}", "date": p.updated_at, "tag": tags,
        "initiationType": "tender", "language": "uk", "buyer": buyer,
        "parties": [{"id": p.issuer, "name": buyer_name, "identifier": {"scheme": "UA-KATOTTH", "id": p.issuer},
                     "roles": ["buyer", "procuringEntity"]}]
        + [{"id": f"funder-{i}", "name": b.source, "roles": ["funder"]} for i, b in enumerate(p.budget, 1)],
        "planning": {"rationale": "; ".join(f"decision {d}" for d in p.decisions),
                     "budget": {"id": p.id, "project": p.title.uk, "projectID": p.id,
                                "description": budget_description(p.budget),
                                "amount": {"amount": planned, "currency": currency}}},
        "tender": {"id": p.tender_id or f"{p.id}-plan", "title": p.title.uk, "status": tender_status,
                   "value": {"amount": planned, "currency": currency}},
        "relatedProcesses": [{"id": d, "relationship": ["planning"], "title": f"decision {d}", "scheme": "decision",
                              "identifier": d} for d in p.decisions],
    }
    if p.stage in ("works", "commissioning"):
        # a contract names the award it follows (contracts/awardID): the award is written too, so the
        # reference resolves inside the release; the money spent is paid by the funder party of its source
        r["awards"] = [{"id": f"{p.id}-award", "title": p.title.uk, "status": "active",
                        "value": {"amount": planned, "currency": currency}}]
        r["contracts"] = [{"id": f"{p.id}-contract", "awardID": f"{p.id}-award", "title": p.title.uk,
                           "status": "terminated" if p.stage == "commissioning" else "active",
                           "implementation": {"transactions": [
                               {"id": f"{p.id}-t{i}", "date": p.updated_at,
                                "payer": {"id": f"funder-{i}", "name": b.source},
                                "value": {"amount": b.actual, "currency": b.currency}}
                               for i, b in enumerate(p.budget, 1) if b.actual]}}]
    return r


def release_package(projects: list[Project], *, uri: str, publisher: str, ocid_prefix: str = "ocds-gpnw01",
                    buyer_names: dict[str, str] | None = None) -> dict[str, Any]:
    """One release package with the current release of each project; validated before it is returned."""
    if not projects:
        raise DecisionError("no projects to export; create one with `geoportal decision project create`")
    names = buyer_names or {}
    pkg = {"uri": uri, "version": "1.1", "publishedDate": iso(utcnow()), "publisher": {"name": publisher},
           "releases": [release(p, ocid_prefix=ocid_prefix, buyer_name=names.get(p.issuer, p.issuer))
                        for p in projects]}
    problems = ocds_schema.problems(pkg)
    if problems:
        first = problems[0]
        where = "the package" if first.release is None else (
            f"{_release_name(pkg['releases'][first.release], first.release)} of project {projects[first.release].id}")
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise DecisionError(f"the OCDS export breaks the OCDS 1.1 schema: {where}: {first.field}: {first.message}"
                            f"{more} — correct the project's data if that is where the value comes from, else "
                            "this is a fault of the exporter (decisions/ocds.py) to report; nothing was written")
    return pkg


def validate(pkg: Any) -> list[str]:
    """Every problem against the official OCDS 1.1 release package schema (empty when valid), each as
    ``JSON/PATH: message``."""
    return [f"{'/'.join(map(str, p.path)) or '(root)'}: {p.message}" for p in ocds_schema.problems(pkg)]


def _release_name(r: Any, index: int) -> str:
    """``release 2 (OCID, id ID)``: how an error names a release; a hostile value is cut short."""
    if not isinstance(r, dict):
        return f"release {index} (not an object)"
    ocid, rid = (r.get(k) for k in ("ocid", "id"))
    ocid = ocid[:80] if isinstance(ocid, str) and ocid else "no ocid"
    rid = rid[:120] if isinstance(rid, str) and rid else "no id"
    return f"release {index} ({ocid}, id {rid})"


def budget_description(budget: list[Budget]) -> str:
    """``SOURCE: PLANNED CUR (actual SPENT); …``: read by people, and read back by :func:`read_releases`."""
    return "; ".join(f"{b.source}: {b.planned:.2f} {b.currency}" + (f" (actual {b.actual:.2f})" if b.actual else "")
                     for b in budget)


# -- import ----------------------------------------------------------------------------------------------

class OcdsImportError(DecisionError):
    """A release cannot become a project: names the release (index, ocid and id), the field and what to do."""


@dataclass(frozen=True)
class ImportedRelease:
    """What one release says about a project; ``None``: the release does not say (an update keeps it)."""

    index: int
    ocid: str
    id: str
    date: str
    stage: str
    issuer: str
    title: str | None
    tender_id: str | None
    budget: list[Budget] | None
    decisions: list[str] | None

    def where(self) -> str:
        return f"release {self.index} ({self.ocid}, id {self.id})"

    @property
    def suffix(self) -> str:
        """The ocid without its ``ocds-xxxxxx-`` prefix: the project id when this node (or one like it) wrote it."""
        return self.ocid.split("-", 2)[2]


def read_releases(doc: Any) -> list[ImportedRelease]:
    """The releases of an OCDS release package or a JSON list of releases, checked against the official
    schema as the export is, then read; the first problem is raised naming the release, the field and what to
    do, before anything is written."""
    if isinstance(doc, dict) and "releases" in doc:
        pkg, releases = doc, doc["releases"]
    elif isinstance(doc, list):
        releases = doc
        pkg = {"uri": "urn:geoportal:ocds-import", "version": "1.1", "publishedDate": iso(utcnow()),
               "publisher": {"name": "import"}, "releases": releases}
    else:
        raise OcdsImportError("the file is neither an OCDS release package (an object with 'releases') nor a list "
                              "of releases; give what `geoportal decision ocds` writes")
    _check_schema(pkg, releases)
    return [_read(r, i) for i, r in enumerate(releases)]


def _check_schema(pkg: dict[str, Any], releases: Any) -> None:
    problems = ocds_schema.problems(pkg)
    if not problems:
        return
    first = problems[0]
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    if first.release is not None:
        raise OcdsImportError(f"{_release_name(releases[first.release], first.release)}: {first.field}: "
                              f"{first.message}{more} — fix it in the file (OCDS 1.1, as `geoportal decision ocds` "
                              "writes it) or leave the release out; nothing was imported")
    raise OcdsImportError(f"the package: {first.field}: {first.message}{more} — fix the file (an OCDS 1.1 release "
                          "package); nothing was imported")


def stage_of(r: dict[str, Any]) -> str:
    """The project stage a release stands for: the inverse of :data:`STAGE_TAGS`, and a sensible reading of
    a release another publisher wrote (cancellation, then contracts, then the tender, then planning)."""
    tags = set(r["tag"])
    status = (r.get("tender") or {}).get("status")
    contracts = r.get("contracts") or []
    if status in ("cancelled", "unsuccessful", "withdrawn") or "tenderCancellation" in tags:
        return Stage.CANCELLED.value
    if any(c.get("status") == "terminated" for c in contracts) or tags & {"implementationUpdate", "contractTermination"}:
        return Stage.COMMISSIONING.value
    if contracts or status == "complete" or tags & {"contract", "contractUpdate", "contractAmendment", "implementation"}:
        return Stage.WORKS.value
    if status == "active" or tags & {"tender", "tenderUpdate", "tenderAmendment", "award", "awardUpdate"}:
        return Stage.PROCUREMENT.value
    if status == "planned":
        return Stage.FUNDING.value
    if "planningUpdate" in tags:
        return Stage.PREPARATION.value
    return Stage.IDEA.value


def _read(r: dict[str, Any], index: int) -> ImportedRelease:
    """One schema-valid release as a project. The official schema leaves most fields optional or nullable
    (a party's roles, a buyer's id, a value's amount), so each one this reading needs is checked here and
    named by its JSON path when it is missing."""
    where = _release_name(r, index)
    parties = r.get("parties") or []
    buyer = r.get("buyer") or next((p for p in parties if "buyer" in (p.get("roles") or [])), None)
    if buyer is None:
        raise OcdsImportError(f"{where}: buyer: missing — the buyer is the project's issuing body; give "
                              "buyer/id as its KATOTTH code")
    issuer = buyer.get("id")
    if not isinstance(issuer, str) or not KATOTTH.match(issuer):
        raise OcdsImportError(f"{where}: buyer/id: {_shown(issuer)} is not a KATOTTH code (UA + 17 digits) — the "
                              "buyer is the project's issuing body; give its code")
    tender = r.get("tender") or {}
    planning = r.get("planning") or {}
    title = tender.get("title") or (planning.get("budget") or {}).get("project")
    related = r.get("relatedProcesses")
    decisions = None if related is None else [x["identifier"] for x in related
                                              if x.get("scheme") == "decision" and x.get("identifier")]
    try:
        date = iso(parse_time(r["date"]))
    except ValueError:
        raise OcdsImportError(f"{where}: date: {_shown(r['date'])} is not an ISO date-time") from None
    tender_id = tender.get("id")  # a string or an integer in OCDS; a string here
    return ImportedRelease(index, r["ocid"], r["id"], date, stage_of(r), issuer, title,
                           None if tender_id is None else str(tender_id), _budget(r, where), decisions)


def _shown(value: Any) -> str:
    """A value from the file as an error shows it: quoted, and cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "…"


def _money(value: Any, where: str, path: str) -> tuple[float, str] | None:
    """An OCDS Value as (amount, currency); None when absent. Both parts are optional in the schema, and a
    project's money needs both."""
    if value is None:
        return None
    amount, currency = value.get("amount"), value.get("currency")
    if amount is None or currency is None:
        raise OcdsImportError(f"{where}: {path}: give both amount and currency (found {_shown(value)}); a "
                              "project's money is an amount in a currency")
    return float(amount), str(currency)


_AMOUNT = re.compile(r": (-?\d+(?:\.\d+)?) ([A-Z]{3})(?: \(actual (-?\d+(?:\.\d+)?)\))?(?:; |$)")


def _funders(r: dict[str, Any], where: str) -> list[str]:
    """The names of the funder parties, in their order: each is a budget source."""
    names = []
    for i, p in enumerate(r.get("parties") or []):
        if "funder" in (p.get("roles") or []):
            name = p.get("name")
            if not isinstance(name, str) or not name.strip():
                raise OcdsImportError(f"{where}: parties/{i}/name: a funder party needs a name (the budget source it "
                                      "stands for); give it")
            names.append(name)
    return names


def _spent(r: dict[str, Any], where: str, funders: list[str]) -> dict[str, float]:
    """The money paid by source: the transactions of the contracts, by their payer's name (or the one funder)."""
    spent: dict[str, float] = {}
    for ci, c in enumerate(r.get("contracts") or []):
        for ti, t in enumerate((c.get("implementation") or {}).get("transactions") or []):
            path = f"contracts/{ci}/implementation/transactions/{ti}/value"
            money = _money(t.get("value"), where, path)
            if money is None:
                raise OcdsImportError(f"{where}: {path}: missing — give the amount paid (amount and currency)")
            src = (t.get("payer") or {}).get("name") or (funders[0] if len(funders) == 1 else "")
            spent[src] = spent.get(src, 0.0) + money[0]
    return spent


def _budget(r: dict[str, Any], where: str) -> list[Budget] | None:
    """The budget by source: the funders (in order) with their amounts read from the budget's description;
    a release with one total and at most one funder is one source; one saying nothing → None."""
    funders = _funders(r, where)
    budget = (r.get("planning") or {}).get("budget") or {}
    amount = _money(budget.get("amount"), where, "planning/budget/amount")
    spent = _spent(r, where, funders)
    if not funders and amount is None:
        return None
    if not funders and not (amount and amount[0]) and not spent:
        return []  # a project without money yet (what the export writes for one)
    items, rest = [], budget.get("description") or ""
    for name in funders:
        m = _AMOUNT.match(rest, len(name)) if rest.startswith(name) else None
        if m is None:
            items = []
            break
        actual = float(m.group(3)) if m.group(3) is not None else spent.get(name, 0.0)
        items.append(Budget(name, float(m.group(1)), actual, m.group(2)))
        rest = rest[m.end():]
    if items and not rest:
        if amount is not None and abs(sum(b.planned for b in items) - amount[0]) > 0.01 * len(items):
            raise OcdsImportError(f"{where}: planning/budget/amount: {amount[0]} is not the sum of the funders' "
                                  f"amounts in planning/budget/description ({budget_description(items)}); make the "
                                  "two agree")
        return items
    if len(funders) > 1:
        raise OcdsImportError(f"{where}: planning/budget/description: does not give each of the {len(funders)} "
                              "funders' planned amount in their order as 'SOURCE: AMOUNT CUR; …'; write it so, or "
                              "name one funder for the total")
    source = funders[0] if funders else "budget"
    total, currency = amount or (0.0, "UAH")
    return [Budget(source, total, sum(spent.values()), currency)]
