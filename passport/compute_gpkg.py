"""The GeoPackage path: the source layer streamed in Arrow batches (pyogrio) so a 1M-feature layer never sits
in memory whole, joined with an STRtree of the hromada polygons (shapely 2, vectorised).

Features are tested with ``intersects`` and cut in EPSG:4326, as PostGIS does on the other path; the parts are
measured in the equal-area ``area_crs``. Both paths therefore give the same numbers (to ~1e-14).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import Transformer

from geoportal.errors import GeoportalError
from geoportal.model import StoredLayer
from ingest.store.gpkg import GpkgTable

if TYPE_CHECKING:
    from passport.compute import Hromada
    from passport.config import Indicator, PassportConfig

BATCH = 100_000


class GpkgEngine:
    name = "geopackage"

    @classmethod
    def for_storage(cls, storage: Any) -> "GpkgEngine":
        return cls()

    def boundaries(self, layer: StoredLayer, code_field: str) -> dict[str, Any]:
        import pyogrio.raw

        _, _, wkb, fields = pyogrio.raw.read(*_gpkg(layer), columns=[code_field])
        return {str(c): g for c, g in zip(fields[0], shapely.from_wkb(wkb)) if c}

    def area(self, hromadas: list["Hromada"], pcfg: "PassportConfig") -> dict[str, float]:

        geoms = to_area_crs(np.array([h.geometry for h in hromadas], dtype=object), pcfg)
        return {h.katotth: float(a) / 1e6 for h, a in zip(hromadas, shapely.area(geoms))}

    def spatial(self, layer: StoredLayer, hromadas: list["Hromada"], ind: "Indicator", pcfg: "PassportConfig",
                measure: str) -> dict[str, float]:
        import pyogrio.raw


        # test and cut in EPSG:4326 as PostGIS does, measure the parts in the equal-area CRS: same numbers
        polys = np.array([h.geometry for h in hromadas], dtype=object)
        tree = shapely.STRtree(polys)
        acc = np.zeros(len(hromadas))
        wacc = np.zeros(len(hromadas))
        columns = sorted({c for c in (ind.filter.field if ind.filter else None, ind.field, ind.weight) if c})
        with pyogrio.raw.open_arrow(*_gpkg(layer), columns=columns, batch_size=BATCH,
                                    use_pyarrow=True) as (meta, reader):
            gcol = meta["geometry_name"] or "wkb_geometry"
            for batch in reader:
                geoms = shapely.from_wkb(batch.column(gcol).to_numpy(zero_copy_only=False))
                keep = ~shapely.is_missing(geoms)
                if ind.filter is not None:
                    keep &= _matches(ind.filter, batch.column(ind.filter.field).to_pylist())
                if not keep.any():
                    continue
                geoms = geoms[keep]
                src, dst = tree.query(geoms, predicate="intersects")
                if measure == "count":
                    acc += np.bincount(dst, minlength=len(hromadas))
                    continue
                if measure in ("sum", "weighted"):
                    vals = _floats(batch.column(ind.field).to_pylist())[keep][src]
                    if measure == "sum":
                        acc += np.bincount(dst, weights=np.nan_to_num(vals), minlength=len(hromadas))
                    else:
                        w = _floats(batch.column(ind.weight).to_pylist())[keep][src]
                        ok = ~(np.isnan(vals) | np.isnan(w))
                        acc += np.bincount(dst[ok], weights=vals[ok] * w[ok], minlength=len(hromadas))
                        wacc += np.bincount(dst[ok], weights=w[ok], minlength=len(hromadas))
                    continue
                parts = to_area_crs(shapely.intersection(geoms[src], polys[dst]), pcfg)
                size = shapely.length(parts) / 1e3 if measure == "length" else shapely.area(parts) / 1e6
                acc += np.bincount(dst, weights=size, minlength=len(hromadas))
        if measure == "weighted":
            return {h.katotth: (acc[i] / wacc[i] if wacc[i] else None) for i, h in enumerate(hromadas)}  # type: ignore[misc]
        return {h.katotth: float(acc[i]) for i, h in enumerate(hromadas)}


def _floats(values: list[Any]) -> np.ndarray:
    return np.array([float(v) if v not in (None, "") else np.nan for v in values], dtype=float)


def _gpkg(layer: StoredLayer) -> tuple[str, str]:
    """The file and layer of a GeoPackage-stored layer (path, layer name for pyogrio)."""
    loc = layer.location
    if not isinstance(loc, GpkgTable):
        raise GeoportalError(f"passport on GeoPackage: dataset {layer.dataset_id} is not in a GeoPackage "
                             f"({loc.describe()})")
    if loc.where:
        raise GeoportalError(f"passport: dataset {layer.dataset_id} is restricted to some rows; compute "
                             "passports from the whole layer")
    return loc.path, loc.table


def _matches(flt: Any, values: list[Any]) -> np.ndarray:
    return flt.mask(values)


def area_transformer(pcfg: "PassportConfig") -> Transformer:
    return Transformer.from_crs("EPSG:4326", pcfg.area_crs, always_xy=True)


def to_area_crs(geoms: np.ndarray, pcfg: "PassportConfig") -> np.ndarray:
    tr = area_transformer(pcfg)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
