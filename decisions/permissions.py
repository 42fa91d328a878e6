"""Who may do what in the decision register — ONE table and ONE function, so the access package can later
back :func:`check` with its own rules without touching the actions.

Roles: ``citizen`` (a registered person), ``official`` (staff of a body), ``head`` (the head of a body: signs,
adopts), ``moderator`` (of comments), ``admin`` (of the node). Scopes say whose organisation must match:

    own      the actor's organisation is the decision's (or project's) issuing body
    party    the actor's organisation is the party being answered for
    any      no organisation condition
"""

from __future__ import annotations

from typing import Any

from decisions.errors import Forbidden
from decisions.model import Actor

#: action → {role: scope}. Anything not listed is refused (fail closed).
TABLE: dict[str, dict[str, str]] = {
    "draft":        {"official": "own", "head": "own", "admin": "any"},   # create, edit a draft
    "consultation": {"official": "own", "head": "own"},                   # draft → consultation
    "agreement":    {"official": "own", "head": "own"},                   # consultation → agreement
    "adopt":        {"head": "own"},                                      # agreement → adopted
    "implement":    {"official": "own", "head": "own"},                   # adopted → implementation → completed
    "cancel":       {"head": "own", "admin": "any"},
    "comment":      {"citizen": "any", "official": "any", "head": "any", "moderator": "any"},
    "moderate":     {"moderator": "any", "admin": "any"},                 # hide a comment
    "answer":       {"official": "party", "head": "party"},               # agree / object for a party
    "milestone":    {"official": "own", "head": "own"},                   # add milestones, targets
    "report":       {"official": "own", "head": "own"},                   # progress (issuer or responsible)
    "project":      {"official": "own", "head": "own", "admin": "any"},
}

#: the permission needed to move a decision INTO each status
TRANSITION_ACTION = {"consultation": "consultation", "agreement": "agreement", "adopted": "adopt",
                     "implementation": "implement", "completed": "implement", "cancelled": "cancel"}


def check(actor: Actor, action: str, *, owner: str | None = None, party: str | None = None,
          also: tuple[str, ...] = ()) -> None:
    """Raise :class:`Forbidden` unless ``actor`` may do ``action``. ``owner`` is the issuing body of the
    decision/project, ``party`` the body answered for; ``also`` lists further organisations that count as
    'own' (e.g. the body responsible for a milestone)."""
    scopes = TABLE.get(action)
    if scopes is None:
        raise Forbidden(f"action '{action}' is not in the permission table; nobody may do it")
    scope = scopes.get(actor.role)
    if scope is None:
        allowed = ", ".join(sorted(scopes))
        raise Forbidden(f"{actor.name} (role {actor.role}) may not {action}; roles allowed: {allowed}")
    if scope == "own" and actor.org not in {owner, *also}:
        raise Forbidden(f"{actor.name} ({actor.org}) may not {action} for {owner}: only its own body may")
    if scope == "party" and (party is None or actor.org != party):
        raise Forbidden(f"{actor.name} ({actor.org}) may not answer for party {party}: only that body may")


def allowed(actor: Actor, action: str, **kw: Any) -> bool:
    """The same as :func:`check`, as a yes/no (for pages that show or hide a button)."""
    try:
        check(actor, action, **kw)
    except Forbidden:
        return False
    return True


#: the register's role a principal acts in, strongest first (a head is an official named in decisions.heads)
_ROLE_ORDER = ("admin", "head", "moderator", "official", "citizen")


def actor_of(principal: Any, heads: Any = (), moderators: Any = ()) -> Actor | None:
    """The :class:`Actor` a logged-in caller acts as, or None for an anonymous one (the web answers 401).

    ``principal`` is an :class:`access.principal.Principal`. The access roles know citizens, officials,
    custodians and admins; the register also needs the head of a body (adopts, cancels) and moderators
    (hide comments), named by user in the node config's ``decisions.heads`` / ``decisions.moderators``. A
    head must be an official of a body (an organisation); a custodian loads data and counts as a citizen
    here. The strongest role wins."""
    if principal is None or principal.is_anonymous:
        return None
    roles = {r.value if hasattr(r, "value") else str(r) for r in principal.roles}
    have = set()
    if "admin" in roles:
        have.add("admin")
    if "official" in roles and principal.organisation:
        have.add("official")
        if principal.name in set(heads):
            have.add("head")
    if principal.name in set(moderators):
        have.add("moderator")
    if roles & {"citizen", "custodian", "official"}:
        have.add("citizen")
    role = next((r for r in _ROLE_ORDER if r in have), None)
    if role is None:
        return None
    via = f"@{principal.issuer}" if getattr(principal, "issuer", None) else ""
    return Actor(f"{principal.name}{via}", role, principal.organisation)
