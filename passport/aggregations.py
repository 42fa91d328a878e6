"""Passport aggregations: one registry from the name written in passport.yaml to a function of
(engine, indicator, source layer, hromadas).

The engines do the spatial work behind one small contract (:class:`Engine`): :class:`GpkgEngine`
(passport/compute_gpkg.py) and :class:`PostgisEngine` (passport/compute_postgis.py). Both test
``intersects`` and measure in the same equal-area projection, so they give the same numbers. Aggregations
over tables (lookup, count, sum, population_weighted of rows) live in passport/tables.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from geoportal.model import StoredLayer

if TYPE_CHECKING:
    from passport.compute import Hromada
    from passport.config import Indicator, PassportConfig

__all__ = ["Engine", "MEASURES", "aggregate"]

MEASURES = ("count", "sum", "length", "area_inside", "weighted")
Values = dict[str, float | None]


class Engine(Protocol):
    """The spatial work of a passport on one storage backend (registry ``passport_engine``)."""

    name: str

    def boundaries(self, layer: StoredLayer, code_field: str) -> dict[str, Any]: ...

    def area(self, hromadas: list["Hromada"], pcfg: "PassportConfig") -> dict[str, float]: ...

    def spatial(self, layer: StoredLayer, hromadas: list["Hromada"], ind: "Indicator", pcfg: "PassportConfig",
                measure: str) -> dict[str, float]: ...


# Each aggregation: (engine, indicator, source layer, hromadas with a boundary, passport config) → values.
# Registered by name in geoportal/plugins.py (``aggregation``); passport.yaml names them in ``aggregate:``.

def area(e: Engine, ind: "Indicator", layer: StoredLayer, hs: list["Hromada"], p: "PassportConfig") -> Values:
    return dict(e.area(hs, p))


def count(e: Engine, ind: "Indicator", layer: StoredLayer, hs: list["Hromada"], p: "PassportConfig") -> Values:
    return dict(e.spatial(layer, hs, ind, p, "count"))


def total(e: Engine, ind: "Indicator", layer: StoredLayer, hs: list["Hromada"], p: "PassportConfig") -> Values:
    return dict(e.spatial(layer, hs, ind, p, "sum"))


def length(e: Engine, ind: "Indicator", layer: StoredLayer, hs: list["Hromada"], p: "PassportConfig") -> Values:
    return dict(e.spatial(layer, hs, ind, p, "length"))


def area_inside(e: Engine, ind: "Indicator", layer: StoredLayer, hs: list["Hromada"], p: "PassportConfig") -> Values:
    return dict(e.spatial(layer, hs, ind, p, "area_inside"))


def share_of_area(e: Engine, ind: "Indicator", layer: StoredLayer, hs: list["Hromada"], p: "PassportConfig") -> Values:
    inside = e.spatial(layer, hs, ind, p, "area_inside")
    whole = e.area(hs, p)
    return {c: (inside.get(c, 0.0) * 100.0 / whole[c]) if whole.get(c) else None for c in whole}


def population_weighted(e: Engine, ind: "Indicator", layer: StoredLayer, hs: list["Hromada"],
                        p: "PassportConfig") -> Values:
    return dict(e.spatial(layer, hs, ind, p, "weighted"))


def aggregate(name: str, e: Engine, ind: "Indicator", layer: StoredLayer, hs: list["Hromada"],
              p: "PassportConfig") -> Values:
    """Run the aggregation registered as ``name``."""
    from geoportal import plugins

    return plugins.load("aggregation", name)(e, ind, layer, hs, p)
