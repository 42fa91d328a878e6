"""A row filter (CQL2 text, from the access rules) → one SQL boolean expression with its values inlined.

The expression goes where no parameters can be bound — MapServer's DATA/FILTER, ``ogr2ogr -where`` —
so every value is rendered as a quoted literal and every column is checked against the layer's columns
and quoted as an identifier. Only what an access rule needs is accepted (comparisons, AND/OR/NOT, IN,
LIKE, BETWEEN, IS NULL); anything else is refused, so a rule that cannot be enforced is never silently
dropped (fail closed). PostgreSQL and SQLite (GeoPackage) read the same text.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable

from pygeofilter import ast
from pygeofilter.parsers.cql2_text import parse as parse_cql2

from geoportal.errors import ConfigError

_CMP = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=", ast.GreaterThan: ">",
        ast.GreaterEqual: ">="}


def ident(name: str) -> str:
    """A double-quoted SQL identifier (PostgreSQL and SQLite)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A SQL literal: strings single-quoted with quotes doubled, numbers as numbers, NULL, booleans."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"row filter: {value} is not a number SQL can compare")
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat()
    if isinstance(value, str):
        if "\x00" in value:
            raise ConfigError("row filter: a value contains a NUL character")
        return "'" + value.replace("'", "''") + "'"
    raise ConfigError(f"row filter: unsupported value {value!r}")


def to_sql(cql2: str, columns: Iterable[str]) -> str:
    """The WHERE expression of a CQL2 text filter over ``columns``; ConfigError names what is wrong."""
    known = set(columns)
    try:
        node = parse_cql2(cql2)
    except Exception as e:  # pygeofilter raises lark's errors of several kinds
        raise ConfigError(f"row filter '{cql2}': not valid CQL2 text ({e.__class__.__name__})") from None

    def col(n: Any) -> str:
        if not isinstance(n, ast.Attribute):
            raise ConfigError(f"row filter '{cql2}': expected a property name, got {n!r}")
        if n.name not in known:
            raise ConfigError(f"row filter '{cql2}': no property '{n.name}' (known: {', '.join(sorted(known))})")
        return ident(n.name)

    def walk(n: Any) -> str:
        if isinstance(n, ast.And):
            return f"({walk(n.lhs)} AND {walk(n.rhs)})"
        if isinstance(n, ast.Or):
            return f"({walk(n.lhs)} OR {walk(n.rhs)})"
        if isinstance(n, ast.Not):
            return f"(NOT {walk(n.sub_node)})"
        if type(n) in _CMP:
            return f"({col(n.lhs)} {_CMP[type(n)]} {literal(n.rhs)})"
        if isinstance(n, ast.In):
            values = ", ".join(literal(v) for v in n.sub_nodes)
            return f"({col(n.lhs)} {'NOT IN' if n.not_ else 'IN'} ({values}))"
        if isinstance(n, ast.Like):
            return f"({col(n.lhs)} {'NOT LIKE' if n.not_ else 'LIKE'} {literal(n.pattern)})"
        if isinstance(n, ast.Between):
            return (f"({col(n.lhs)} {'NOT BETWEEN' if n.not_ else 'BETWEEN'} {literal(n.low)} "
                    f"AND {literal(n.high)})")
        if isinstance(n, ast.IsNull):
            return f"({col(n.lhs)} IS {'NOT ' if n.not_ else ''}NULL)"
        raise ConfigError(f"row filter '{cql2}': {type(n).__name__} is not supported in access rules "
                          "(use comparisons, IN, LIKE, BETWEEN, IS NULL with AND/OR/NOT)")

    return walk(node)
