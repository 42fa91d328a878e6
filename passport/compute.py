"""Compute the indicators of every hromada of a node — in PostGIS with SQL when the node stores there, from
the GeoPackages otherwise; both give the same numbers (tests/passport checks it).

Hromadas come from the KATOTTH codifier (names in correct Ukrainian spelling, every hromada of the node's
territory, with or without a polygon); their polygons from the node's boundary dataset. Areas and lengths
are taken in one equal-area projection (``area_crs`` of passport.yaml) in both paths. Every value carries
its provenance: source dataset or table, its version and load date.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import shapely
from pyproj import Transformer

from geoportal.config import NodeConfig
from geoportal.errors import ConfigError, GeoportalError
from geoportal.model import StoredLayer
from ingest.text import transliterate
from passport.aggregations import AGGREGATIONS, Engine
from passport.config import Indicator, PassportConfig


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


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def read_codifier(path: Path) -> list[dict[str, str]]:
    """The KATOTTH codifier rows as dicts (levels 1–4, category, name)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    keys = ["l1", "l2", "l3", "l4", "extra", "category", "name"]
    return [dict(zip(keys, r)) for r in rows[1:] if len(r) >= 7]


def node_hromadas(cfg: NodeConfig, codifier: list[dict[str, str]]) -> list[Hromada]:
    """The hromadas of the node's territory, from the codifier."""
    level = {"oblast": "l1", "raion": "l2", "hromada": "l3"}[cfg.node.level.value]
    raions = {r["l2"]: r["name"] for r in codifier if r["category"] == "P"}
    return [Hromada(r["l3"], r["name"], r["l2"], raions.get(r["l2"], ""))
            for r in codifier if r["category"] == "H" and r[level] == cfg.node.katotth]


class Tables:
    """The reference tables (non-spatial indicators), the same in both paths."""

    def __init__(self, cfg: NodeConfig):
        ref = cfg.reference
        if ref.codifier is None:
            raise ConfigError(f"{cfg.config_path}: the passport needs reference.codifier (the KATOTTH codifier)")
        self.paths = {"codifier": cfg.resolve(ref.codifier)}
        if ref.population is not None:
            self.paths["population"] = cfg.resolve(ref.population)
        self.codifier = read_codifier(self.paths["codifier"])
        self.population: dict[str, dict[str, str]] = {}
        if "population" in self.paths:
            with open(self.paths["population"], encoding="utf-8-sig", newline="") as f:
                self.population = {r["hromada_code"]: r for r in csv.DictReader(f)}

    def provenance(self, name: str) -> tuple[str, str, str]:
        p = self.paths[name]
        mtime = dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc).replace(microsecond=0).isoformat()
        return p.name, f"sha256:{_sha(p)}", mtime

    def lookup(self, table: str, fieldname: str, codes: list[str]) -> dict[str, float | None]:
        rows = {"population": self.population}.get(table)
        if rows is None:
            raise ConfigError(f"passport: no table '{table}' for lookup (known: population)")
        out: dict[str, float | None] = {}
        for c in codes:
            raw = rows.get(c, {}).get(fieldname)
            out[c] = float(raw) if raw not in (None, "", "NA") else None
        return out

    def count(self, flt: Any, codes: list[str]) -> dict[str, float | None]:
        counts = dict.fromkeys(codes, 0.0)
        for r in self.codifier:
            if r["l3"] in counts and r["category"] not in ("H", "P", "O") and (flt is None or flt.matches(
                    r.get(flt.field, r["category"] if flt.field == "category" else None))):
                counts[r["l3"]] += 1
        return counts  # type: ignore[return-value]


def compute(cfg: NodeConfig, pcfg: PassportConfig, layers: dict[str, StoredLayer], engine: Engine,
            progress: Callable[[str], None] = lambda m: None) -> Result:
    tables = Tables(cfg)
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
        res.values[ind.id] = _one(ind, codes, hromadas, layers, tables, engine, res, boundary, pcfg)
        progress(f"passport: {ind.id}")
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
    if src.startswith("table:"):
        table = src.split(":", 1)[1]
        name, version, when = tables.provenance(table)
        vals = (tables.lookup(table, ind.field or "", codes) if ind.aggregate == "lookup"
                else tables.count(ind.filter, codes))
        return {c: Value(vals[c], name, version, when) for c in codes}
    if src == "boundary":
        layer = boundary
    else:
        layer = layers.get(src)
    if layer is None:
        return {c: Value(None, src, "not loaded", "") for c in codes}
    with_geom = [h for h in hromadas if h.geometry is not None]
    vals = AGGREGATIONS[ind.aggregate](engine, ind, layer, with_geom, pcfg)
    version = f"v{layer.version} sha256:{layer.checksum[:12]}"
    return {h.katotth: Value(vals.get(h.katotth) if h.geometry is not None else None, layer.dataset_id, version,
                             layer.loaded_at) for h in hromadas}


def area_transformer(pcfg: PassportConfig) -> Transformer:
    return Transformer.from_crs("EPSG:4326", pcfg.area_crs, always_xy=True)


def to_area_crs(geoms: np.ndarray, pcfg: PassportConfig) -> np.ndarray:
    tr = area_transformer(pcfg)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
