"""Versions of a register value for optimistic concurrency: an entity tag over the whole stored value, and
the check every change makes against the tag the caller read (HTTP ``ETag`` / ``If-Match``)."""

from __future__ import annotations

import hashlib
from typing import Any

from decisions.errors import PreconditionFailed
from decisions.repository import dumps


def etag(value: Any) -> str:
    """The entity tag of a decision or project: a digest of its whole stored value, so any change — by the
    web, the CLI or a message from another node — gives a new one."""
    return '"' + hashlib.sha256(dumps(value.to_dict()).encode()).hexdigest()[:32] + '"'


def check_match(value: Any, if_match: str | None, what: str) -> None:
    """Refuse a change made to an older version than the stored one (optimistic concurrency)."""
    if if_match is None or if_match.strip() == "*":
        return
    wanted = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if etag(value) not in wanted:
        raise PreconditionFailed(f"{what} changed since you read it (its version is now {etag(value)}, you sent "
                                 f"{if_match}); read it again and repeat your change on the new version")
