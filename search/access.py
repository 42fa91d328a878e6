"""Who may find what: the caller's catalog view (:mod:`catalog.access_view`, decided by the node's policy for
the ``landing`` service) as a condition on the index, never the index alone.

The index keeps each document's ``access`` (its level: public | officials | restricted) and its dataset
``key`` (``<origin node id>/<dataset id>``; empty for passports, services and records about no dataset). A
document is found when it is public and its key is not hidden by a rule, or when its key is one the view
shows (in full or without data links) — the same condition the catalog process applies to pycsw.
"""

from __future__ import annotations

from catalog.catalog_view import PUBLIC_ONLY, CatalogView

PUBLIC = "public"


def visible(view: CatalogView = PUBLIC_ONLY, prefix: str = "d.") -> tuple[str, list[str]]:
    """The SQL condition (with its bound values) on the ``docs`` table for what ``view`` may find."""
    if view.everything:
        return "1", []
    cond, args = f"{prefix}access = 'public'", []
    if view.hide | view.meta:
        cond += f" AND {prefix}key NOT IN ({','.join('?' * len(view.hide | view.meta))})"
        args += sorted(view.hide | view.meta)
    if view.full:
        cond = f"({cond}) OR {prefix}key IN ({','.join('?' * len(view.full))})"
        args += sorted(view.full)
    if view.meta:  # shown without links (a public record has no such variant: hidden)
        cond = f"({cond}) OR ({prefix}access != 'public' AND {prefix}key IN ({','.join('?' * len(view.meta))}))"
        args += sorted(view.meta)
    return f"({cond})", args
