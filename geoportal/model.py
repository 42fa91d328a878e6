"""What the stages hand to each other.

ingest → :class:`StoredLayer` (one per dataset, written to the workspace manifest) → publishers, metadata,
catalog. A later stage never re-reads the source file or the raw config: what it needs is here.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from geoportal.config import NodeConfig


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str  # "string" | "integer" | "number" | "boolean" | "date" | "datetime"


@dataclass(frozen=True)
class StoredLayer:
    """One dataset as it sits in storage after a successful ingest."""

    dataset_id: str
    backend: Literal["geopackage", "postgis"]
    table: str  # layer name in the GeoPackage / table name in PostGIS
    geometry_type: str  # OGC name, e.g. "MultiPolygon", "Point"
    feature_count: int
    bbox: tuple[float, float, float, float]  # lon/lat EPSG:4326 (minx, miny, maxx, maxy)
    crs: str  # storage CRS, e.g. "EPSG:4326"
    fields: tuple[FieldInfo, ...]
    checksum: str  # sha256 of the source file(s)
    version: int
    loaded_at: str  # ISO 8601 UTC
    path: str | None = None  # GeoPackage file (geopackage backend)
    dsn: str | None = None  # postgresql://… (postgis backend)
    schema: str = "public"
    geometry_column: str = "geom"
    id_column: str = "fid"
    report: dict[str, Any] = field(default_factory=dict)  # the quality report of the load

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StoredLayer":
        d = dict(d)
        d["fields"] = tuple(FieldInfo(**f) for f in d.get("fields", ()))
        d["bbox"] = tuple(d["bbox"])
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
