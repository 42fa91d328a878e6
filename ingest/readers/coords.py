"""Coordinates written as text: decimal degrees, degrees-minutes-seconds, with Ukrainian habits.

``N 50° 36’ 0"`` (curly quotes), ``50°36'00"N``, ``50 36 0``, ``50,6083`` (decimal comma) and the
Ukrainian hemisphere abbreviations (Пн, Пд, Сх, Зх) are all read.
"""

from __future__ import annotations

import re

_NUM = re.compile(r"\d+(?:[.,]\d+)?")
_NEG = re.compile(r"^\s*-|[SWsw]\b|\b[SW]\s*$|Пд|Зх|пд|зх")
_ALLOWED = re.compile(r"^[\s\d.,°º'’‘′\"”“″NSEWnsewПнпнПдпдСхсхЗхзх.:+-]*$")


def parse_angle(text: object) -> float | None:
    """Degrees as a float, or None when the text is not a coordinate."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip()
    if not s or not _ALLOWED.match(s):
        return None
    nums = _NUM.findall(s)
    if not 1 <= len(nums) <= 3:
        return None
    parts = [float(n.replace(",", ".")) for n in nums]
    if len(parts) > 1 and any(p >= 60 for p in parts[1:]):
        return None
    value = parts[0] + sum(p / 60 ** (i + 1) for i, p in enumerate(parts[1:]))
    return -value if _NEG.search(s) else value


def parse_number(text: object) -> float | None:
    """A plain number (projected X/Y), decimal comma and spaces as thousands separators allowed."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return None
