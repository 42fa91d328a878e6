"""An access rule's row filter in the providers: the ``row_filter`` (CQL2 text) that a restricted
:class:`~geoportal.model.Location` puts in its provider block is parsed once and ANDed with every query
and every single-item read, so a reader never gets a row the rule withholds — not by paging, not by id.
The rule's hidden attributes (``hidden_attributes``) are dropped from the provider's columns."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, TypeVar

from pygeofilter import ast, values
from pygeofilter.parsers.cql2_text import parse as parse_cql2
from pygeoapi.provider.base import ProviderConnectionError


def row_filter(provider_def: dict[str, Any]) -> Any | None:
    """The parsed row filter of a provider block, None when the collection has none. A filter that cannot
    be parsed stops the provider (fail closed): serving the whole layer instead would leak it."""
    text = provider_def.get("row_filter")
    if not text:
        return None
    try:
        return _parsed(text)
    except Exception as e:  # pygeofilter raises lark's errors of several kinds
        raise ProviderConnectionError(f"the collection's row filter cannot be read ({e.__class__.__name__}); "
                                      "refusing to serve it unfiltered") from None


@lru_cache(maxsize=128)
def _parsed(text: str) -> Any:
    """A row filter parsed once per text (pygeoapi makes a provider per request, and an area's polygon makes
    the text long); its geometry literals are marked so that their shapely form is built once too."""
    node = parse_cql2(text)
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (values.Geometry, values.Envelope)):
            n._geoportal_kept = True
        elif isinstance(n, ast.Node):
            stack.extend(n.get_sub_nodes())
    return node


T = TypeVar("T")
#: the SQL of row filters, per (filter, provider's table and columns): (filter, SQL)
_COMPILED: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def compiled(rows: Any, key: tuple[Any, ...], make: Callable[[], T]) -> T:
    """The SQL ``make()`` turns the row filter ``rows`` into for one table (``key``: what else the SQL
    depends on — the file version, the columns), made once and kept. pygeoapi makes a provider per request,
    and the filter of an area (a polygon of thousands of vertices) was walked, and in PostGIS encoded as
    EWKB, on every one of them. ``rows`` is the parsed filter :func:`row_filter` keeps per text, so a
    changed rule (another text) gets SQL of its own."""
    k = (id(rows), *key)
    hit = _COMPILED.get(k)
    if hit is not None and hit[0] is rows:
        return hit[1]  # type: ignore[no-any-return]
    value = make()
    if len(_COMPILED) > 256:
        _COMPILED.clear()
    _COMPILED[k] = (rows, value)
    return value


def hidden_attributes(provider_def: dict[str, Any]) -> frozenset[str]:
    """The attributes an access rule leaves out of this collection: not in items, item, schema or queryables,
    and not usable in a filter, a sort or a property query (which would reveal their values)."""
    return frozenset(str(a) for a in provider_def.get("hidden_attributes") or ())


def with_rows(rows: Any | None, filterq: Any | None) -> Any | None:
    """A request's filter narrowed by the collection's row filter."""
    if rows is None:
        return filterq
    return rows if filterq is None else ast.And(rows, filterq)
