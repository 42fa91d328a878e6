"""Target schemas (``config/schemas/*.yaml``): which fields a dataset publishes, their types, which are
required, allowed values (codelists), where each comes from in the source and unit conversions.

A schema is parsed once into :class:`TargetSchema`. Values are coerced feature by feature; a feature
with a value that cannot be coerced gets a reason naming the field and the value and goes to the
``<dataset>__rejected`` layer — it is never silently dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from geoportal.errors import ConfigError
from ingest.text import field_name

UNITS: dict[str, float] = {  # to SI base: metre, square metre
    "mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0,
    "m2": 1.0, "ha": 10_000.0, "km2": 1_000_000.0, "sotka": 100.0,
}
ARROW = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(),
         "date": pa.string(), "datetime": pa.string()}
_TRUE = {"1", "true", "yes", "так", "t", "y", "+"}
_FALSE = {"0", "false", "no", "ні", "f", "n", "-"}


class Unit(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from")
    to: str


class SchemaField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    title: str | None = None
    source: str | None = Field(default=None, description="source header; defaults to the field name")
    type: Literal["string", "integer", "number", "boolean", "date", "datetime"] = "string"
    required: bool = False
    codelist: list[str] | None = None
    unit: Unit | None = None


class TargetSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str | None = None
    fields: list[SchemaField]
    keep_unmapped: bool = False

    def arrow_fields(self) -> list[pa.Field]:
        return [pa.field(f.name, ARROW[f.type]) for f in self.fields]


def load_schema(path: Path) -> TargetSchema:
    if not path.is_file():
        raise ConfigError(f"{path}: no such schema file; schemas live in config/schemas/<name>.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        schema = TargetSchema.model_validate(raw)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    except ValidationError as e:
        errs = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        raise ConfigError(f"{path}: the schema is not valid: {errs}") from None
    for f in schema.fields:
        if f.unit and (f.unit.from_ not in UNITS or f.unit.to not in UNITS):
            raise ConfigError(f"{path}: fields.{f.name}.unit: unknown unit (known: {', '.join(UNITS)})")
    return schema


def resolve_schema_path(base_dir: Path, name: str) -> Path:
    p = Path(name)
    if p.suffix in (".yaml", ".yml"):
        return p if p.is_absolute() else (base_dir / p).resolve()
    for cand in (base_dir.parent / "schemas" / f"{name}.yaml", base_dir / "schemas" / f"{name}.yaml"):
        if cand.exists():
            return cand
    return base_dir.parent / "schemas" / f"{name}.yaml"


def _coerce(f: SchemaField, v: Any) -> Any:
    if v is None or (isinstance(v, str) and v.strip() == ""):
        if f.required:
            raise ValueError("is required but empty")
        return None
    if f.codelist is not None and str(v).strip() not in f.codelist:
        shown = ", ".join(f.codelist[:8]) + ("…" if len(f.codelist) > 8 else "")
        raise ValueError(f"{str(v)!r} is not in the codelist ({shown})")
    if f.type == "string":
        return str(v).strip()
    if f.type == "boolean":
        s = str(v).strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise ValueError(f"{v!r} is not yes/no")
    if f.type in ("integer", "number"):
        s = re.sub(r"[\s\u00a0]", "", str(v)).replace(",", ".") if not isinstance(v, (int, float)) else v
        num = float(s)
        if f.unit:
            num = num * UNITS[f.unit.from_] / UNITS[f.unit.to]
        if f.type == "integer":
            if not float(num).is_integer():
                raise ValueError(f"{v!r} is not a whole number")
            return int(num)
        return num
    s = str(v).strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y") if f.type == "date" else ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
                                                                             "%d.%m.%Y %H:%M", "%Y-%m-%d"):
        try:
            d = dt.datetime.strptime(s[:19], fmt)
            return d.date().isoformat() if f.type == "date" else d.isoformat()
        except ValueError:
            continue
    raise ValueError(f"{v!r} is not a {f.type}")


def apply(schema: TargetSchema, batch: pa.RecordBatch, titles: dict[str, str],
          reasons: list[str | None]) -> list[pa.Array]:
    """The target columns for a batch; features that fail get a reason (``reasons`` is updated)."""
    by_title = {t: n for n, t in titles.items()}
    out = []
    for f in schema.fields:
        src = f.source or f.name
        col_name = by_title.get(src) or (src if src in batch.schema.names else None) or \
            (field_name(src) if field_name(src) in batch.schema.names else None)
        values = batch.column(col_name).to_pylist() if col_name else [None] * batch.num_rows
        coerced: list[Any] = []
        for i, v in enumerate(values):
            try:
                coerced.append(_coerce(f, v))
            except (ValueError, TypeError) as e:
                coerced.append(None)
                if reasons[i] is None:
                    msg = str(e) if not isinstance(e, ValueError) or "could not convert" not in str(e) \
                        else f"{v!r} is not a {f.type}"
                    reasons[i] = f"value not valid: field {f.name} (source «{src}») {msg}"
        out.append(pa.array(coerced, ARROW[f.type]))
    return out
