"""pygeoapi's PostgreSQL provider, configured from one DSN.

The node stores a PostGIS layer in EPSG:4326 with lon/lat coordinates (as ingest writes it) and
declares the collection's storage CRS as CRS84: with that, pygeoapi's bbox envelope, output and
``crs`` transforms all agree on the axis order (declaring EPSG:4326 makes pygeoapi swap the axes and
bbox queries find nothing). Filters reach the base provider as pygeofilter ASTs, which it turns into
SQLAlchemy expressions; CQL2 text is normalised at the node's front (see geoportal.serve).

Config: ``{type: feature, name: publishers.ogcapi.postgresql.PostgreSQLProvider, data: {dsn: postgresql://…,
search_path: [public]}, table: t, id_field: fid, geom_field: geom, storage_crs: …CRS84}``.
"""

from __future__ import annotations

from typing import Any

from psycopg.conninfo import conninfo_to_dict
from pygeoapi.provider.sql import PostgreSQLProvider as _Base


def dsn_to_parameters(dsn: str) -> dict[str, Any]:
    """pygeoapi's connection keys (host, port, dbname, user, password) from a libpq DSN."""
    p = conninfo_to_dict(dsn)
    out: dict[str, Any] = {"host": p.get("host", "localhost"), "port": int(p.get("port") or 5432),
                           "dbname": p.get("dbname", "postgres"), "user": p.get("user", "postgres")}
    if p.get("password"):
        out["password"] = p["password"]
    return out


class PostgreSQLProvider(_Base):
    def __init__(self, provider_def: dict[str, Any]):
        data = dict(provider_def["data"])
        if "dsn" in data:
            data = {**dsn_to_parameters(data.pop("dsn")), **data}
        super().__init__({**provider_def, "data": data})

    def _get_cql_filters(self, filterq: Any) -> Any:
        """pygeoapi tags filter geometries with the storage CRS URI (CRS84 here), which pygeofilter turns
        into an invalid ``SRID=http://…`` EWKT; the layer is lon/lat EPSG:4326, so say that instead."""
        if filterq is not None:
            _set_geometry_srid(filterq, "urn:ogc:def:crs:EPSG::4326")
        return super()._get_cql_filters(filterq)


def _set_geometry_srid(node: Any, crs_name: str) -> None:
    from pygeofilter import values

    if isinstance(node, values.Geometry):
        node.geometry["crs"] = {"type": "name", "properties": {"name": crs_name}}
        return
    for attr in ("lhs", "rhs", "sub_node"):
        child = getattr(node, attr, None)
        if child is not None:
            _set_geometry_srid(child, crs_name)
    for child in getattr(node, "sub_nodes", None) or []:
        _set_geometry_srid(child, crs_name)
