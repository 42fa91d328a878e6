"""Who may find what. Today only anonymous search exists, and it sees public documents only; the
access-by-role work widens :func:`visible_access` for a signed-in principal and nothing else changes
(the index keeps every document's ``access``, the query filters on this set)."""

from __future__ import annotations

from typing import Any

PUBLIC = "public"


def visible_access(principal: Any = None) -> frozenset[str]:
    """The ``access`` values the principal may find. Fails closed: anyone unknown sees public only."""
    return frozenset({PUBLIC})
