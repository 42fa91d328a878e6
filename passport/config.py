"""passport.yaml, parsed once into typed objects with key-path errors (like the node config)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from geoportal.config import _format_errors
from geoportal.errors import ConfigError

AGGREGATES = ("area", "count", "sum", "length", "area_inside", "share_of_area", "population_weighted", "lookup",
              "count_table", "ratio")


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

    def matches(self, value: Any) -> bool:
        if self.equals is not None:
            return value == self.equals
        if self.in_ is not None:
            return value in self.in_
        return isinstance(value, str) and value.startswith(str(self.startswith))


class Indicator(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    title: Text
    aggregate: Literal[AGGREGATES]  # type: ignore[valid-type]
    source: str | None = None  # "boundary", a dataset id, or "table:<population|codifier>"
    field: str | None = None
    weight: str | None = None
    filter: Filter | None = None
    numerator: str | None = None
    denominator: str | None = None
    scale: float = 1.0
    unit: Text
    decimals: int = 2

    @model_validator(mode="after")
    def _needs(self) -> "Indicator":
        need = {"sum": ["source", "field"], "population_weighted": ["source", "field", "weight"],
                "lookup": ["source", "field"], "ratio": ["numerator", "denominator"]}.get(self.aggregate, ["source"])
        missing = [k for k in need if getattr(self, k) in (None, "")]
        if missing:
            raise ValueError(f"aggregate '{self.aggregate}' needs {', '.join(missing)}")
        return self


class Hromadas(_Strict):
    dataset: str
    code_field: str


class PassportConfig(_Strict):
    area_crs: str
    hromadas: Hromadas
    indicators: list[Indicator]

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
        return self


def load_passport_config(path: Path) -> PassportConfig:
    if not path.is_file():
        raise ConfigError(f"{path}: no passport config")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        return PassportConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_errors(path, e, raw).replace("node configuration", "passport configuration")) from None
