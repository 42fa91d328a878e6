"""The PostGIS path: one SQL statement per indicator in the node's database — ``ST_Intersects`` on the GIST
indexes of the stored layers, cut with ``ST_Intersection`` in EPSG:4326 and measured with
``ST_Area``/``ST_Length`` of ``ST_Transform`` to the equal-area ``area_crs``. Identifiers are composed with
``psycopg.sql``, values passed as parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import shapely

from geoportal.errors import GeoportalError
from geoportal.model import StoredLayer
from ingest.store.postgis import PostgisTable

if TYPE_CHECKING:
    from passport.compute import Hromada
    from passport.config import Indicator, PassportConfig


def _proj4(given: str, crs: Any) -> str:
    """The PROJ string PostGIS transforms with: the one written in passport.yaml when it is one."""
    if given.strip().startswith("+proj="):
        return given
    import warnings

    with warnings.catch_warnings():  # a projection without an EPSG code and written as WKT: best effort
        warnings.simplefilter("ignore", UserWarning)
        return str(crs.to_proj4())


class PostgisEngine:
    name = "postgis"

    @classmethod
    def for_storage(cls, storage: Any) -> "PostgisEngine":
        return cls(str(storage.dsn))

    def __init__(self, dsn: str):
        import psycopg

        self.conn = psycopg.connect(dsn, autocommit=True)
        self._boundary: StoredLayer | None = None
        self._code_field = ""
        self._srids: dict[str, int] = {}

    def srid(self, area_crs: str) -> int:
        """An SRID for the equal-area CRS in spatial_ref_sys: PostGIS caches a transform by SRID, while a
        PROJ string given to ST_Transform is parsed again for every row."""
        import zlib

        from pyproj import CRS

        if area_crs not in self._srids:
            crs = CRS.from_user_input(area_crs)
            code = crs.to_epsg()
            if code is None:
                code = 990000 + zlib.crc32(area_crs.encode()) % 9999
                self.conn.execute(
                    "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
                    "VALUES (%s, 'geoportal', %s, %s, %s) ON CONFLICT (srid) DO UPDATE SET srtext = EXCLUDED.srtext, "
                    "proj4text = EXCLUDED.proj4text", (code, code, crs.to_wkt(), _proj4(area_crs, crs)))
            self._srids[area_crs] = code
        return self._srids[area_crs]

    @staticmethod
    def _pg(layer: StoredLayer) -> PostgisTable:
        if not isinstance(layer.location, PostgisTable):
            raise GeoportalError(f"passport on PostGIS: dataset {layer.dataset_id} is not in PostGIS "
                                 f"({layer.location.describe()})")
        return layer.location

    def _t(self, layer: StoredLayer) -> Any:
        from psycopg import sql

        loc = self._pg(layer)
        return sql.Identifier(loc.schema, loc.table)

    def boundaries(self, layer: StoredLayer, code_field: str) -> dict[str, Any]:
        from psycopg import sql

        self._boundary, self._code_field = layer, code_field
        rows = self.conn.execute(sql.SQL("SELECT {c}::text, ST_AsBinary({g}) FROM {t}").format(
            c=sql.Identifier(code_field), g=sql.Identifier(layer.geometry_column), t=self._t(layer))).fetchall()
        return {c: shapely.from_wkb(bytes(g)) for c, g in rows if c and g is not None}

    def _require_boundary(self) -> StoredLayer:
        if self._boundary is None or not isinstance(self._boundary.location, PostgisTable):
            raise GeoportalError("passport on PostGIS needs the hromada boundaries in PostGIS too")
        return self._boundary

    def area(self, hromadas: list["Hromada"], pcfg: "PassportConfig") -> dict[str, float]:
        from psycopg import sql

        b = self._require_boundary()
        rows = self.conn.execute(sql.SQL("SELECT {c}::text, ST_Area(ST_Transform({g}, %s)) / 1e6 FROM {t}").format(
            c=sql.Identifier(self._code_field), g=sql.Identifier(b.geometry_column), t=self._t(b)),
            (self.srid(pcfg.area_crs),)).fetchall()
        wanted = {h.katotth for h in hromadas}
        return {c: float(a) for c, a in rows if c in wanted}

    def spatial(self, layer: StoredLayer, hromadas: list["Hromada"], ind: "Indicator", pcfg: "PassportConfig",
                measure: str) -> dict[str, float]:
        from psycopg import sql

        b = self._require_boundary()
        if not isinstance(layer.location, PostgisTable):
            raise GeoportalError(f"passport on PostGIS: dataset {layer.dataset_id} is not in PostGIS")
        hg, sg = sql.SQL("h.") + sql.Identifier(b.geometry_column), sql.SQL("s.") + sql.Identifier(layer.geometry_column)
        params: list[Any] = []
        if measure == "count":
            expr = sql.SQL("count(*)")
        elif measure == "sum":
            expr = sql.SQL("sum(s.{f}::double precision)").format(f=sql.Identifier(ind.field or ""))
        elif measure == "weighted":
            expr = sql.SQL("sum(s.{f}::double precision * s.{w}::double precision) / "
                           "nullif(sum(s.{w}::double precision), 0)").format(
                f=sql.Identifier(ind.field or ""), w=sql.Identifier(ind.weight or ""))
        elif measure == "length":
            expr = sql.SQL("sum(ST_Length(ST_Transform(ST_Intersection({h}, {s}), %s))) / 1e3").format(h=hg, s=sg)
            params.append(self.srid(pcfg.area_crs))
        else:  # area_inside
            expr = sql.SQL("sum(ST_Area(ST_Transform(ST_Intersection({h}, {s}), %s))) / 1e6").format(h=hg, s=sg)
            params.append(self.srid(pcfg.area_crs))
        where = sql.SQL("")
        if ind.filter is not None:
            col = sql.SQL("s.") + sql.Identifier(ind.filter.field)
            f = ind.filter
            if f.equals is not None:
                where, p = sql.SQL(" AND {c}::text = %s").format(c=col), [str(f.equals)]
            elif f.in_ is not None:
                where, p = sql.SQL(" AND {c}::text = ANY(%s)").format(c=col), [[str(v) for v in f.in_]]
            else:
                esc = str(f.startswith).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                where, p = sql.SQL(" AND {c} LIKE %s").format(c=col), [esc + "%"]
            params.extend(p)
        query = sql.SQL("SELECT h.{c}::text, {e} FROM {bt} h JOIN {st} s ON ST_Intersects({hg}, {sg}) "
                        "WHERE true{w} GROUP BY 1").format(c=sql.Identifier(self._code_field), e=expr,
                                                           bt=self._t(b), st=self._t(layer), hg=hg, sg=sg, w=where)
        rows = dict(self.conn.execute(query, params).fetchall())
        zero = None if measure == "weighted" else 0.0
        return {h.katotth: (float(rows[h.katotth]) if rows.get(h.katotth) is not None else zero)  # type: ignore[misc]
                for h in hromadas}
