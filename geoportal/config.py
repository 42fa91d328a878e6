"""The node configuration: one YAML file per node, parsed once, here, into typed objects.

Nothing deeper in the code reads raw dicts: every stage takes a :class:`NodeConfig`. Errors name the
file, the key path (``datasets[2].title.uk``), the bad value and what was expected, so an official who
edits the YAML by hand can fix it without reading Python.

Relative paths in a config (``source``, ``storage.path``, reference tables) are resolved against the
directory of the config file, so a node folder can be moved as a whole.
"""

from __future__ import annotations

import json
import re
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from geoportal import plugins
from access.config import AccessConfig, problems_with
from decisions.config import DecisionsConfig
from geoportal.errors import ConfigError
from geoportal.model import RASTER_SUFFIXES

KATOTTH_RE = re.compile(r"^UA\d{17}$")
VECTOR_SERVICES = ("ogcapi", "wms", "wfs", "downloads")
RASTER_SERVICES = ("wms", "downloads")
ID_RE = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Text(_Strict):
    """Free text in Ukrainian (first-class) and English."""

    uk: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.uk if lang.startswith("uk") else self.en


class Keywords(_Strict):
    uk: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)


class Level(str, Enum):
    hromada = "hromada"
    raion = "raion"
    oblast = "oblast"


class Access(str, Enum):
    """Who may see a dataset. Only ``public`` datasets are served on the open endpoints."""

    public = "public"
    officials = "officials"
    restricted = "restricted"


class Contact(_Strict):
    organisation: Text
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    url: str | None = None
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    country: str = "Ukraine"
    individual: str | None = None
    position: str | None = None


class Identity(_Strict):
    id: str = Field(pattern=ID_RE, description="short machine name, used in URLs and identifiers")
    level: Level
    katotth: str = Field(description="KATOTTH code of the territory, e.g. UA18000000000041385")
    name: Text
    description: Text | None = None
    contact: Contact
    url: str | None = Field(default=None, description="public base URL; defaults to http://HOST:PORT")

    @field_validator("katotth")
    @classmethod
    def _katotth(cls, v: str) -> str:
        if not KATOTTH_RE.match(v):
            raise ValueError("a KATOTTH code is 'UA' followed by 17 digits, e.g. UA18000000000041385")
        return v


class Storage(_Strict):
    backend: str = Field(default="geopackage", description="geopackage | postgis, or a store registered in "
                         "geoportal/plugins.py")
    path: Path | None = Field(default=None, description="folder of the GeoPackages (geopackage backend)")
    dsn: str | None = Field(default=None, description="postgresql://… (postgis backend)")
    read_dsn: str | None = Field(default=None, description="postgresql://… where the servers (OGC API, WMS/WFS) "
                                 "read the layers, e.g. a streaming replica with the primary as fallback "
                                 "(host=replica,primary target_session_attrs=prefer-standby); writes use dsn")
    schema_: str = Field(default="public", alias="schema", pattern=r"^[a-z_][a-z0-9_]*$")
    crs: str = Field(default="EPSG:4326", description="CRS the layers are stored in")

    @field_validator("backend")
    @classmethod
    def _store(cls, v: str) -> str:
        v = plugins.check("store", v)
        if v == "cog":
            raise ValueError("'cog' holds rasters only; a node stores its vector layers in geopackage or postgis "
                             "(GeoTIFF datasets become Cloud-Optimised GeoTIFFs by themselves)")
        return v

    @model_validator(mode="after")
    def _backend_needs(self) -> "Storage":
        if self.backend == "postgis" and not self.dsn:
            raise ValueError("backend 'postgis' needs 'dsn' (postgresql://user@host:port/db)")
        if self.dsn and not self.dsn.startswith(("postgresql://", "postgres://")):
            raise ValueError("'dsn' must start with postgresql://")
        if self.read_dsn and not self.read_dsn.startswith(("postgresql://", "postgres://")):
            raise ValueError("'read_dsn' must start with postgresql://")
        if self.read_dsn and self.backend != "postgis":
            raise ValueError("'read_dsn' is for the postgis backend (a replica of storage.dsn)")
        return self


class Link(_Strict):
    id: str = Field(pattern=ID_RE)
    url: str = Field(pattern=r"^https?://")
    type: str = Field(default="geoportal", description="harvester: geoportal (a node of ours), csw, or a "
                      "name registered in geoportal/plugins.py")
    name: Text | None = None
    harvest_token_env: str | None = Field(
        default=None, pattern=r"^[A-Z][A-Z0-9_]{0,63}$",
        description="the environment variable holding the harvest token this child gave the node (it then "
        "hands over its non-public records with their access levels); default GEOPORTAL_HARVEST_TOKEN")

    @field_validator("type")
    @classmethod
    def _harvester(cls, v: str) -> str:
        return plugins.check("harvester", v)


class RemoteService(_Strict):
    """An external OGC service the node lists in its catalog (its capabilities become a service record,
    refreshed by ``geoportal harvest``)."""

    id: str = Field(pattern=ID_RE)
    url: str = Field(pattern=r"^https?://", description="the service endpoint (WMS/WFS base URL or OGC API landing page)")
    type: Literal["wms", "wfs", "ogcapi"]


class Dataset(_Strict):
    id: str = Field(pattern=ID_RE, description="short machine name: layer, collection and file name")
    source: Path
    layer: str | None = Field(default=None, description="layer inside a multi-layer source")
    where: str | None = Field(default=None, description="OGR SQL filter applied when reading the source")
    assume_crs: str | None = Field(default=None, description="CRS to use when the source declares none")
    crs_proj: str | None = Field(default=None, description="PROJ string (+towgs84) of a local CRS, e.g. SK-63; "
                                 "used when the file declares none")
    territory_check: bool = Field(default=False, description="quarantine features outside the node's territory")
    z: Literal["drop", "keep"] = Field(default="drop", description="what to do with Z coordinates")
    encoding: str | None = None
    title: Text
    abstract: Text
    keywords: Keywords = Field(default_factory=Keywords)
    theme: str = Field(default="other", pattern=ID_RE, description="group layer in WMS")
    inspire_theme: str | None = None
    topic_category: str = "boundaries"
    licence: str = "CC-BY-4.0"
    attribution: str | None = None
    access: Access = Access.public
    style: str | None = Field(default=None, description="name of a style in styles/ (without .sld)")
    schema_: str | None = Field(default=None, alias="schema", description="target schema in config/schemas")
    label: str | None = Field(default=None, description="field used for labels and feature titles")
    date: str | None = Field(default=None, description="reference date of the data (YYYY-MM-DD)")
    scale: int | None = Field(default=None, gt=0, description="equivalent scale of the source, the N of 1:N "
                              "(the spatial resolution of the ISO/INSPIRE record)")
    record: Path | None = Field(default=None, description="an ISO 19139 record written by the custodian, "
                                "validated and published instead of the generated one")
    services: list[str] = Field(
        default_factory=lambda: list(VECTOR_SERVICES), description="the services that publish this dataset (names declared by the node's "
        "publishers: ogcapi, wms, wfs, downloads, …); default: all of them that serve its kind of data — a "
        "GeoTIFF (a raster) is served by wms and downloads")

    @property
    def is_raster(self) -> bool:
        return Path(self.source).suffix.lower() in RASTER_SUFFIXES

    @model_validator(mode="before")
    @classmethod
    def _default_services(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("services") is None and data.get("source"):
            raster = Path(str(data["source"])).suffix.lower() in RASTER_SUFFIXES
            data = {**data, "services": list(RASTER_SERVICES if raster else VECTOR_SERVICES)}
        return data

    @model_validator(mode="after")
    def _raster_services(self) -> "Dataset":
        if self.is_raster and (wrong := [s for s in self.services if s not in RASTER_SERVICES]):
            raise ValueError(f"a raster (GeoTIFF) is served by {' and '.join(RASTER_SERVICES)} only, not by "
                             f"{', '.join(wrong)}; remove them from services")
        return self

    @field_validator("date")
    @classmethod
    def _date(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^\d{4}-\d{2}-\d{2}$", v):
            raise ValueError("a date is written YYYY-MM-DD")
        return v


class Reference(_Strict):
    """Reference tables the node uses for linking and the passport (not published as layers)."""

    codifier: Path | None = Field(default=None, description="KATOTTH codifier CSV (the node's rows)")
    koatuu_crosswalk: Path | None = None
    councils: Path | None = Field(default=None, description="old council (KOATUU) → hromada table")
    population: Path | None = None
    boundaries: str | None = Field(default=None, description="id of the dataset with hromada polygons")
    territory: str | None = Field(default=None, description="id of the dataset with the node's outline "
                                  "(default '<level>-boundary')")


class GeoServer(_Strict):
    """A GeoServer the node also publishes to (``publisher: geoserver``), through its REST API."""

    url: str = Field(pattern=r"^https?://", description="e.g. http://geo.example.org/geoserver")
    username: str = "admin"
    password_env: str = Field(default="GEOSERVER_PASSWORD",
                              description="name of the environment variable that holds the password")
    workspace: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class NodeConfig(_Strict):
    node: Identity
    storage: Storage = Field(default_factory=Storage)
    publisher: str = Field(default="builtin", description="builtin (pygeoapi + MapServer + downloads), or an extra "
                           "publisher registered in geoportal/plugins.py, e.g. geoserver")
    geoserver: GeoServer | None = None
    parent: Link | None = None
    children: list[Link] = Field(default_factory=list)
    remote_services: list[RemoteService] = Field(default_factory=list, description="external OGC services "
                                                 "listed in the catalog, harvested like the children")
    reference: Reference = Field(default_factory=Reference)
    passport: Path | None = Field(default=None, description="passport.yaml with the hromada indicators")
    datasets: list[Dataset] = Field(default_factory=list)
    access: AccessConfig | None = Field(default=None, description="who may see what beyond the dataset levels: "
                                        "rules, trusted token issuers, login limits (see access/config.py)")
    decisions: DecisionsConfig = Field(default_factory=DecisionsConfig, description="the decision register: heads, "
                                       "moderators, peers for agreement (see decisions/config.py)")

    # set by load_config; not part of the YAML
    config_path: Path | None = Field(default=None, exclude=True)

    @field_validator("publisher")
    @classmethod
    def _publisher(cls, v: str) -> str:
        return v if v == "builtin" else plugins.check("publisher", v)

    @model_validator(mode="after")
    def _geoserver_settings(self) -> "NodeConfig":
        if self.publisher == "geoserver" and self.geoserver is None:
            raise ValueError("publisher 'geoserver' needs a 'geoserver:' section with at least 'url'")
        return self

    @model_validator(mode="after")
    def _known_services(self) -> "NodeConfig":
        from geoportal.services import dataset_services

        known = dataset_services(self)
        for i, d in enumerate(self.datasets):
            if unknown := [s for s in d.services if s not in known]:
                raise ValueError(f"datasets[{i}].services: no service {', '.join(map(repr, unknown))} on this node "
                                 f"(its publishers declare: {', '.join(sorted(known))})")
        return self

    @model_validator(mode="after")
    def _unique_ids(self) -> "NodeConfig":
        seen: set[str] = set()
        for i, d in enumerate(self.datasets):
            if d.id in seen:
                raise ValueError(f"datasets[{i}].id '{d.id}' is used twice; dataset ids must be unique")
            seen.add(d.id)
        harvested = [c.id for c in self.children] + [r.id for r in self.remote_services]
        for i in sorted({i for i in harvested if harvested.count(i) > 1}):
            raise ValueError(f"'{i}' names two of children/remote_services; their ids must be unique")
        return self

    @property
    def base_dir(self) -> Path:
        return self.config_path.parent if self.config_path else Path.cwd()

    def resolve(self, p: Path | str) -> Path:
        """A path from the config, absolute, relative to the config file's folder."""
        p = Path(p)
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    def dataset(self, dataset_id: str) -> Dataset:
        for d in self.datasets:
            if d.id == dataset_id:
                return d
        known = ", ".join(d.id for d in self.datasets) or "none"
        raise ConfigError(f"{self.config_path}: no dataset '{dataset_id}' (known: {known})")

    @property
    def public_datasets(self) -> list[Dataset]:
        return [d for d in self.datasets if d.access == Access.public]


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _format_errors(path: Path, err: ValidationError, raw: Any) -> str:
    lines = [f"{path}: the node configuration is not valid ({err.error_count()} problem(s)):"]
    for e in err.errors():
        loc = tuple(x for x in e["loc"] if x not in ("function-after", "function-before"))
        key = _key_path(loc)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            lines.append(f"  - {key}: missing; {e['msg'].lower()} (required key)")
        elif e["type"] == "extra_forbidden":
            lines.append(f"  - {key}: unknown key (check its spelling against the documented keys)")
        else:
            value = e.get("input")
            shown = json.dumps(value, ensure_ascii=False, default=str)
            if len(shown) > 80:
                shown = shown[:77] + "..."
            lines.append(f"  - {key}: {msg} (got {shown})")
    return "\n".join(lines)


def load_config(path: str | Path) -> NodeConfig:
    """Read and validate a node config; every problem becomes one :class:`ConfigError`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file; node configs live in config/nodes/*.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e}); save the file as UTF-8") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with 'node:' and 'datasets:' at the top level")
    try:
        cfg = NodeConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_errors(path, e, raw)) from None
    cfg = cfg.model_copy(update={"config_path": path.resolve()})
    _check_files(cfg)
    return cfg


def _check_files(cfg: NodeConfig) -> None:
    problems = []
    for i, d in enumerate(cfg.datasets):
        src = cfg.resolve(d.source)
        if not src.exists():
            problems.append(f"  - datasets[{i}].source: file not found: {src}")
        if d.record is not None and not cfg.resolve(d.record).is_file():
            problems.append(f"  - datasets[{i}].record: file not found: {cfg.resolve(d.record)}")
    for key in ("codifier", "koatuu_crosswalk", "councils", "population"):
        val = getattr(cfg.reference, key)
        if val is not None and not cfg.resolve(val).exists():
            problems.append(f"  - reference.{key}: file not found: {cfg.resolve(val)}")
    if cfg.passport is not None and not cfg.resolve(cfg.passport).is_file():
        problems.append(f"  - passport: file not found: {cfg.resolve(cfg.passport)}")
    ids = {d.id for d in cfg.datasets}
    for key in ("boundaries", "territory"):
        val = getattr(cfg.reference, key)
        if val and val not in ids:
            problems.append(f"  - reference.{key}: '{val}' is not a dataset id")
    if cfg.access is not None:
        problems += [f"  - {p}" for p in problems_with(cfg.access, {d.id: d.access.value for d in cfg.datasets})]
    if problems:
        raise ConfigError(f"{cfg.config_path}: the node configuration names missing things:\n" + "\n".join(problems))


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a node config (shipped as config/node.schema.json for editors)."""
    return NodeConfig.model_json_schema(by_alias=True)


def absolutize(raw: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """A raw config (as read from YAML) with every path made absolute against ``base_dir``, so the config
    can be written elsewhere (derived configs for a network or a test) and still name the same files."""
    def fix(value: Any) -> Any:
        return str((base_dir / value).resolve()) if value not in (None, "") else value

    def schema(name: str) -> str:
        """A target schema named as ingest finds it (config/schemas/<name>.yaml beside the config's folder),
        as an absolute path; a name that finds no file is left for ingest to report."""
        if name.endswith((".yaml", ".yml")):
            return fix(name)
        found = [p for p in (base_dir.parent / "schemas" / f"{name}.yaml", base_dir / "schemas" / f"{name}.yaml")
                 if p.is_file()]
        return str(found[0].resolve()) if found else name

    out = dict(raw)
    out["datasets"] = [dict(d, source=fix(d["source"]), **({"record": fix(d["record"])} if d.get("record") else {}),
                            **({"schema": schema(d["schema"])} if d.get("schema") else {}))
                       for d in raw.get("datasets", [])]
    if raw.get("reference"):
        out["reference"] = {k: (fix(v) if k in ("codifier", "koatuu_crosswalk", "councils", "population") else v)
                            for k, v in raw["reference"].items()}
    if raw.get("passport"):
        out["passport"] = fix(raw["passport"])
    if (raw.get("storage") or {}).get("path"):
        out["storage"] = dict(raw["storage"], path=fix(raw["storage"]["path"]))
    if (raw.get("access") or {}).get("trusted_issuers"):
        issuers = raw["access"]["trusted_issuers"]
        out["access"] = dict(raw["access"], trusted_issuers=[
            dict(i, jwks_file=fix(i["jwks_file"])) if i.get("jwks_file") else i for i in issuers])
    return out
