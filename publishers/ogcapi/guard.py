"""The query parameters of each OGC API endpoint, checked before pygeoapi sees a request.

Why: OGC API Features requires a 400 for a parameter the server does not know (/req/core/query-param-
unknown), and pygeoapi 0.21 silently drops them — so a typo (``bbx=``) returns the whole collection as if
it were filtered. pygeoapi also answers some malformed values with a 500 (an empty ``sortby=``) or a
silent 200 (``bbox=nan,…``, a datetime interval that ends before it starts). Each check here returns the
one-line message of a 400, or None when the request may go on; pygeoapi still does its own checks after.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Iterable

# the parameters of GET /collections/{id}/items (OGC API Features Parts 1-3), besides property filters
ITEMS_PARAMS = frozenset({"f", "lang", "bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "properties",
                          "sortby", "filter", "filter-lang", "filter-crs", "skipGeometry"})
# OGC API Records over the CSW facade: free-text search, but no CQL filter (the facade would ignore it)
RECORDS_PARAMS = (ITEMS_PARAMS - {"filter", "filter-lang", "filter-crs"}) | {"q"}
ITEM_PARAMS = frozenset({"f", "lang", "crs"})
QUERYABLES_PARAMS = frozenset({"f", "lang", "profile", "properties"})
PAGE_PARAMS = frozenset({"f", "lang"})
OPENAPI_PARAMS = frozenset({"f", "lang", "ui"})
FILTER_LANGS = frozenset({"cql-text", "cql2-text", "cql2-json"})

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def unknown(params: Iterable[str], allowed: Iterable[str]) -> str | None:
    """The message for parameters outside ``allowed`` (sorted, all named), or None."""
    extra = sorted(set(params) - set(allowed))
    if not extra:
        return None
    return (f"unknown query parameter{'s' if len(extra) > 1 else ''} {', '.join(extra)}: this endpoint accepts "
            f"{', '.join(sorted(allowed))}")


def check_bbox(value: str) -> str | None:
    parts = value.split(",")
    if len(parts) not in (4, 6):
        return f"bbox must be 4 numbers (minx,miny,maxx,maxy) or 6 (with minz, maxz), got {len(parts)}: {value!r}"
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        return f"bbox values must be numbers, got {value!r}"
    if not all(math.isfinite(n) for n in nums):
        return f"bbox values must be finite numbers (no nan/inf), got {value!r}"
    return None


def _instant(text: str) -> datetime | None:
    """An RFC 3339 date or date-time as a comparable datetime (UTC-naive for dates), or None."""
    if _DATE.match(text):
        d = date.fromisoformat(text)
        return datetime(d.year, d.month, d.day)
    if _DATETIME.match(text):
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).replace(tzinfo=None)
    raise ValueError(text)


def check_datetime(value: str) -> str | None:
    """RFC 3339 instant, or an interval ``start/end`` where either end may be ``..`` or empty."""
    ends = value.split("/")
    if len(ends) > 2:
        return f"datetime must be an instant or one interval start/end, got {value!r}"
    try:
        bounds = [None if e in ("", "..") else _instant(e) for e in ends]
    except ValueError as e:
        return (f"datetime {value!r}: {str(e)!r} is not an RFC 3339 date or date-time "
                "(e.g. 2024-01-31 or 2024-01-31T12:00:00Z; an interval as start/end, '..' for open)")
    if len(bounds) == 1 and bounds[0] is None:
        return f"datetime {value!r}: an instant cannot be open ('..')"
    if len(bounds) == 2 and bounds[0] and bounds[1] and bounds[0] > bounds[1]:
        return f"datetime interval {value!r} ends before it starts"
    return None


def check_sortby(value: str, fields: Iterable[str]) -> str | None:
    names = set(fields)
    for part in value.split(","):
        prop = part[1:] if part[:1] in "+-" else part
        if not prop.strip():
            return f"sortby {value!r} names no property: give e.g. sortby=name or sortby=-name"
        if prop not in names:
            return f"cannot sort by unknown property {prop!r}: sortable properties are {', '.join(sorted(names))}"
    return None


def check_items(params: list[tuple[str, str]], fields: Iterable[str], record: bool = False) -> str | None:
    """The first problem with the query of an items request, or None."""
    fields = list(fields)
    msg = unknown((k for k, _ in params), (RECORDS_PARAMS if record else ITEMS_PARAMS) | set(fields))
    if msg:
        return msg
    for key, value in params:
        if key == "bbox":
            msg = check_bbox(value)
        elif key == "datetime":
            msg = check_datetime(value)
        elif key == "sortby":
            msg = check_sortby(value, fields)
        elif key == "skipGeometry" and value.lower() not in ("true", "false"):
            msg = f"skipGeometry must be true or false, got {value!r}"
        elif key == "filter-lang" and value not in FILTER_LANGS:
            msg = f"filter-lang {value!r} is not supported: use one of {', '.join(sorted(FILTER_LANGS))}"
        elif key == "offset" and (not value.isdigit()):
            msg = f"offset must be a whole number >= 0, got {value!r}"
        elif key == "limit" and (not value.isdigit() or int(value) < 1):
            msg = f"limit must be a whole number >= 1, got {value!r}"
        if msg:
            return msg
    return None
