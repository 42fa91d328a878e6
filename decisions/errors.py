"""The errors of the decision register; each is a GeoportalError, so the CLI prints one line and exits.

    DecisionError          anything wrong with a decision or project action (exit 10)
    ├── NotFound           no decision / project / comment / milestone with that id
    ├── IllegalTransition  the status cannot move there from where it is (names both and the allowed ones)
    ├── DeadlineError      the consultation or agreement is closed (or still open) at that moment
    ├── PreconditionFailed the caller changed an older version than the stored one (If-Match / --if-match)
    └── Forbidden          the actor's role or organisation does not allow the action (exit 9, as every
                           access refusal: access/errors.py)
"""

from __future__ import annotations

from geoportal.errors import GeoportalError


class DecisionError(GeoportalError):
    exit_code = 10


class NotFound(DecisionError):
    pass


class IllegalTransition(DecisionError):
    pass


class DeadlineError(DecisionError):
    pass


class Forbidden(DecisionError):
    exit_code = 9


class PreconditionFailed(DecisionError):
    """The value changed since the caller read it: another official saved first. Read it again."""


class NotLoggedIn(Forbidden):
    """Nobody is logged in, and the action needs someone (HTTP 401)."""
