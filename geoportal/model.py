"""What the stages hand to each other.

ingest → :class:`StoredLayer` (one per dataset: its :class:`Location` in a storage backend, fields with
their original titles, version, :class:`QualityReport`) → publishers, metadata, catalog. A later stage
never re-reads the source file or the raw config, and never asks which backend a layer is in: it asks the
layer's location (an OGR source, a pygeoapi provider block, a MapServer DATA) instead.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:  # the model is imported by ingest-file, which needs no node config (pydantic, ~10 MB)
    from geoportal.config import NodeConfig

#: files a dataset is a raster for (Cloud-Optimised GeoTIFF storage), whatever the node's vector storage
RASTER_SUFFIXES = (".tif", ".tiff")

#: Ukraine in lon/lat (EPSG:4326): the area of use of the Ukrainian CRSs, and the extent a node reports
#: before it holds any data
UKRAINE_BBOX: tuple[float, float, float, float] = (22.1, 44.3, 40.3, 52.4)


@dataclass(frozen=True)
class FieldInfo:
    """One attribute of a stored layer: its column name, type, and the name people know it by."""

    name: str  # the column (transliterated, lower-case ASCII: safe in SQL, WFS and Shapefiles)
    type: str  # "string" | "integer" | "number" | "boolean" | "date" | "datetime"
    title: str | None = None  # the original header as the custodian wrote it (e.g. "Назва громади")

    @property
    def label(self) -> str:
        """What a person reads: the original title, or the column name when there was none."""
        return self.title or self.name


@dataclass(frozen=True)
class QualityReport:
    """What a load did to the data, kept with every version (``var/<node>/reports/<id>.json``).

    The keys a stage reads are typed fields; whatever else a reader or store adds (raster bands, coordinate
    columns, …) is kept in ``extra`` and written back out unchanged.
    """

    dataset: str = ""
    version: int = 0
    loaded_at: str = ""
    source: str | None = None
    source_member: str | None = None  # the file inside a zip the data came from
    driver: str | None = None
    checksum: str | None = None
    features_read: int = 0
    features_written: int = 0
    features_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    rejected_layer: str | None = None
    geometries_repaired: int = 0
    text_values_repaired: int = 0
    encoding: str | None = None
    encoding_decided_by: str | None = None
    source_crs: str | None = None
    source_crs_name: str | None = None
    crs_decided_by: str | None = None
    axis_swapped: bool = False
    coordinate_columns: list[str] | None = None  # CSV/XLSX: the columns read as coordinates
    datum_transformation: str | None = None
    storage_crs: str | None = None
    geometry_type: str | None = None
    extent_4326: tuple[float, ...] | None = None
    field_titles: dict[str, str] = field(default_factory=dict)
    schema: str | None = None
    admin_linked_by: dict[str, int] | None = None  # how features got their KATOTTH codes
    fingerprint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        if out["extent_4326"] is not None:
            out["extent_4326"] = list(out["extent_4326"])
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "QualityReport":
        d = dict(d or {})
        known = {f.name for f in fields(cls)} - {"extra"}
        kw = {k: d.pop(k) for k in list(d) if k in known and d[k] is not None}
        if "extent_4326" in kw:
            kw["extent_4326"] = tuple(kw["extent_4326"])
        return cls(**kw, extra=d)

    def with_(self, **changes: Any) -> "QualityReport":
        return replace(self, **changes)


@dataclass(frozen=True)
class RowFilter:
    """The rows of a layer one reader may see, as the access rules decide it: a CQL2 text filter over the
    layer's columns. A :class:`Location` narrowed by one (:meth:`Location.restricted`) gives every
    publisher a source that holds only those rows, so a rule is enforced by what the servers execute,
    never by matching URLs."""

    cql2: str


@runtime_checkable
class Location(Protocol):
    """Where a stored layer lives, and the answers to the few questions the publishers ask about it.

    Each storage backend (registry ``store`` in geoportal/plugins.py) has one: a GeoPackage table, a PostGIS
    table, a Cloud-Optimised GeoTIFF. Publishers call these methods and never test which backend it is.
    """

    backend: ClassVar[str]  # the store's registry name
    kind: ClassVar[str]  # "vector" | "raster"

    def describe(self) -> str:
        """For messages: the file and layer, or the database table (never a password)."""

    def exists(self) -> bool:
        """Whether the data is still there (a deleted workspace file, a dropped table)."""

    def ogr_source(self) -> list[str]:
        """Arguments that name the layer to GDAL's ``ogr2ogr``/``ogrinfo`` (Debian's GDAL)."""

    def pygeoapi_provider(self, id_field: str, geometry_column: str) -> dict[str, Any]:
        """The provider block of an OGC API collection over this layer (type, name, data, table, …)."""

    def mapserver_data(self, geometry_column: str, id_column: str, srid: int | None) -> dict[str, Any]:
        """The CONNECTIONTYPE / CONNECTION / DATA (and PROCESSING) of a MapServer LAYER."""

    def restricted(self, rows: RowFilter) -> "Location":
        """The same layer narrowed to the rows an access rule allows."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with ``backend`` so :func:`location_from_dict` can find the class again."""


def location_from_dict(d: dict[str, Any]) -> Location:
    """The typed location of a manifest entry, through the ``store`` registry."""
    from geoportal import plugins

    d = dict(d)
    module = plugins.load("store", d.pop("backend"))
    return module.Location.from_dict(d)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class StoredLayer:
    """One dataset as it sits in storage after a successful load — what every stage after ingest receives.

    The same shape for every backend: where it lives (:class:`Location`), what it is (vector or raster,
    geometry type, CRS, extent, fields with their original titles), which version, and the quality report
    of the load that made it.
    """

    dataset_id: str
    location: Location
    geometry_type: str  # OGC name ("MultiPolygon", "Point"), "Raster" for a raster
    feature_count: int
    bbox: tuple[float, float, float, float]  # lon/lat EPSG:4326 (minx, miny, maxx, maxy), rounded outward
    crs: str  # storage CRS, e.g. "EPSG:4326"
    fields: tuple[FieldInfo, ...]
    checksum: str  # sha256 of the source file(s)
    version: int
    loaded_at: str  # ISO 8601 UTC
    geometry_column: str = "geom"
    id_column: str = "fid"
    report: QualityReport = field(default_factory=QualityReport)

    @property
    def kind(self) -> str:
        return self.location.kind

    @property
    def backend(self) -> str:
        return self.location.backend

    @property
    def srid(self) -> int | None:
        """The EPSG code of the storage CRS, when it has one."""
        auth, _, code = self.crs.partition(":")
        return int(code) if auth.upper() == "EPSG" and code.isdigit() else None

    def field_title(self, name: str) -> str:
        """The original title of a column (for people), or the column name."""
        return next((f.label for f in self.fields if f.name == name), name)

    def restricted(self, rows: RowFilter) -> "StoredLayer":
        """This layer as one reader may see it (see :class:`RowFilter`)."""
        return replace(self, location=self.location.restricted(rows))

    def without_fields(self, names: "set[str] | frozenset[str]") -> "StoredLayer":
        """This layer described without the fields ``names`` (attributes a reader's rule hides)."""
        return replace(self, fields=tuple(f for f in self.fields if f.name not in names))

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["location"] = self.location.to_dict()
        d["fields"] = [asdict(f) for f in self.fields]
        d["bbox"] = list(self.bbox)
        d["report"] = self.report.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StoredLayer":
        d = dict(d)
        if "location" not in d:  # a manifest written before typed locations: backend/path/dsn/schema/table
            old = {k: d.pop(k, None) for k in ("backend", "path", "dsn", "schema", "table")}
            if old["backend"] == "postgis":
                d["location"] = {"backend": "postgis", "dsn": old["dsn"], "schema": old["schema"] or "public",
                                 "table": old["table"]}
            elif d.get("geometry_type") == "Raster":
                d["location"] = {"backend": "cog", "path": old["path"]}
            else:
                d["location"] = {"backend": "geopackage", "path": old["path"], "table": old["table"]}
        d["location"] = location_from_dict(d["location"])
        d["fields"] = tuple(FieldInfo(**f) for f in d.get("fields", ()))
        d["bbox"] = tuple(d["bbox"])
        d["report"] = QualityReport.from_dict(d.get("report"))
        return cls(**d)


class Workspace:
    """The folder where a node's built state lives (var/<node-id> by default).

    Everything generated — GeoPackages, service configs, ISO records, the catalog database — is here,
    so deleting the folder and rebuilding is always safe.
    """

    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    @classmethod
    def for_node(cls, cfg: NodeConfig, workdir: str | Path | None = None) -> "Workspace":
        if workdir is None:
            workdir = os.environ.get("GEOPORTAL_WORKDIR") or Path("var") / cfg.node.id
        return cls(Path(workdir))

    def data_dir(self, cfg: NodeConfig) -> Path:
        if cfg.storage.path is not None:
            return cfg.resolve(cfg.storage.path)
        return self.root / "data"

    @property
    def services(self) -> Path:
        return self.root / "services"

    @property
    def records(self) -> Path:
        return self.root / "records"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"

    @property
    def catalog_db(self) -> Path:
        return self.root / "catalog.db"

    @property
    def manifest(self) -> Path:
        return self.root / "layers.json"

    def ensure(self) -> "Workspace":
        for p in (self.root, self.services, self.records, self.reports, self.downloads):
            p.mkdir(parents=True, exist_ok=True)
        return self

    # -- the manifest of stored layers --------------------------------------------------------
    def read_layers(self) -> dict[str, StoredLayer]:
        if not self.manifest.exists():
            return {}
        raw = json.loads(self.manifest.read_text(encoding="utf-8"))
        return {k: StoredLayer.from_dict(v) for k, v in raw.items()}

    def write_layer(self, layer: StoredLayer) -> None:
        layers = self.read_layers()
        layers[layer.dataset_id] = layer
        write_atomic(
            self.manifest,
            json.dumps({k: v.to_dict() for k, v in layers.items()}, ensure_ascii=False, indent=2),
        )


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write a file aside and rename it into place, so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Endpoints:
    """The public URLs of a node's services, all under one base address.

    Every generated document (pygeoapi config, mapfile, ISO records, landing page) takes its links from
    here, so the services never advertise an internal port.
    """

    base_url: str  # e.g. "http://localhost:8000" (no trailing slash)

    @property
    def ogcapi(self) -> str:
        return f"{self.base_url}/ogcapi"

    def collection(self, dataset_id: str) -> str:
        return f"{self.ogcapi}/collections/{dataset_id}"

    def items(self, dataset_id: str) -> str:
        return f"{self.collection(dataset_id)}/items"

    @property
    def ows(self) -> str:
        return f"{self.base_url}/ows"

    @property
    def wms(self) -> str:
        return f"{self.ows}?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0"

    @property
    def wfs(self) -> str:
        return f"{self.ows}?SERVICE=WFS&REQUEST=GetCapabilities&VERSION=2.0.0"

    @property
    def csw(self) -> str:
        return f"{self.base_url}/csw"

    def download(self, dataset_id: str, fmt: str) -> str:
        return f"{self.base_url}/downloads/{dataset_id}.{fmt}"

    def record(self, identifier: str) -> str:
        return (f"{self.csw}?service=CSW&version=2.0.2&request=GetRecordById&id={identifier}"
                "&outputSchema=http://www.isotc211.org/2005/gmd&elementSetName=full")
