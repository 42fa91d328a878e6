"""An access rule's row filter in the providers: the ``row_filter`` (CQL2 text) that a restricted
:class:`~geoportal.model.Location` puts in its provider block is parsed once and ANDed with every query
and every single-item read, so a reader never gets a row the rule withholds — not by paging, not by id."""

from __future__ import annotations

from typing import Any

from pygeofilter import ast
from pygeofilter.parsers.cql2_text import parse as parse_cql2
from pygeoapi.provider.base import ProviderConnectionError


def row_filter(provider_def: dict[str, Any]) -> Any | None:
    """The parsed row filter of a provider block, None when the collection has none. A filter that cannot
    be parsed stops the provider (fail closed): serving the whole layer instead would leak it."""
    text = provider_def.get("row_filter")
    if not text:
        return None
    try:
        return parse_cql2(text)
    except Exception as e:  # pygeofilter raises lark's errors of several kinds
        raise ProviderConnectionError(f"the collection's row filter cannot be read ({e.__class__.__name__}); "
                                      "refusing to serve it unfiltered") from None


def with_rows(rows: Any | None, filterq: Any | None) -> Any | None:
    """A request's filter narrowed by the collection's row filter."""
    if rows is None:
        return filterq
    return rows if filterq is None else ast.And(rows, filterq)
