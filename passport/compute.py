"""Compute the indicators of every hromada of a node — in PostGIS with SQL when the node stores there, from
the GeoPackages otherwise; both give the same numbers (tests/passport checks it).

Hromadas come from the KATOTTH codifier (names in correct Ukrainian spelling, every hromada of the node's
territory, with or without a polygon); their polygons from the node's boundary dataset. Areas and lengths
are taken in one equal-area projection (``area_crs`` of passport.yaml) in both paths. Every value carries
its provenance: source dataset or table, its version and load date.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from typing import Any, Callable


from geoportal.config import NodeConfig
from geoportal.errors import GeoportalError
from geoportal.ukrainian import clean_name
from geoportal.model import StoredLayer
from ingest.text import transliterate
from passport.aggregations import Engine, aggregate
from passport.config import Indicator, PassportConfig
from passport.tables import Tables, read_codifier

__all__ = ["Hromada", "Result", "Value", "compute", "node_hromadas", "read_codifier"]
log = logging.getLogger(__name__)


@dataclass
class Hromada:
    katotth: str
    name_uk: str
    raion_katotth: str
    raion_uk: str
    geometry: Any = None  # shapely, EPSG:4326

    @property
    def name_en(self) -> str:
        return f"{transliterate(self.name_uk)} hromada"


@dataclass
class Value:
    value: float | None
    source: str
    version: str
    loaded_at: str


@dataclass
class Result:
    hromadas: list[Hromada]
    values: dict[str, dict[str, Value]] = field(default_factory=dict)  # indicator id → katotth → value
    computed_at: str = ""
    signature: str = ""
    engine: str = ""
    warnings: list[str] = field(default_factory=list)


def node_hromadas(cfg: NodeConfig, codifier: list[dict[str, str]]) -> list[Hromada]:
    """The hromadas of the node's territory, from the codifier; names tidied (the codifier has trailing
    spaces, e.g. 'Андрушківська ', and mixed apostrophes), since they are shown and searched."""
    level = {"oblast": "l1", "raion": "l2", "hromada": "l3"}[cfg.node.level.value]
    raions = {r["l2"]: clean_name(r["name"]) for r in codifier if r["category"] == "P"}
    return [Hromada(r["l3"], clean_name(r["name"]), r["l2"], raions.get(r["l2"], ""))
            for r in codifier if r["category"] == "H" and r[level] == cfg.node.katotth]


def compute(cfg: NodeConfig, pcfg: PassportConfig, layers: dict[str, StoredLayer], engine: Engine,
            progress: Callable[[str], None] = lambda m: None) -> Result:
    tables = Tables(cfg, pcfg)
    hromadas = node_hromadas(cfg, tables.codifier)
    if not hromadas:
        raise GeoportalError(f"{cfg.config_path}: the codifier has no hromadas under {cfg.node.katotth}")
    codes = [h.katotth for h in hromadas]
    boundary = layers.get(pcfg.hromadas.dataset)
    geoms = engine.boundaries(boundary, pcfg.hromadas.code_field) if boundary else {}
    for h in hromadas:
        h.geometry = geoms.get(h.katotth)
    res = Result(hromadas, computed_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
                 engine=engine.name)
    for ind in pcfg.indicators:
        vals = _one(ind, codes, hromadas, layers, tables, engine, res, boundary, pcfg)
        if ind.scale != 1.0 and ind.aggregate != "ratio":  # e.g. km² → ha with scale: 100
            vals = {c: replace(v, value=None if v.value is None else v.value * ind.scale) for c, v in vals.items()}
        res.values[ind.id] = vals
        progress(f"passport: {ind.id}")
    for w in res.warnings:
        log.warning("%s: %s", cfg.node.id, w)
        progress(w)
    return res


def _one(ind: Indicator, codes: list[str], hromadas: list[Hromada], layers: dict[str, StoredLayer], tables: Tables,
         engine: Engine, res: Result, boundary: StoredLayer | None, pcfg: PassportConfig) -> dict[str, Value]:
    if ind.aggregate == "ratio":
        num, den = res.values[ind.numerator], res.values[ind.denominator]  # type: ignore[index]
        out = {}
        for c in codes:
            n, d = num[c], den[c]
            v = n.value * ind.scale / d.value if n.value is not None and d.value else None
            out[c] = Value(v, f"{n.source} / {d.source}", f"{n.version} / {d.version}", max(n.loaded_at, d.loaded_at))
        return out
    src = ind.source or ""
    if ind.table is not None:
        name, version, when = tables.provenance(ind.table)
        vals = tables.aggregate(ind.table, ind.aggregate, ind.field, ind.weight, ind.filter, codes)
        if ind.table != "codifier" and (lost := tables.load(ind.table).unmapped):
            msg = (f"passport: table '{ind.table}' ({name}): {lost} row(s) map to no single hromada (an old raion, "
                   "a code unknown to the codifier or the cross-walk); they are not counted")
            if msg not in res.warnings:
                res.warnings.append(msg)
        return {c: Value(vals[c], name, version, when) for c in codes}
    if src == "boundary":
        layer = boundary
    else:
        layer = layers.get(src)
    if layer is None:
        return {c: Value(None, src, "not loaded", "") for c in codes}
    with_geom = [h for h in hromadas if h.geometry is not None]
    vals = aggregate(ind.aggregate, engine, ind, layer, with_geom, pcfg)
    version = f"v{layer.version} sha256:{layer.checksum[:12]}"
    return {h.katotth: Value(vals.get(h.katotth) if h.geometry is not None else None, layer.dataset_id, version,
                             layer.loaded_at) for h in hromadas}
