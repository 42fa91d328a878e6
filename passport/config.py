"""passport.yaml, parsed once into typed objects with key-path errors (like the node config)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Literal

import numpy as np

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from geoportal.config import _format_errors
from geoportal.errors import ConfigError

#: aggregations that read no layer: over a reference table (passport/tables.py) or of two indicators (ratio).
#: The spatial ones are the ``aggregation`` registry of geoportal/plugins.py.
NON_SPATIAL = ("lookup", "count_table", "ratio")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    uk: str
    en: str


class Filter(_Strict):
    field: str
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    startswith: str | None = None

    @model_validator(mode="after")
    def _one(self) -> "Filter":
        if sum(x is not None for x in (self.equals, self.in_, self.startswith)) != 1:
            raise ValueError("a filter has exactly one of: equals, in, startswith")
        return self

    def mask(self, values: Iterable[Any]) -> np.ndarray:
        """Which values pass. Values compare as text, as in SQL (``::text``): a CSV cell "5" matches
        ``equals: 5``; a missing value never matches."""
        values = list(values)
        if self.startswith is not None:
            prefix = str(self.startswith)
            test: Callable[[str], bool] = lambda t: t.startswith(prefix)  # noqa: E731
        else:
            wanted = {_text(v) for v in (self.in_ if self.in_ is not None else [self.equals])}
            test = wanted.__contains__
        return np.fromiter((v is not None and test(_text(v)) for v in values), dtype=bool, count=len(values))

    def matches(self, value: Any) -> bool:
        return bool(self.mask([value])[0])


def _text(v: Any) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


TABLE_AGGREGATES = ("lookup", "count", "count_table", "sum", "population_weighted")
SPATIAL_ONLY = ("area", "length", "area_inside", "share_of_area")


class Table(_Strict):
    """A non-spatial table of values per unit: a reference table of the node or a CSV next to passport.yaml.

    ``key_type: koatuu`` maps the old (pre-2020) KOATUU codes of councils or settlements to today's
    hromadas through the node's councils table and the official cross-walk, so figures published under
    the old codes land in the right passport. A row whose code does not map to one hromada (an old raion,
    an unknown code) is counted as unmapped and reported, never added to a neighbour."""

    reference: Literal["population", "councils", "koatuu_crosswalk"] | None = None
    path: Path | None = None  # relative to passport.yaml
    key: str
    key_type: Literal["katotth", "koatuu"] = "katotth"

    @model_validator(mode="after")
    def _one_source(self) -> "Table":
        if (self.reference is None) == (self.path is None):
            raise ValueError("a table has exactly one of: reference (a table of the node), path (a CSV file)")
        return self


class Indicator(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    title: Text
    aggregate: str
    source: str | None = None  # "boundary", a dataset id, or "table:<population|codifier>"
    field: str | None = None
    weight: str | None = None
    filter: Filter | None = None
    numerator: str | None = None
    denominator: str | None = None
    scale: float = 1.0
    unit: Text
    decimals: int = 2

    @property
    def table(self) -> str | None:
        """The table name when the source is ``table:<name>``."""
        return self.source.split(":", 1)[1] if self.source and self.source.startswith("table:") else None

    @field_validator("aggregate")
    @classmethod
    def _known(cls, v: str) -> str:
        from geoportal import plugins

        if v in NON_SPATIAL:
            return v
        return plugins.check("aggregation", v)

    @model_validator(mode="after")
    def _needs(self) -> "Indicator":
        need = {"sum": ["source", "field"], "population_weighted": ["source", "field", "weight"],
                "lookup": ["source", "field"], "ratio": ["numerator", "denominator"]}.get(self.aggregate, ["source"])
        missing = [k for k in need if getattr(self, k) in (None, "")]
        if missing:
            raise ValueError(f"aggregate '{self.aggregate}' needs {', '.join(missing)}")
        if self.table is not None and self.aggregate not in TABLE_AGGREGATES:
            raise ValueError(f"aggregate '{self.aggregate}' needs geometry; a table source takes one of: "
                             f"{', '.join(TABLE_AGGREGATES)}")
        if self.table is None and self.aggregate in ("lookup", "count_table"):
            raise ValueError(f"aggregate '{self.aggregate}' reads a table: source must be 'table:<name>'")
        return self


class Hromadas(_Strict):
    dataset: str
    code_field: str


BUILTIN_TABLES = {"codifier": None, "population": Table(reference="population", key="hromada_code")}


class PassportConfig(_Strict):
    area_crs: str
    hromadas: Hromadas
    tables: dict[str, Table] = Field(default_factory=dict)
    indicators: list[Indicator]

    # set by load_passport_config; not part of the YAML (relative table paths are resolved against it)
    config_path: Path | None = Field(default=None, exclude=True)

    @field_validator("area_crs")
    @classmethod
    def _projected(cls, v: str) -> str:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(v)
        except CRSError as e:
            raise ValueError(f"not a CRS pyproj knows ({e}); e.g. EPSG:6384 or a +proj=laea string") from None
        if not crs.is_projected:
            raise ValueError("areas and lengths need a projected (metric, preferably equal-area) CRS")
        return v

    def table_def(self, name: str) -> Table | None:
        return self.tables.get(name) or BUILTIN_TABLES.get(name)

    @model_validator(mode="after")
    def _refs(self) -> "PassportConfig":
        seen: list[str] = []
        for i, ind in enumerate(self.indicators):
            if ind.id in seen:
                raise ValueError(f"indicators[{i}].id '{ind.id}' is used twice")
            for ref in (ind.numerator, ind.denominator):
                if ref is not None and ref not in seen:
                    raise ValueError(f"indicators[{i}] ({ind.id}) uses '{ref}', which must be declared before it")
            seen.append(ind.id)
            if ind.table is not None and ind.table not in self.tables and ind.table not in BUILTIN_TABLES:
                raise ValueError(f"indicators[{i}] ({ind.id}) reads table '{ind.table}', which is neither built in "
                                 f"({', '.join(BUILTIN_TABLES)}) nor declared under 'tables:'")
        return self


def load_passport_config(path: Path) -> PassportConfig:
    if not path.is_file():
        raise ConfigError(f"{path}: no passport config")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        pcfg = PassportConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_errors(path, e, raw).replace("node configuration", "passport configuration")) from None
    return pcfg.model_copy(update={"config_path": path.resolve()})
