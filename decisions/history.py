"""History rows from two states of a decision or project: one row per changed field, list fields (comments,
answers, milestones, budget, …) one row per changed item, so the history stays readable and small."""

from __future__ import annotations

from typing import Any

from decisions.model import Actor, HistoryRow


def diff(entity: str, old: dict[str, Any] | None, new: dict[str, Any], actor: Actor, action: str, at: str,
         reason: str | None) -> list[HistoryRow]:
    """One history row per changed field; list fields (comments, answers, milestones, …) per changed item."""
    rows = []
    skip = {"updated_at"}
    for k, v in new.items():
        o = (old or {}).get(k)
        if k in skip or o == v:
            continue
        if isinstance(v, list) and isinstance(o, list) and old is not None:
            for i in range(max(len(o), len(v))):
                a, b = (o[i] if i < len(o) else None), (v[i] if i < len(v) else None)
                if a != b:
                    rows.append(HistoryRow(entity, new["id"], at, actor.to_dict(), action, f"{k}[{i}]", a, b, reason))
            continue
        rows.append(HistoryRow(entity, new["id"], at, actor.to_dict(), action, k, o, v, reason))
    return rows
