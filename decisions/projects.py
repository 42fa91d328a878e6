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
            n = tx.count_ids(PROJECTS, f"P-{now.year}-") + 1
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
                        change: Any) -> Project:
        now = now or utcnow()
        with self.repo.transaction() as tx:
            old = tx.get_project(id)
            new = copy.deepcopy(old)
            permissions.check(actor, "project", owner=old.issuer)
            change(new)
            new.updated_at = iso(now)
            tx.put_project(new)
            tx.log(diff("project", old.to_dict(), new.to_dict(), actor, action, iso(now), reason))
        return new

    def transition_project(self, actor: Actor, id: str, to: str, *, reason: str, tender_id: str | None = None,
                           now: datetime | None = None) -> Project:
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
        return self._change_project(actor, id, "transition", checks.reason(reason), now, change)

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
