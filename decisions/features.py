"""Read features of a node's stored layer, whatever store holds it, as shapely geometries in EPSG:4326.

The reader is chosen by the type of the layer's :class:`~geoportal.model.Location` (one small map, like
the other registries): a GeoPackage table is read with pyogrio, a PostGIS table with psycopg (the wheel
GDALs have no PostgreSQL driver). A location narrowed to some rows stays narrowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import shapely
from pyproj import CRS, Transformer

from decisions.errors import DecisionError
from geoportal.model import StoredLayer


@dataclass
class Features:
    fids: list[int]
    geoms: np.ndarray  # shapely, EPSG:4326 lon/lat
    attrs: dict[str, list[Any]]


def _is_4326(crs: str | None) -> bool:
    return not crs or CRS.from_user_input(crs).equals(CRS.from_epsg(4326), ignore_axis_order=True)


def _to_4326(geoms: Any, crs: str | None) -> Any:
    if _is_4326(crs):
        return geoms
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _gpkg(layer: StoredLayer, columns: list[str], fids: list[int] | None,
          bbox: tuple[float, float, float, float] | None) -> Features:
    import pyogrio.raw

    loc = layer.location
    where = loc.where  # type: ignore[attr-defined]
    if fids is not None:  # integers only (typed), so the list is safe in SQL; pyogrio's fids= fails on a missing id
        ids = ", ".join(str(int(f)) for f in fids) or "NULL"
        col = '"' + layer.id_column.replace('"', '""') + '"'
        where = f"({where}) AND {col} IN ({ids})" if where else f"{col} IN ({ids})"
    crs = pyogrio.read_info(loc.path, layer=loc.table)["crs"]  # type: ignore[attr-defined]
    if bbox is not None and not _is_4326(crs):
        bbox = None  # a box in lon/lat means nothing to a layer stored in another CRS: read it all
    meta, fid, wkb, data = pyogrio.raw.read(loc.path, layer=loc.table, columns=columns,  # type: ignore[attr-defined]
                                            where=where, bbox=bbox, return_fids=True)
    geoms = _to_4326(shapely.from_wkb(wkb), crs)
    return Features([int(f) for f in fid], geoms, {c: list(v) for c, v in zip(meta["fields"], data)})


def _postgis(layer: StoredLayer, columns: list[str], fids: list[int] | None,
             bbox: tuple[float, float, float, float] | None) -> Features:
    import psycopg
    from psycopg import sql

    loc = layer.location
    conds = [sql.SQL(loc.where)] if loc.where else []  # type: ignore[attr-defined]  # built by to_sql from a rule
    params: list[Any] = []
    if fids is not None:
        conds.append(sql.SQL("{} = ANY(%s)").format(sql.Identifier(layer.id_column)))
        params.append(fids)
    if bbox is not None:  # the index does the first cut; the exact test is the caller's
        conds.append(sql.SQL("{} && ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, 4326), ST_SRID({}))").format(
            sql.Identifier(layer.geometry_column), sql.Identifier(layer.geometry_column)))
        params.extend(bbox)
    q = sql.SQL("SELECT {id}, ST_AsBinary(ST_Transform({g}, 4326)){cols} FROM {s}.{t}{w} ORDER BY {id}").format(
        id=sql.Identifier(layer.id_column), g=sql.Identifier(layer.geometry_column),
        cols=sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(c)) for c in columns),
        s=sql.Identifier(loc.schema), t=sql.Identifier(loc.table),  # type: ignore[attr-defined]
        w=sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds) if conds else sql.SQL(""))
    with psycopg.connect(loc.dsn) as conn:  # type: ignore[attr-defined]
        rows = conn.execute(q, params).fetchall()
    return Features([int(r[0]) for r in rows], shapely.from_wkb([bytes(r[1]) for r in rows]),
                    {c: [r[2 + i] for r in rows] for i, c in enumerate(columns)})


Reader = Callable[[StoredLayer, list[str], "list[int] | None", "tuple[float, float, float, float] | None"], Features]


def _readers() -> dict[type, Reader]:
    from ingest.store.gpkg import GpkgTable
    from ingest.store.postgis import PostgisTable

    return {GpkgTable: _gpkg, PostgisTable: _postgis}


def read_features(layer: StoredLayer, columns: list[str] | None = None, fids: list[int] | None = None,
                  bbox: tuple[float, float, float, float] | None = None) -> Features:
    """Features of a vector layer (all, those with the given feature ids, or those whose box meets ``bbox``
    in lon/lat — a first cut only), geometries in EPSG:4326."""
    reader = _readers().get(type(layer.location))
    if reader is None or layer.kind != "vector":
        raise DecisionError(f"dataset {layer.dataset_id}: {layer.location.describe()} is not a vector layer the "
                            "decision register can read; use a GeoPackage or PostGIS layer")
    return reader(layer, columns or [], fids, bbox)


def label_column(layer: StoredLayer, label: str | None) -> str | None:
    """The column behind a config's ``label`` (which may be the original header, e.g. "Унормована назва")."""
    if not label:
        return None
    return next((f.name for f in layer.fields if label in (f.name, f.title)), None)
