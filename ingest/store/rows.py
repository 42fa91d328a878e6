"""A row filter (CQL2 text, from the access rules) → one SQL boolean expression with its values inlined.

The expression goes where no parameters can be bound — MapServer's DATA/FILTER, ``ogr2ogr -where`` —
so every value is rendered as a quoted literal and every column is checked against the layer's columns
and quoted as an identifier. Only what an access rule needs is accepted (comparisons, AND/OR/NOT, IN,
LIKE, BETWEEN, IS NULL, and ``S_INTERSECTS(<geometry column>, <polygon>)`` for an area limit); anything else
is refused, so a rule that cannot be enforced is never silently dropped (fail closed). PostgreSQL and
SQLite (GeoPackage) read the same text: the spatial test is ``ST_Intersects(..., ST_GeomFromText(...))``,
which PostGIS has and GDAL's GeoPackage driver evaluates with SpatiaLite (Debian's GDAL links it), so the
area holds in MapServer's DATA and in ``ogr2ogr -where`` alike.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable

from geoportal.errors import ConfigError

# pygeofilter is imported by to_sql only: the stores import this module for ``ident``, and its CQL2 parser
# (a Lark grammar built at import) cost every ingest ~0.3 s of CPU and ~10 MB of memory it never used


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


def to_sql(cql2: str, columns: Iterable[str], geometry_column: str | None = None, srid: int | None = 4326,
           envelope_test: str | None = None) -> str:
    """The WHERE expression of a CQL2 text filter over ``columns``; ConfigError names what is wrong.

    A spatial test names ``geometry_column`` (any other name is refused); its literal is in EPSG:4326 (CQL2's
    default CRS, lon/lat) and is transformed to the layer's ``srid`` in SQL. ``envelope_test`` (a format with
    ``{minx} {miny} {maxx} {maxy}``) adds an index prefilter before the exact test (a GeoPackage's R-tree).
    """
    from pygeofilter import ast
    from pygeofilter.parsers.cql2_text import parse as parse_cql2

    comparisons = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
                   ast.GreaterThan: ">", ast.GreaterEqual: ">="}
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
        if type(n) in comparisons:
            return f"({col(n.lhs)} {comparisons[type(n)]} {literal(n.rhs)})"
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
        if isinstance(n, ast.GeometryIntersects):
            return spatial(n)
        raise ConfigError(f"row filter '{cql2}': {type(n).__name__} is not supported in access rules "
                          "(use comparisons, IN, LIKE, BETWEEN, IS NULL with AND/OR/NOT)")

    def spatial(n: Any) -> str:
        if geometry_column is None or not isinstance(n.lhs, ast.Attribute) or n.lhs.name != geometry_column:
            raise ConfigError(f"row filter '{cql2}': S_INTERSECTS takes the layer's geometry column "
                              f"'{geometry_column}' and a polygon")
        geometry = getattr(n.rhs, "geometry", None)
        if not isinstance(geometry, dict):
            raise ConfigError(f"row filter '{cql2}': S_INTERSECTS needs a literal geometry")
        import shapely.geometry

        shape = shapely.geometry.shape(geometry)
        if shape.is_empty or not shape.is_valid:
            raise ConfigError(f"row filter '{cql2}': the area geometry is empty or invalid")
        given = f"ST_GeomFromText({literal(shape.wkt)}, 4326)"
        if srid not in (None, 4326):
            given = f"ST_Transform({given}, {int(srid)})"
        exact = f"ST_Intersects({ident(geometry_column)}, {given})"
        if envelope_test is None:
            return f"({exact})"
        minx, miny, maxx, maxy = (repr(float(v)) for v in _bounds_in(shape, srid))
        return f"({envelope_test.format(minx=minx, miny=miny, maxx=maxx, maxy=maxy)} AND {exact})"

    return walk(node)


def _bounds_in(shape: Any, srid: int | None) -> tuple[float, float, float, float]:
    """The bounds of an EPSG:4326 geometry in the layer's CRS (a little wider when transformed: the
    prefilter must never drop a feature the exact test keeps)."""
    if srid in (None, 4326):
        return tuple(shape.bounds)  # type: ignore[return-value]
    from pyproj import Transformer

    t = Transformer.from_crs(4326, srid, always_xy=True)
    minx, miny, maxx, maxy = t.transform_bounds(*shape.bounds, densify_pts=21)
    pad = 1e-6 * max(abs(maxx - minx), abs(maxy - miny), 1.0)
    return minx - pad, miny - pad, maxx + pad, maxy + pad
