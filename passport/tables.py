"""The non-spatial sources of the passport: the KATOTTH codifier and tables of values per unit (population,
old councils, any CSV a region adds under ``tables:`` in passport.yaml). The same in both paths.

A table keyed by KATOTTH is read as is; one keyed by KOATUU (figures published before the 2020 reform) is
mapped to today's hromadas with the node's own linking index (``ingest.admin``: the councils → hromadas
table first, then the official KOATUU → KATOTTH cross-walk), so a passport stays continuous across the
reform. Rows that map to no single hromada are counted and reported, never dropped silently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geoportal.config import NodeConfig
from geoportal.errors import ConfigError, GeoportalError
from ingest.readers.coords import parse_number
from passport.config import Filter, PassportConfig, Table

# the codifier writes its category letters in Latin, the 2021 cross-walk in Cyrillic: compare in Latin
_CATEGORY_LATIN = str.maketrans("ОРНМХСВТК", "OPHMXCBTK")


def read_codifier(path: Path) -> list[dict[str, str]]:
    """The KATOTTH codifier rows as dicts (levels 1–4, category, name)."""
    from ingest.reference import codifier

    return codifier(path)  # checked: code formats, duplicates, stray lines


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _float(v: Any) -> float:
    """A table cell as a number (decimal comma, spaces between thousands); NaN when it is not one."""
    x = parse_number(v)
    return float("nan") if x is None else x


@dataclass
class Loaded:
    """One table: its rows, the hromada each row belongs to (None = unmapped), and where it came from."""

    path: Path
    rows: list[dict[str, str]]
    hromada: list[str | None]

    @property
    def unmapped(self) -> int:
        return sum(c is None for c in self.hromada)


class Tables:
    def __init__(self, cfg: NodeConfig, pcfg: PassportConfig | None = None):
        if cfg.reference.codifier is None:
            raise ConfigError(f"{cfg.config_path}: the passport needs reference.codifier (the KATOTTH codifier)")
        self.cfg, self.pcfg = cfg, pcfg
        self.paths: dict[str, Path] = {"codifier": cfg.resolve(cfg.reference.codifier)}
        self.codifier = read_codifier(self.paths["codifier"])
        self._loaded: dict[str, Loaded] = {}
        self._koatuu: dict[str, str] | None = None
        for name in self._used_tables():
            self.paths[name] = self._path(name, self._def(name))

    def _used_tables(self) -> list[str]:
        if self.pcfg is None:
            return ["population"] if self.cfg.reference.population is not None else []
        return sorted({i.table for i in self.pcfg.indicators if i.table and i.table != "codifier"})

    def _def(self, name: str) -> Table:
        t = self.pcfg.table_def(name) if self.pcfg is not None else None
        if t is None and name == "population":
            t = Table(reference="population", key="hromada_code")
        if t is None:
            raise ConfigError(f"passport: no table '{name}'; declare it under 'tables:' in passport.yaml")
        return t

    def _path(self, name: str, t: Table) -> Path:
        if t.reference is not None:
            ref = getattr(self.cfg.reference, t.reference)
            if ref is None:
                raise ConfigError(f"{self.cfg.config_path}: the passport table '{name}' needs reference.{t.reference}")
            return self.cfg.resolve(ref)
        base = self.pcfg.config_path.parent if self.pcfg is not None and self.pcfg.config_path else Path.cwd()
        path = (base / t.path).resolve()  # type: ignore[operator]
        if not path.is_file():
            raise ConfigError(f"passport table '{name}': file not found: {path}")
        return path

    def provenance(self, name: str) -> tuple[str, str, str]:
        p = self.paths[name]
        mtime = dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc).replace(microsecond=0).isoformat()
        return p.name, f"sha256:{_sha(p)}", mtime

    # -- mapping rows to hromadas ---------------------------------------------------------------------

    def _hromada_of(self) -> dict[str, str]:
        """KATOTTH code of any unit (hromada, settlement, district) → its hromada, from the codifier."""
        out = {}
        for r in self.codifier:
            if r["l3"]:
                for c in (r["l3"], r["l4"], r["extra"]):
                    if c:
                        out[c] = r["l3"]
        return out

    def _koatuu_index(self) -> dict[str, str]:
        """KOATUU → KATOTTH hromada, through ingest's linking index (councils first, then the cross-walk)."""
        if self._koatuu is None:
            from ingest.admin import build_index

            ref = self.cfg.reference.model_copy(update={"boundaries": None})  # codes only, no polygons
            idx = build_index(self.cfg.model_copy(update={"reference": ref}), None)
            up = self._hromada_of()
            self._koatuu = {k: up[c] for k, c in idx.koatuu.items() if c in up}
        return self._koatuu

    def load(self, name: str) -> Loaded:
        if name not in self._loaded:
            t = self._def(name)
            from ingest.reference import keyed_table

            # checked: the key column, its code format, one row per unit for population, stray lines
            rows = keyed_table(self.paths[name], t.key, t.key_type, unique=t.reference == "population")
            keys = [r.get(t.key, "").strip() for r in rows]
            if t.key_type == "koatuu":
                idx = self._koatuu_index()
                codes: list[str | None] = [idx.get(re.sub(r"\D", "", k).ljust(10, "0")[:10]) if k else None
                                           for k in keys]
            else:
                up = self._hromada_of()
                codes = [up.get(k) for k in keys]
            self._loaded[name] = Loaded(self.paths[name], rows, codes)
        return self._loaded[name]

    # -- aggregations over a table ----------------------------------------------------------------------

    def aggregate(self, name: str, aggregate: str, fieldname: str | None, weight: str | None,
                  flt: Filter | None, codes: list[str]) -> dict[str, float | None]:
        if name == "codifier":
            if aggregate not in ("count", "count_table"):
                raise ConfigError(f"passport: the codifier only counts units (got aggregate '{aggregate}')")
            return self.count_settlements(flt, codes)
        t = self.load(name)
        keep = np.ones(len(t.rows), dtype=bool) if flt is None else flt.mask(r.get(flt.field) for r in t.rows)
        groups: dict[str, list[int]] = {c: [] for c in codes}
        for i, (c, k) in enumerate(zip(t.hromada, keep)):
            if k and c in groups:
                groups[c].append(i)
        out: dict[str, float | None] = {}
        for c, idx in groups.items():
            vals = np.array([_float(t.rows[i].get(fieldname or "")) for i in idx])
            if aggregate in ("count", "count_table"):
                out[c] = float(len(idx))
            elif aggregate == "lookup":
                if len(idx) > 1:
                    raise GeoportalError(f"passport table '{name}': {len(idx)} rows for hromada {c}; use "
                                         "'sum' (or a filter) instead of 'lookup'")
                out[c] = None if not idx or np.isnan(vals[0]) else float(vals[0])
            elif aggregate == "sum":
                out[c] = float(np.nansum(vals)) if idx else 0.0
            else:  # population_weighted
                w = np.array([_float(t.rows[i].get(weight or "")) for i in idx])
                ok = ~(np.isnan(vals) | np.isnan(w))
                out[c] = float((vals[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() and w[ok].sum() else None
        return out

    def count_settlements(self, flt: Filter | None, codes: list[str]) -> dict[str, float | None]:
        """Settlements and city districts of each hromada in the codifier (categories M, X, C, B, K)."""
        counts: dict[str, float | None] = dict.fromkeys(codes, 0.0)
        rows = [r for r in self.codifier if r["l3"] in counts and r["category"] not in ("H", "P", "O")]
        if flt is not None:
            if flt.field == "category":  # "С" typed in Cyrillic means the Latin "C" of the codifier
                flt = flt.model_copy(update={k: _latin(getattr(flt, k)) for k in ("equals", "in_", "startswith")})
                rows = [r for r, k in zip(rows, flt.mask(r["category"].translate(_CATEGORY_LATIN) for r in rows)) if k]
            else:
                rows = [r for r, k in zip(rows, flt.mask(r.get(flt.field) for r in rows)) if k]
        for r in rows:
            counts[r["l3"]] += 1  # type: ignore[operator]
        return counts


def _latin(v: Any) -> Any:
    if isinstance(v, str):
        return v.translate(_CATEGORY_LATIN)
    if isinstance(v, list):
        return [_latin(x) for x in v]
    return v
