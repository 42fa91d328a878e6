"""The ``decisions:`` section of a node config: who among the node's users heads the body or moderates the
comments (the access roles know citizens, officials and admins; a decision also needs a head to adopt and a
moderator to hide comments), and how the agreement messages travel.

The model is self-contained (no import of geoportal.config) so that the node config can embed it.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
KATOTTH_RE = re.compile(r"^UA\d{17}$")


class Peer(BaseModel):
    """A node of the network this node sends agreement requests to directly (when it is not reachable by
    walking the parent/children links)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    katotth: str = Field(description="KATOTTH code of the body the node serves")
    url: str = Field(pattern=r"^https?://", description="the node's base URL")

    @field_validator("katotth")
    @classmethod
    def _code(cls, v: str) -> str:
        if not KATOTTH_RE.match(v):
            raise ValueError(f"'{v}' is not a KATOTTH code ('UA' followed by 17 digits)")
        return v


class DecisionsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    heads: list[Annotated[str, Field(pattern=NAME_RE)]] = Field(
        default_factory=list, description="user names (officials of the node's body) who head it: they adopt and "
        "cancel decisions")
    moderators: list[Annotated[str, Field(pattern=NAME_RE)]] = Field(
        default_factory=list, description="user names who moderate comments (hide, never delete)")
    peers: list[Peer] = Field(default_factory=list, description="nodes reached directly for agreement requests; "
                              "the parent/children links are walked as well")
    retry_max_seconds: int = Field(default=3600, ge=1, description="the longest wait between two delivery "
                                   "attempts of one message (the wait doubles from 30 s after each failure)")
