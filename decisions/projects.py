"""The actions on development projects (idea → preparation → funding → procurement → works → commissioning,
or cancelled), mixed into the register: the same one-transaction frame and per-field history as decisions."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from decisions import checks, permissions
from decisions.errors import DecisionError, IllegalTransition
from decisions.history import diff
from decisions.model import STAGE_NEXT, Actor, Budget, Project, Stage, Text, iso, utcnow
from decisions.repository import PROJECTS, Repository
from decisions.versions import check_match

if TYPE_CHECKING:
    from decisions.ocds import ImportedRelease

#: the route a project moves forward on (cancelled is reachable from any open stage)
ROUTE = [s.value for s in Stage if s is not Stage.CANCELLED]
FINAL = {Stage.COMMISSIONING.value, Stage.CANCELLED.value}
PROJECT_ID = re.compile(r"^P-\d{4}-\d{3,}$")


@dataclass
class ImportReport:
    """What an OCDS import did: (project id, ocid) created and updated, ocids already as given, and notes a
    person should read (decisions named that this register does not hold)."""

    created: list[tuple[str, str]] = field(default_factory=list)
    updated: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class ProjectActions:
    repo: Repository

    def create_project(self, actor: Actor, *, title: Text, issuer: str, decisions: list[str],
                       budget: list[Budget] = (), now: datetime | None = None) -> Project:  # type: ignore[assignment]
        now = now or utcnow()
        checks.katotth(issuer, "issuer")
        permissions.check(actor, "project", owner=issuer)
        with self.repo.transaction() as tx:
            for did in decisions:
                tx.get_decision(did, lock=False)  # NotFound names it
            prefix = f"P-{now.year}-"
            n = max(tx.count_ids(PROJECTS, prefix), tx.count_created("project", prefix)) + 1
            p = Project(id=f"P-{now.year}-{n:03d}", title=title, issuer=issuer, decisions=list(decisions),
                        budget=list(budget), created_at=iso(now), updated_at=iso(now))
            tx.put_project(p, new=True)
            tx.log(diff("project", None, p.to_dict(), actor, "create", iso(now), "project created"))
        return p

    def get_project(self, id: str) -> Project:
        with self.repo.transaction(write=False) as tx:
            return tx.get_project(id, lock=False)

    def list_projects(self) -> list[Project]:
        with self.repo.transaction(write=False) as tx:
            return tx.list_projects()

    def _change_project(self, actor: Actor, id: str, action: str, reason: str, now: datetime | None,
                        change: Any, if_match: str | None = None) -> Project:
        now = now or utcnow()
        with self.repo.transaction() as tx:
            old = tx.get_project(id)
            check_match(old, if_match, f"project {id}")
            new = copy.deepcopy(old)
            permissions.check(actor, "project", owner=old.issuer)
            change(new)
            new.updated_at = iso(now)
            tx.put_project(new)
            tx.log(diff("project", old.to_dict(), new.to_dict(), actor, action, iso(now), reason))
        return new

    def transition_project(self, actor: Actor, id: str, to: str, *, reason: str, tender_id: str | None = None,
                           now: datetime | None = None, if_match: str | None = None) -> Project:
        def change(p: Project) -> None:
            nxt = [s.value for s in STAGE_NEXT[Stage(p.stage)]]
            if to not in nxt:
                raise IllegalTransition(f"project {p.id} is at '{p.stage}'; it can move to: "
                                        f"{', '.join(nxt) or 'nothing (final stage)'} — not to '{to}'")
            if to == Stage.PROCUREMENT.value:
                if not tender_id:
                    raise DecisionError(f"project {p.id}: procurement needs the tender id (--tender-id)")
                p.tender_id = tender_id
            p.stage = to
        return self._change_project(actor, id, "transition", checks.reason(reason), now, change, if_match)

    def edit_project(self, actor: Actor, id: str, *, reason: str, title: Text | None = None,
                     decisions: list[str] | None = None, budget: list[Budget] | None = None,
                     now: datetime | None = None, if_match: str | None = None) -> Project:
        """Change a project's title, decisions or whole budget (the stage moves only by transition)."""
        def change(p: Project) -> None:
            if title is not None:
                if not title.uk.strip():
                    raise DecisionError("title: the Ukrainian title is required")
                p.title = title
            if decisions is not None:
                p.decisions = list(decisions)
            if budget is not None:
                p.budget = list(budget)
        if decisions is not None:
            with self.repo.transaction(write=False) as tx:
                for did in decisions:
                    tx.get_decision(did, lock=False)
        return self._change_project(actor, id, "edit", checks.reason(reason), now, change, if_match)

    def delete_project(self, actor: Actor, id: str, *, reason: str = "idea withdrawn", now: datetime | None = None,
                       if_match: str | None = None) -> None:
        """Remove a project still at 'idea'; later ones are cancelled, never removed."""
        now = now or utcnow()
        with self.repo.transaction() as tx:
            p = tx.get_project(id)
            check_match(p, if_match, f"project {id}")
            permissions.check(actor, "project", owner=p.issuer)
            if p.stage != Stage.IDEA.value:
                raise IllegalTransition(f"project {id} is at '{p.stage}': only an idea can be deleted; cancel it "
                                        "instead (stage → cancelled), which keeps it and its history public")
            tx.delete(PROJECTS, id)
            tx.log(diff("project", p.to_dict(), {"id": id, "stage": "deleted"}, actor, "delete", iso(now),
                        checks.reason(reason)))

    def set_budget(self, actor: Actor, id: str, source: str, *, planned: float | None = None,
                   actual: float | None = None, currency: str = "UAH", reason: str = "budget updated",
                   now: datetime | None = None) -> Project:
        def change(p: Project) -> None:
            b = next((b for b in p.budget if b.source == source), None)
            if b is None:
                b = Budget(source, 0.0, 0.0, currency)
                p.budget.append(b)
            if planned is not None:
                b.planned = float(planned)
            if actual is not None:
                b.actual = float(actual)
        return self._change_project(actor, id, "budget", reason, now, change)

    # -- OCDS import -----------------------------------------------------------------------------------
    def import_releases(self, actor: Actor, releases: list["ImportedRelease"], *, source: str,
                        ocid_prefix: str = "ocds-gpnw01", now: datetime | None = None) -> ImportReport:
        """Create or update the projects the releases describe, matched by ocid (this node's own projects are
        ``<ocid_prefix>-<id>``), in ONE transaction: a release that is refused — permission, a stage behind the
        register's, another issuer — rolls back every one. Releases of one ocid are applied oldest first.
        Decisions named that this register does not hold are kept (they are the publisher's) and noted."""
        now = now or utcnow()
        order: dict[str, int] = {}
        for r in releases:
            order.setdefault(r.ocid, len(order))
        report = ImportReport()
        with self.repo.transaction() as tx:
            by_ocid = {(p.ocid or f"{ocid_prefix}-{p.id}"): p for p in tx.list_projects()}
            known = {d.id for d in tx.list_decisions()}
            touched: dict[str, Project | None] = {}
            for r in sorted(releases, key=lambda r: (order[r.ocid], r.date, r.index)):
                old = by_ocid.get(r.ocid)
                touched.setdefault(r.ocid, copy.deepcopy(old))
                new = self._imported(tx, actor, r, old, by_ocid, now)
                if old is not None and new.to_dict() == old.to_dict():
                    continue
                tx.put_project(new, new=old is None)
                tx.log(diff("project", None if old is None else old.to_dict(), new.to_dict(), actor,
                            "create" if old is None else "ocds-import", iso(now),
                            f"imported from OCDS ({source}, release {r.index}, {r.ocid})"))
                by_ocid[r.ocid] = new
                for did in r.decisions or []:
                    if did not in known:
                        report.notes.append(f"{r.where()}: decision {did} is not in this register; the link is "
                                            "kept as the publisher gave it")
            for ocid, before in touched.items():
                after = by_ocid[ocid]
                if before is None:
                    report.created.append((after.id, ocid))
                elif after.to_dict() != before.to_dict():
                    report.updated.append((after.id, ocid))
                else:
                    report.unchanged.append(after.id)
        return report

    def _imported(self, tx: Any, actor: Actor, r: "ImportedRelease", old: Project | None,
                  by_ocid: dict[str, Project], now: datetime) -> Project:
        """The project after one release: checked like a project created or moved by hand."""
        from decisions.ocds import OcdsImportError

        if old is not None and old.issuer != r.issuer:
            raise OcdsImportError(f"{r.where()}: buyer/id: {r.issuer}, but project {old.id} with this ocid is issued "
                                  f"by {old.issuer}; the issuer of a project does not change — check the ocid "
                                  "(another node's projects need their own --ocid-prefix)")
        permissions.check(actor, "project", owner=r.issuer)
        if old is None:
            if not (r.title or "").strip():
                raise OcdsImportError(f"{r.where()}: tender/title: a new project needs a title (tender/title or "
                                      "planning/budget/project)")
            p = Project(id=self._import_id(tx, r, by_ocid, now), title=Text(r.title or ""), issuer=r.issuer,
                        decisions=[], created_at=r.date, ocid=r.ocid)
        else:
            p = copy.deepcopy(old)
            if old.stage != r.stage:
                if old.stage in FINAL:
                    raise IllegalTransition(f"{r.where()}: project {old.id} is at '{old.stage}', a final stage; "
                                            f"the release says '{r.stage}' — leave the release out")
                if r.stage != Stage.CANCELLED.value and ROUTE.index(r.stage) < ROUTE.index(old.stage):
                    raise IllegalTransition(f"{r.where()}: tag, tender/status: stage '{r.stage}' is behind project "
                                            f"{old.id}'s '{old.stage}'; an import only moves a project forward — "
                                            "leave the older release out")
            if r.title and r.title != old.title.uk:
                p.title = Text(r.title, old.title.en)
        p.stage = r.stage
        if r.tender_id is not None:
            p.tender_id = None if r.tender_id == f"{p.id}-plan" or r.tender_id == f"{r.suffix}-plan" else r.tender_id
        if p.stage in (Stage.PROCUREMENT.value, Stage.WORKS.value, Stage.COMMISSIONING.value) and not p.tender_id:
            raise OcdsImportError(f"{r.where()}: tender/id: stage '{p.stage}' needs the tender id of the procurement; "
                                  "give it in tender/id")
        if r.budget is not None:
            p.budget = list(r.budget)
        if r.decisions is not None:
            p.decisions = list(r.decisions)
        p.updated_at = r.date
        return p

    def _import_id(self, tx: Any, r: "ImportedRelease", by_ocid: dict[str, Project], now: datetime) -> str:
        """The id the publisher gave (the ocid's tail, when it is a project id free here and never used), so a
        round trip keeps ids; else the next of this year."""
        taken = {p.id for p in by_ocid.values()}
        if PROJECT_ID.match(r.suffix) and r.suffix not in taken and not tx.history("project", r.suffix):
            return r.suffix
        prefix = f"P-{now.year}-"
        n = max(tx.count_ids(PROJECTS, prefix), tx.count_created("project", prefix)) + 1
        return f"P-{now.year}-{n:03d}"
