"""The actions on development projects (idea → preparation → funding → procurement → works → commissioning,
or cancelled), mixed into the register: the same one-transaction frame and per-field history as decisions."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from decisions import checks, permissions
from decisions.errors import DecisionError, IllegalTransition
from decisions.history import diff
from decisions.model import STAGE_NEXT, Actor, Budget, Project, Stage, Text, iso, utcnow
from decisions.repository import PROJECTS, Repository
from decisions.versions import check_match


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
