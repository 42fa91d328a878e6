"""Which KATOTTH codes are bodies an official can work for: the oblast (O), raions (P) and hromadas (H)
of the node's codifier (``reference.codifier``). Settlements and city districts have no council of
their own in the network, so an official bound to one would see nothing."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Any

from access.errors import UserError

BODY_CATEGORIES = {"O": "oblast", "P": "raion", "H": "hromada"}


@lru_cache(maxsize=4)
def bodies(codifier: Path) -> dict[str, tuple[str, str]]:
    """``code → (level, name)`` of the oblast, raions and hromadas in a codifier CSV (``;``-separated)."""
    raw = codifier.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1251")
    out: dict[str, tuple[str, str]] = {}
    for row in list(csv.reader(text.splitlines(), delimiter=";"))[1:]:
        if len(row) < 7 or row[5].strip() not in BODY_CATEGORIES:
            continue
        code = next((c.strip() for c in reversed(row[:5]) if c.strip()), None)
        if code:
            out[code] = (BODY_CATEGORIES[row[5].strip()], row[6].strip())
    return out


def check_organisation(cfg: Any, code: str) -> str | None:
    """The body's name (e.g. "hromada Овруцька") when the node has a codifier; :class:`UserError` when the
    code is not the oblast, a raion or a hromada in it. Without a codifier the code is taken as given."""
    if cfg.reference.codifier is None:
        return None
    path = cfg.resolve(cfg.reference.codifier)
    found = bodies(path).get(code)
    if found is None:
        raise UserError(
            f"--org {code}: not an oblast, raion or hromada in the KATOTTH codifier {path}; an official is "
            "bound to a body with a council (look the code up in the codifier, category O, P or H)"
        )
    return f"{found[0]} {found[1]}"
