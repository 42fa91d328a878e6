"""Passport aggregations: one registry from the name written in passport.yaml to a function of
(engine, indicator, source layer, hromadas).

The engines do the spatial work behind one small contract (:class:`Engine`): :class:`GpkgEngine`
(passport/compute_gpkg.py) and :class:`PostgisEngine` (passport/compute_postgis.py). Both test
``intersects`` and measure in the same equal-area projection, so they give the same numbers. Aggregations
over tables (lookup, count, sum, population_weighted of rows) live in passport/tables.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

from geoportal.model import StoredLayer
from passport.compute_gpkg import GpkgEngine
from passport.compute_postgis import PostgisEngine

if TYPE_CHECKING:
    from passport.compute import Hromada
    from passport.config import Indicator, PassportConfig

__all__ = ["AGGREGATIONS", "Engine", "GpkgEngine", "PostgisEngine"]

MEASURES = ("count", "sum", "length", "area_inside", "weighted")


class Engine(Protocol):
    name: str

    def boundaries(self, layer: StoredLayer, code_field: str) -> dict[str, Any]: ...

    def area(self, hromadas: list["Hromada"], pcfg: "PassportConfig") -> dict[str, float]: ...

    def spatial(self, layer: StoredLayer, hromadas: list["Hromada"], ind: "Indicator", pcfg: "PassportConfig",
                measure: str) -> dict[str, float]: ...


def _share(engine: Engine, ind: "Indicator", layer: StoredLayer, hs: list["Hromada"], p: "PassportConfig") -> dict:
    inside = engine.spatial(layer, hs, ind, p, "area_inside")
    total = engine.area(hs, p)
    return {c: (inside.get(c, 0.0) * 100.0 / total[c]) if total.get(c) else None for c in total}


AGGREGATIONS: dict[str, Callable[..., dict[str, float | None]]] = {
    "area": lambda e, ind, layer, hs, p: e.area(hs, p),
    "count": lambda e, ind, layer, hs, p: e.spatial(layer, hs, ind, p, "count"),
    "sum": lambda e, ind, layer, hs, p: e.spatial(layer, hs, ind, p, "sum"),
    "length": lambda e, ind, layer, hs, p: e.spatial(layer, hs, ind, p, "length"),
    "area_inside": lambda e, ind, layer, hs, p: e.spatial(layer, hs, ind, p, "area_inside"),
    "share_of_area": _share,
    "population_weighted": lambda e, ind, layer, hs, p: e.spatial(layer, hs, ind, p, "weighted"),
}
