"""Development projects as OCDS 1.1 release packages, out (:func:`release_package`) and in
(:func:`read_releases`: a package or a bare list of releases, validated whole before anything is read).

What a project is in a release, both ways: the stage is the pair (tags, ``tender.status``) of
:data:`STAGE_TAGS` (with contracts for works/commissioning), the budget one funder party per source with
``planning.budget.description`` as ``SOURCE: PLANNED CUR (actual SPENT); …`` in the funders' order (the subset
has no budget-breakdown extension, so this is the one place per-source money fits) and the spending also as
contract transactions, the decisions ``relatedProcesses`` with scheme ``decision``, the issuer the buyer.

The official release-package schema is not shipped by any package installable here (ocdskit,
ocdsextensionregistry, ocds-babel, libcoveocds were checked: they fetch it from the internet at run time),
so :func:`validate` checks against ``schema/ocds-release-package-subset.json``, written for this project with
the official names, required keys and code lists of the parts we write and no unknown keys allowed there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema

from decisions.errors import DecisionError
from decisions.model import KATOTTH, Budget, Project, Stage, iso, parse_time, utcnow

#: the OCDS tag and tender status of each stage of a project
STAGE_TAGS = {"idea": (["planning"], "planning"), "preparation": (["planningUpdate"], "planning"),
              "funding": (["planningUpdate"], "planned"), "procurement": (["tender"], "active"),
              "works": (["contract", "implementation"], "complete"),
              "commissioning": (["implementationUpdate"], "complete"), "cancelled": (["tenderCancellation"], "cancelled")}


def schema() -> dict[str, Any]:
    text = resources.files("decisions").joinpath("schema/ocds-release-package-subset.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


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
        r["contracts"] = [{"id": f"{p.id}-contract", "awardID": f"{p.id}-award", "title": p.title.uk,
                           "status": "terminated" if p.stage == "commissioning" else "active",
                           "implementation": {"transactions": [
                               {"id": f"{p.id}-t{i}", "source": b.source, "date": p.updated_at,
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
    problems = validate(pkg)
    if problems:
        raise DecisionError(f"the OCDS export is not valid: {'; '.join(problems[:5])}")
    return pkg


def validate(pkg: dict[str, Any]) -> list[str]:
    """Every problem against the schema subset (empty when valid), with the JSON path of each."""
    v = jsonschema.Draft4Validator(schema(), format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in sorted(v.iter_errors(pkg), key=lambda e: list(map(str, e.absolute_path)))]


def budget_description(budget: list[Budget]) -> str:
    """``SOURCE: PLANNED CUR (actual SPENT); …``: read by people, and read back by :func:`read_releases`."""
    return "; ".join(f"{b.source}: {b.planned:.2f} {b.currency}" + (f" (actual {b.actual:.2f})" if b.actual else "")
                     for b in budget)


# -- import ----------------------------------------------------------------------------------------------

class OcdsImportError(DecisionError):
    """A release cannot become a project: names the release (index and ocid), the field and what to do."""


@dataclass(frozen=True)
class ImportedRelease:
    """What one release says about a project; ``None``: the release does not say (an update keeps it)."""

    index: int
    ocid: str
    date: str
    stage: str
    issuer: str
    title: str | None
    tender_id: str | None
    budget: list[Budget] | None
    decisions: list[str] | None

    def where(self) -> str:
        return f"release {self.index} ({self.ocid})"

    @property
    def suffix(self) -> str:
        """The ocid without its ``ocds-xxxxxx-`` prefix: the project id when this node (or one like it) wrote it."""
        return self.ocid.split("-", 2)[2]


def read_releases(doc: Any) -> list[ImportedRelease]:
    """The releases of an OCDS release package or a JSON list of releases, checked against the same schema
    subset the export is, then read; the first problem is raised naming the release, the field and what to
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
    v = jsonschema.Draft4Validator(schema(), format_checker=jsonschema.FormatChecker())
    errors = sorted(v.iter_errors(pkg), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    e = errors[0]
    path = list(e.absolute_path)
    if len(path) >= 2 and path[0] == "releases" and isinstance(path[1], int):
        r = releases[path[1]]
        ocid = r.get("ocid", "no ocid") if isinstance(r, dict) else "not an object"
        field = "/".join(map(str, path[2:])) or "(the release)"
        raise OcdsImportError(f"release {path[1]} ({ocid}): {field}: {e.message} — fix it in the file (OCDS 1.1, "
                              f"as `geoportal decision ocds` writes it) or leave the release out; nothing was imported")
    raise OcdsImportError(f"the package: {'/'.join(map(str, path)) or '(root)'}: {e.message} — fix the file; nothing "
                          "was imported")


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
    where = f"release {index} ({r['ocid']})"
    buyer = r.get("buyer") or next((p for p in r.get("parties", []) if "buyer" in p["roles"]), None)
    if buyer is None:
        raise OcdsImportError(f"{where}: buyer: missing — the buyer is the project's issuing body; give "
                              "buyer.id as its KATOTTH code")
    if not KATOTTH.match(buyer["id"]):
        raise OcdsImportError(f"{where}: buyer.id: '{buyer['id']}' is not a KATOTTH code (UA + 17 digits) — the "
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
        raise OcdsImportError(f"{where}: date: '{r['date']}' is not an ISO date-time") from None
    return ImportedRelease(index, r["ocid"], date, stage_of(r), buyer["id"], title, tender.get("id"),
                           _budget(r, where), decisions)


_AMOUNT = re.compile(r": (-?\d+(?:\.\d+)?) ([A-Z]{3})(?: \(actual (-?\d+(?:\.\d+)?)\))?(?:; |$)")


def _budget(r: dict[str, Any], where: str) -> list[Budget] | None:
    """The budget by source: the funders (in order) with their amounts read from the budget's description;
    a release with one total and at most one funder is one source; one saying nothing → None."""
    funders = [p["name"] for p in r.get("parties", []) if "funder" in p["roles"]]
    budget = (r.get("planning") or {}).get("budget") or {}
    amount = budget.get("amount")
    spent: dict[str, float] = {}
    for c in r.get("contracts") or []:
        for t in (c.get("implementation") or {}).get("transactions", []):
            src = t.get("source") or (t.get("payer") or {}).get("name") or (funders[0] if len(funders) == 1 else "")
            spent[src] = spent.get(src, 0.0) + float(t["value"]["amount"])
    if not funders and amount is None:
        return None
    if not funders and not amount["amount"] and not spent:
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
        if amount is not None and abs(sum(b.planned for b in items) - amount["amount"]) > 0.01 * len(items):
            raise OcdsImportError(f"{where}: planning.budget.amount: {amount['amount']} is not the sum of the "
                                  f"funders' amounts in planning.budget.description ({budget_description(items)}); "
                                  "make the two agree")
        return items
    if len(funders) > 1:
        raise OcdsImportError(f"{where}: planning.budget.description: does not give each of the {len(funders)} "
                              "funders' planned amount in their order as 'SOURCE: AMOUNT CUR; …'; write it so, or "
                              "name one funder for the total")
    source = funders[0] if funders else "budget"
    total = amount or {"amount": 0.0, "currency": "UAH"}
    return [Budget(source, float(total["amount"]), sum(spent.values()), total["currency"])]
