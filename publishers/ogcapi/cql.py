"""CQL2 (as parsed by pygeofilter) → a parameterised SQLite WHERE, plus the spatial tests SQLite cannot do.

Attribute predicates become SQL with ``?`` parameters; column names are checked against the layer's
columns and quoted by the caller's helper, so nothing from the request is ever formatted into SQL.
Spatial predicates (S_INTERSECTS, S_WITHIN, …, BBOX) are returned as :class:`SpatialTest`s: the provider
prefilters with the layer's R-tree and tests exactly with shapely. A spatial predicate may only appear in
a top-level AND (that is what the R-tree prefilter can honour); elsewhere it is refused with a clear
message rather than answered wrongly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import shapely
from pygeofilter import ast, values
from pygeoapi.provider.base import ProviderInvalidQueryError

_CMP = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=", ast.GreaterThan: ">",
        ast.GreaterEqual: ">="}
_SPATIAL = {ast.GeometryIntersects: "intersects", ast.GeometryDisjoint: "disjoint",
            ast.GeometryContains: "contains", ast.GeometryWithin: "within", ast.GeometryTouches: "touches",
            ast.GeometryCrosses: "crosses", ast.GeometryOverlaps: "overlaps", ast.GeometryEquals: "equals"}


def bad_query(msg: str) -> ProviderInvalidQueryError:
    """The client's query cannot be answered: pygeoapi turns this into a 400 carrying ``msg``
    (a ProviderQueryError would be a 500 saying only "check logs")."""
    return ProviderInvalidQueryError(msg, user_msg=msg)


@dataclass(frozen=True)
class SpatialTest:
    op: str  # a shapely predicate name
    geometry: Any  # shapely geometry in the storage CRS

    def evaluate(self, geoms: np.ndarray) -> np.ndarray:
        return getattr(shapely, self.op)(geoms, self.geometry)


def _literal(node: Any) -> Any:
    if isinstance(node, (str, int, float, bool)) or node is None:
        return node
    if isinstance(node, (dt.datetime, dt.date)):
        return node.isoformat()
    raise bad_query(f"unsupported value in filter: {node!r}")


#: shapely geometries of the literals of parsed filters that are kept (an access rule's row filter, parsed
#: once per text by publishers/ogcapi/rows.py): id → (node, prepared geometry). An area polygon of a few
#: thousand vertices is then built and prepared once, not on every request.
_SHAPES: dict[int, tuple[Any, Any]] = {}


def _geometry(node: Any) -> Any:
    if isinstance(node, (values.Geometry, values.Envelope)):
        hit = _SHAPES.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        geom = shapely.geometry.shape(node.geometry)
        if getattr(node, "_geoportal_kept", False):
            shapely.prepare(geom)
            if len(_SHAPES) > 256:
                _SHAPES.clear()
            _SHAPES[id(node)] = (node, geom)
        return geom
    raise bad_query(f"a spatial predicate needs a literal geometry, got {node!r}")


def bbox_2d(bbox: list[float]) -> list[float]:
    """minx, miny, maxx, maxy of a 4- or 6-number bbox (a 6-number one carries minz at 2 and maxz at 5)."""
    b = [float(v) for v in bbox]
    return [b[0], b[1], b[3], b[4]] if len(b) == 6 else b[:4]


SpatialSQL = Callable[[str, Any], tuple[str, list[Any]]]


def to_sql(node: Any, columns: set[str], quote: Callable[[str], str], placeholder: str = "?",
           spatial_sql: SpatialSQL | None = None) -> tuple[str, list[Any], list[SpatialTest]]:
    """(WHERE fragment, parameters, spatial tests) for a pygeofilter AST.

    ``spatial_sql(op, shapely_geometry) -> (sql, params)`` lets a database with spatial functions
    (PostGIS) evaluate spatial predicates itself, anywhere in the filter; without it they come back as
    SpatialTests for the caller to run (top-level AND only).
    """
    tests: list[SpatialTest] = []
    params: list[Any] = []
    ph = placeholder

    def col(n: Any) -> str:
        if not isinstance(n, ast.Attribute):
            raise bad_query(f"expected a property name, got {n!r}")
        if n.name not in columns:
            raise bad_query(f"unknown property '{n.name}' in filter (known: {', '.join(sorted(columns))})")
        return "t." + quote(n.name)

    def spatial(n: Any) -> SpatialTest | None:
        if isinstance(n, ast.BBox):
            return SpatialTest("intersects", shapely.box(n.minx, n.miny, n.maxx, n.maxy))
        for cls, op in _SPATIAL.items():
            if isinstance(n, cls):
                return SpatialTest(op, _geometry(n.rhs))
        return None

    def walk(n: Any, top: bool) -> str:
        if isinstance(n, ast.And):
            parts = [p for p in (walk(n.lhs, top), walk(n.rhs, top)) if p]
            return " AND ".join(f"({p})" for p in parts)
        test = spatial(n)
        if test is not None and spatial_sql is not None:
            frag, p = spatial_sql(test.op, test.geometry)
            params.extend(p)
            return frag
        if test is not None:
            if not top:
                raise bad_query("spatial predicates are supported only combined with AND at the top "
                                         "level of a filter on this collection")
            tests.append(test)
            return ""
        if isinstance(n, ast.Or):
            return f"({walk(n.lhs, False) or '1'}) OR ({walk(n.rhs, False) or '1'})"
        if isinstance(n, ast.Not):
            return f"NOT ({walk(n.sub_node, False) or '1'})"
        if type(n) in _CMP:
            params.append(_literal(n.rhs))
            return f"{col(n.lhs)} {_CMP[type(n)]} {ph}"
        if isinstance(n, ast.Like):
            pattern = str(_literal(n.pattern))
            # CQL2 wildcards are % and _; pygeofilter reports other characters for some encodings
            # (e.g. '.' from CQL2-JSON), which are then literal, not wildcards
            if n.wildcard not in ("%", "."):
                pattern = pattern.replace(n.wildcard, "%")
            if n.singlechar not in ("_", "."):
                pattern = pattern.replace(n.singlechar, "_")
            params.append(pattern)
            # SQLite LIKE folds ASCII only; lower() both sides for Cyrillic when case-insensitive
            if ph == "?":  # SQLite: LIKE folds ASCII only, GLOB is the case-sensitive match
                expr = f"lower({col(n.lhs)}) LIKE lower(?)" if n.nocase else f"{col(n.lhs)} GLOB ?"
                if not n.nocase:
                    params[-1] = pattern.replace("%", "*").replace("_", "?")
            else:
                expr = f"{col(n.lhs)} {'ILIKE' if n.nocase else 'LIKE'} {ph}"
            return f"NOT ({expr})" if n.not_ else expr
        if isinstance(n, ast.In):
            vals = [_literal(v) for v in n.sub_nodes]
            params.extend(vals)
            return f"{col(n.lhs)} {'NOT IN' if n.not_ else 'IN'} ({', '.join(ph for _ in vals)})"
        if isinstance(n, ast.Between):
            params.extend([_literal(n.low), _literal(n.high)])
            return f"{col(n.lhs)} {'NOT BETWEEN' if n.not_ else 'BETWEEN'} {ph} AND {ph}"
        if isinstance(n, ast.IsNull):
            return f"{col(n.lhs)} IS {'NOT ' if n.not_ else ''}NULL"
        raise bad_query(f"filter operation {type(n).__name__} is not supported on this collection")

    try:
        sql = walk(node, True)
    except RecursionError:  # e.g. a POSTed CQL2-JSON "and" of thousands of terms (a left-deep tree)
        raise bad_query("the filter is nested too deeply: combine fewer terms, or use IN (...) for many values")
    return sql, params, tests


def order_by(sortby: list[dict[str, str]], columns: set[str] | list[str], id_field: str,
             quote: Callable[[str], str]) -> str:
    """An ORDER BY for pygeoapi's ``sortby`` on known columns, the id last so paging is stable."""
    parts = []
    for s in sortby or []:
        if s["property"] not in columns:
            raise bad_query(f"cannot sort by unknown property '{s['property']}'")
        parts.append(f"t.{quote(s['property'])} {'DESC' if s.get('order') == '-' else 'ASC'}")
    parts.append(f"t.{quote(id_field)}")
    return " ORDER BY " + ", ".join(parts)
