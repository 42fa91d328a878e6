"""Development projects as OCDS 1.1 release packages.

The official release-package schema is not shipped by any package installable here (ocdskit,
ocdsextensionregistry, ocds-babel, libcoveocds were checked: they fetch it from the internet at run time),
so :func:`validate` checks against ``schema/ocds-release-package-subset.json``, written for this project with
the official names, required keys and code lists of the parts we write and no unknown keys allowed there.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema

from decisions.errors import DecisionError
from decisions.model import Project, iso, utcnow

#: the OCDS tag and tender status of each stage of a project
STAGE_TAGS = {"idea": (["planning"], "planning"), "preparation": (["planning"], "planning"),
              "funding": (["planningUpdate"], "planned"), "procurement": (["tender"], "active"),
              "works": (["contract", "implementation"], "complete"),
              "commissioning": (["implementationUpdate"], "complete"), "cancelled": (["tenderCancellation"], "cancelled")}


def schema() -> dict[str, Any]:
    text = resources.files("decisions").joinpath("schema/ocds-release-package-subset.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def release(p: Project, *, ocid_prefix: str, buyer_name: str, decision_url: str = "") -> dict[str, Any]:
    ocid = f"{ocid_prefix}-{p.id}"
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
                                "description": "; ".join(f"{b.source}: {b.planned:.2f} {b.currency}" for b in p.budget),
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
