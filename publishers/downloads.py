"""Downloads: the files a user takes away, one set per public dataset, under ``/downloads/``.

- ``<id>.gpkg``     GeoPackage with its QGIS style (``layer_styles``) and the ISO record (``gpkg_metadata``)
- ``<id>.geojson``  RFC 7946 GeoJSON, for web developers
- ``<id>.csv``      CSV (UTF-8 with BOM so spreadsheet programs read Cyrillic) with a WKT geometry column
- ``<id>.shp.zip``  zipped Shapefile, UTF-8 with ``.cpg``
- ``<id>.geojson.zip``, ``<id>.csv.zip``  the same with the ISO record inside
- ``<id>.xml``      the ISO 19139 record (written by the metadata stage)

Conversion is GDAL's ``ogr2ogr`` from Debian (it reads PostGIS too, which the GDAL in the Python wheels
cannot). Every file is made in a scratch folder and moved into place, so a download is never half a file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from typing import Any
from pathlib import Path

from geoportal.config import Dataset, NodeConfig
from geoportal.errors import PublishError
from geoportal.model import Endpoints, StoredLayer, Workspace
from geoportal.services import Distribution, Service
from geoportal.titles import field_titles
from publishers.qml import write_layer_style
from publishers.styles import load_style, style_name_for

DOWNLOAD = "WWW:DOWNLOAD-1.0-http--download"
SERVICES = (
    Service(name="downloads", title="Downloads", long_title="Файли для завантаження / Downloadable files",
            protocol=DOWNLOAD, service_type="download", operation="GET", path="/downloads/",
            media_types=("application/geopackage+sqlite3", "application/geo+json", "text/csv", "application/zip",
                         "image/tiff; application=geotiff; profile=cloud-optimized"), kinds=("vector", "raster"),
            record=False),
)


@dataclass(frozen=True)
class FileFormat:
    """One file a dataset is offered as. Titles have no commas: pycsw 2.6 keeps a record's links as one
    comma-separated string and would split "Shapefile (zip, UTF-8)" into a broken title."""

    key: str  # the distribution's key in records
    media_type: str
    format: str  # format name (ISO distributionFormat, DCAT format label)
    version: str | None
    file_type: str  # EU file-type authority code
    title_uk: str
    title_en: str
    catalogued: bool = True  # listed in the ISO record and DCAT (the zips with the record inside are not)


#: extension → the files a vector dataset is offered as (the GeoPackage first: the richest)
FORMATS: dict[str, FileFormat] = {
    "gpkg": FileFormat("gpkg", "application/geopackage+sqlite3", "GeoPackage", "1.3", "GPKG",
                       "GeoPackage зі стилем і метаданими", "GeoPackage with style and metadata"),
    "geojson": FileFormat("geojson", "application/geo+json", "GeoJSON", "RFC 7946", "GEOJSON", "GeoJSON", "GeoJSON"),
    "csv": FileFormat("csv", "text/csv", "CSV", "RFC 4180", "CSV", "CSV з геометрією WKT", "CSV with WKT geometry"),
    "shp.zip": FileFormat("shp", "application/zip", "ESRI Shapefile", "1998", "SHP", "Shapefile у zip (UTF-8)",
                          "Shapefile in zip (UTF-8)"),
    "geojson.zip": FileFormat("geojson_zip", "application/zip", "GeoJSON", "RFC 7946", "ZIP",
                              "GeoJSON і запис ISO 19139 у zip", "GeoJSON and ISO 19139 in zip", catalogued=False),
    "csv.zip": FileFormat("csv_zip", "application/zip", "CSV", "RFC 4180", "ZIP", "CSV і запис ISO 19139 у zip",
                          "CSV and ISO 19139 in zip", catalogued=False),
}
#: a raster is offered as the Cloud-Optimised GeoTIFF it is stored as
RASTER_FORMATS: dict[str, FileFormat] = {
    "tif": FileFormat("tif", "image/tiff; application=geotiff; profile=cloud-optimized", "GeoTIFF", "1.1", "TIFF",
                      "Cloud-Optimised GeoTIFF", "Cloud-Optimised GeoTIFF"),
}


def formats(layer: StoredLayer) -> dict[str, FileFormat]:
    return RASTER_FORMATS if layer.kind == "raster" else FORMATS


def distributions(ds: Dataset, layer: StoredLayer, ep: Endpoints) -> list[Distribution]:
    """Every catalogued file of a dataset (first the GeoPackage, the richest)."""
    return [Distribution("downloads", ep.download(ds.id, ext), DOWNLOAD, f"{ds.id}.{ext}", f.title_uk, f.title_en,
                         f.media_type, f.format, "download", key=f.key, file_type=f.file_type,
                         format_version=f.version)
            for ext, f in formats(layer).items() if f.catalogued]
#: bumped when what a package holds changes (2: field titles in gpkg_data_columns and QML aliases), so the
#: downloads of unchanged data are remade once
PACKAGING = "2"



def _ogr2ogr(args: list[str], what: str) -> None:
    proc = subprocess.run(["ogr2ogr", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PublishError(f"{what}: ogr2ogr failed: {proc.stderr.strip()[-1000:]}")


def _add_iso_metadata(gpkg: Path, table: str, xml: bytes) -> None:
    """The ISO record inside the GeoPackage (GeoPackage metadata extension)."""
    with sqlite3.connect(gpkg) as db:
        db.executescript(
            "CREATE TABLE IF NOT EXISTS gpkg_metadata (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "
            "md_scope TEXT NOT NULL DEFAULT 'dataset', md_standard_uri TEXT NOT NULL, "
            "mime_type TEXT NOT NULL DEFAULT 'text/xml', metadata TEXT NOT NULL DEFAULT '');"
            "CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (reference_scope TEXT NOT NULL, "
            "table_name TEXT, column_name TEXT, row_id_value INTEGER, "
            "timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), "
            "md_file_id INTEGER NOT NULL, md_parent_id INTEGER);")
        _register_extension(db, ("gpkg_metadata", "gpkg_metadata_reference"), "gpkg_metadata",
                            "http://www.geopackage.org/spec120/#extension_metadata")
        cur = db.execute("INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) "
                         "VALUES ('dataset', 'http://www.isotc211.org/2005/gmd', 'text/xml', ?)",
                         (xml.decode("utf-8"),))
        db.execute("INSERT INTO gpkg_metadata_reference (reference_scope, table_name, md_file_id) "
                   "VALUES ('table', ?, ?)", (table, cur.lastrowid))


def _register_extension(db: sqlite3.Connection, tables: tuple[str, ...], extension: str, definition: str) -> None:
    """Declare the tables of a GeoPackage extension in ``gpkg_extensions`` (once each)."""
    for name in tables:
        db.execute("INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
                   "SELECT ?, NULL, ?, ?, 'read-write' WHERE NOT EXISTS (SELECT 1 FROM gpkg_extensions "
                   "WHERE table_name = ? AND extension_name = ?)", (name, extension, definition, name, extension))


def _add_data_columns(gpkg: Path, table: str, titles: dict[str, str]) -> None:
    """The original header of each column as its ``name`` and ``title`` in ``gpkg_data_columns`` (GeoPackage
    schema extension), which GDAL and QGIS read as the field's alias. Two columns with the same header keep
    their column name as ``name`` (it is unique per table)."""
    with sqlite3.connect(gpkg) as db:
        db.executescript(
            "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
            "name TEXT, title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT, "
            "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name));"
            "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, "
            "constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, "
            "max_is_inclusive BOOLEAN, description TEXT, "
            "CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value));")
        _register_extension(db, ("gpkg_data_columns", "gpkg_data_column_constraints"), "gpkg_schema",
                            "http://www.geopackage.org/spec/#extension_schema")
        columns = {row[1] for row in db.execute(f'PRAGMA table_info("{table.replace(chr(34), chr(34) * 2)}")')}
        db.execute("DELETE FROM gpkg_data_columns WHERE table_name = ?", (table,))
        used: set[str] = set()
        for column, title in titles.items():
            if column not in columns:
                continue
            name = title if title not in used else column
            used.add(name)
            db.execute("INSERT INTO gpkg_data_columns (table_name, column_name, name, title) VALUES (?, ?, ?, ?)",
                       (table, column, name, title))


def _zip(target: Path, files: list[Path]) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.write(f, f.name)


def package_raster(ds: Dataset, layer: StoredLayer, out: Path) -> list[Path]:
    """A raster's download is its Cloud-Optimised GeoTIFF, copied aside and moved into place in ``out``
    (a view's own folder for a dataset that is not public: never the public downloads)."""
    from ingest.store.cog import CogFile

    assert isinstance(layer.location, CogFile)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{ds.id}.tif"
    fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{ds.id}.", suffix=".tif")
    os.close(fd)
    try:
        shutil.copyfile(layer.location.path, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return [target]


def package(ds: Dataset, layer: StoredLayer, ws: Workspace, out: Path | None = None,
            hidden: tuple[str, ...] = ()) -> list[Path]:
    """Make every download of one dataset; returns the files, all moved into ``out`` (ws.downloads).

    For an access view (``publishers/views.py``) ``layer`` is narrowed to the rows its rule allows and
    ``hidden`` names the attributes left out of every file (and of the GeoPackage's style and titles)."""
    out = out or ws.downloads
    if layer.kind == "raster":
        return package_raster(ds, layer, out)
    out.mkdir(parents=True, exist_ok=True)
    record = ws.downloads / f"{ds.id}.xml"
    xml = record.read_bytes() if record.exists() else None
    src = layer.location.ogr_source()
    if hidden:
        src += ["-select", ",".join(f.name for f in layer.fields
                                    if f.name not in hidden and f.name != layer.geometry_column)]
    style = load_style(style_name_for(ds.style, layer.geometry_type))
    made: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(dir=out, prefix=f".{ds.id}.") as tmp_:
        tmp = Path(tmp_)
        gpkg = tmp / f"{ds.id}.gpkg"
        # one layer named after the dataset, whatever the storage (another GeoPackage, PostGIS, a filtered view)
        _ogr2ogr(["-f", "GPKG", str(gpkg), *src, "-nln", ds.id, "-lco", "FID=fid", "-lco", "GEOMETRY_NAME=geom"],
                 f"{ds.id}.gpkg")
        titles = {k: v for k, v in field_titles(layer).items() if k not in hidden}
        write_layer_style(gpkg, ds.id, "geom", style, layer.geometry_type, titles)
        _add_data_columns(gpkg, ds.id, titles)
        if xml:
            _add_iso_metadata(gpkg, ds.id, xml)
        made["gpkg"] = gpkg
        geojson = tmp / f"{ds.id}.geojson"
        _ogr2ogr(["-f", "GeoJSON", str(geojson), *src, "-lco", "RFC7946=YES", "-lco", "WRITE_NAME=NO",
                  "-nln", ds.id], f"{ds.id}.geojson")
        made["geojson"] = geojson
        csv = tmp / f"{ds.id}.csv"
        _ogr2ogr(["-f", "CSV", str(csv), *src, "-lco", "GEOMETRY=AS_WKT", "-lco", "WRITE_BOM=YES",
                  "-nln", ds.id], f"{ds.id}.csv")
        made["csv"] = csv
        shpdir = tmp / "shp"
        shpdir.mkdir()
        _ogr2ogr(["-f", "ESRI Shapefile", str(shpdir / f"{ds.id}.shp"), *src, "-lco", "ENCODING=UTF-8",
                  "-nln", ds.id], f"{ds.id}.shp")
        shp_files = sorted(shpdir.iterdir()) + ([record] if xml else [])
        _zip(tmp / f"{ds.id}.shp.zip", shp_files)
        made["shp.zip"] = tmp / f"{ds.id}.shp.zip"
        for fmt, f in (("geojson.zip", geojson), ("csv.zip", csv)):
            _zip(tmp / f"{ds.id}.{fmt}", [f] + ([record] if xml else []))
            made[fmt] = tmp / f"{ds.id}.{fmt}"
        final = []
        for fmt, f in made.items():
            target = out / f"{ds.id}.{fmt}"
            os.chmod(f, 0o644)
            os.replace(f, target)
            final.append(target)
    return final


def _stamp(ds: Dataset, layer: StoredLayer, ws: Workspace, grant: Any) -> str:
    """What the downloads of a dataset are made from: the stored version, its record, its style and what
    an anonymous caller may have of it (the rows and attributes of its grant)."""
    import hashlib

    h = hashlib.sha256(f"{PACKAGING}:{layer.location.to_dict()}:{layer.version}:{layer.checksum}:"
                       f"{layer.loaded_at}:{grant.row_filter}:{list(grant.hidden)}".encode())
    record = ws.downloads / f"{ds.id}.xml"
    if record.exists():
        h.update(record.read_bytes())
    if layer.kind == "vector":
        h.update(load_style(style_name_for(ds.style, layer.geometry_type)).path.read_bytes())
    return h.hexdigest()


def _remove(ds: Dataset, layer: StoredLayer, ws: Workspace) -> None:
    """Take a dataset's files out of the public downloads (an anonymous caller may no longer have them)."""
    for fmt in formats(layer):
        (ws.downloads / f"{ds.id}.{fmt}").unlink(missing_ok=True)
    (ws.downloads / f".{ds.id}.stamp").unlink(missing_ok=True)


def write(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints) -> Path:
    """Package what an anonymous caller may download — the node's static downloads — for every dataset
    whose data, record, style or anonymous grant changed since its last packaging.

    The files are cut like every other service of the anonymous view (``access.views``): a rule that limits
    anonymous callers to some rows or hides attributes cuts the public files too, and a dataset anonymous
    callers may not download has no public file at all (fail closed: the files are removed)."""
    from access.views import anonymous_view

    view = anonymous_view(cfg, layers)
    for ds in cfg.datasets:
        layer = layers.get(ds.id)
        if layer is None or "downloads" not in ds.services:
            continue
        dv = view.dataset(ds.id)
        grant = view.grant(ds.id, "downloads")
        if dv is None or not dv.public or grant is None:
            _remove(ds, layer, ws)
            continue
        stamp_file = ws.downloads / f".{ds.id}.stamp"
        stamp = _stamp(ds, layer, ws, grant)
        current = all((ws.downloads / f"{ds.id}.{fmt}").exists() for fmt in formats(layer))
        if current and stamp_file.exists() and stamp_file.read_text() == stamp:
            continue
        package(ds, grant.narrow(layer), ws, hidden=grant.hidden)
        stamp_file.write_text(stamp)
    return ws.downloads
