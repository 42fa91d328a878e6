"""Zipped sources (a zipped shapefile, KMZ): unpacked safely into a private folder, then read by the
reader of the member.

Refused before anything is unpacked: members with absolute paths or ``..`` (they would write outside
the folder), links, and archives whose member count, unpacked size or compression ratio (per member and
for the whole archive) says "zip bomb". While unpacking, bytes are counted against the same limits, so a
header that lies about the size is caught too.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Iterator

from geoportal.errors import IngestError
from ingest.readers.base import ReadOptions, Source

MAX_UNPACKED = int(os.environ.get("GEOPORTAL_ZIP_MAX_BYTES", 4 << 30))
MAX_MEMBERS = int(os.environ.get("GEOPORTAL_ZIP_MAX_MEMBERS", 1000))
MAX_RATIO = 200  # compressed → unpacked, per member and for the whole archive, above RATIO_FLOOR
RATIO_FLOOR = 1 << 20
_PRIMARY = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".gml", ".csv", ".xlsx", ".fgb")


def _bomb(path: Path, what: str) -> IngestError:
    return IngestError(f"{path}: {what}: refused as a possible zip bomb, nothing was kept — unzip it "
                       "yourself and load the layer file, or raise GEOPORTAL_ZIP_MAX_BYTES / "
                       "GEOPORTAL_ZIP_MAX_MEMBERS")


def check_members(path: Path, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Refuse before unpacking anything, from the headers: unsafe paths, links, too many members, too many
    bytes in all, and a compression ratio no real layer has (per member and for the whole archive — a
    bomb of many small members has a harmless ratio per member but not in total)."""
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > MAX_MEMBERS:
        raise _bomb(path, f"{len(infos)} members, over the limit of {MAX_MEMBERS}")
    total = 0
    for i in infos:
        p = PurePosixPath(i.filename.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or i.filename.startswith(("/", "\\")) or ":" in p.parts[0]:
            raise IngestError(f"{path}: member '{i.filename}' points outside the archive (absolute path or "
                              "'..'); the archive is unsafe and was not unpacked — zip the files again")
        if stat.S_ISLNK(i.external_attr >> 16):
            raise IngestError(f"{path}: member '{i.filename}' is a symbolic link; refused")
        total += i.file_size
        if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise _bomb(path, f"member '{i.filename}' unpacks {i.compress_size} bytes into {i.file_size} "
                              f"(ratio over {MAX_RATIO})")
    if total > MAX_UNPACKED:
        raise _bomb(path, f"would unpack to {total} bytes, over the limit of {MAX_UNPACKED}")
    _check_ratio(path, total)
    return infos


def _check_ratio(path: Path, unpacked: int) -> None:
    packed = max(path.stat().st_size, 1)
    if unpacked > RATIO_FLOOR and unpacked > MAX_RATIO * packed:
        raise _bomb(path, f"{packed} bytes unpack into more than {unpacked} (ratio over {MAX_RATIO})")


def _extract(path: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], into: Path) -> None:
    """Unpack, counting the bytes actually written (headers can lie): each member within its declared
    size, the whole within MAX_UNPACKED and the archive's ratio."""
    total = 0
    for n, i in enumerate(infos):
        if n >= MAX_MEMBERS:
            raise _bomb(path, f"more than {MAX_MEMBERS} members")
        dest = into / PurePosixPath(i.filename.replace("\\", "/"))
        dest.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with zf.open(i) as src, open(dest, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                written += len(chunk)
                total += len(chunk)
                if written > i.file_size:
                    raise _bomb(path, f"member '{i.filename}' unpacks to more than its header says")
                if total > MAX_UNPACKED:
                    raise _bomb(path, f"unpacked more than the limit of {MAX_UNPACKED} bytes")
                _check_ratio(path, total)
                out.write(chunk)


def _primary(path: Path, into: Path) -> Path:
    files = [p for p in into.rglob("*") if p.is_file() and not p.name.startswith(("._", "."))]
    if path.suffix.lower() == ".kmz":
        kmls = [p for p in files if p.suffix.lower() == ".kml"]
        if not kmls:
            raise IngestError(f"{path}: a KMZ without a .kml inside; export it again")
        return next((p for p in kmls if p.name.lower() == "doc.kml"), kmls[0])
    found = [p for p in files if p.suffix.lower() in _PRIMARY]
    if not found:
        raise IngestError(f"{path}: the archive holds no readable layer ({', '.join(_PRIMARY)})")
    if len(found) > 1:
        names = ", ".join(sorted(p.relative_to(into).as_posix() for p in found))
        raise IngestError(f"{path}: the archive holds several layers ({names}); zip one layer per file")
    return found[0]


@contextmanager
def open_archive(path: Path, opts: ReadOptions) -> Iterator[Source]:
    from ingest.readers import open_source

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise IngestError(f"{path}: not a readable zip archive ({e}); copy it again") from e
    tmp = Path(tempfile.mkdtemp(prefix="geoportal-unzip-"))
    try:
        with zf:
            infos = check_members(path, zf)
            try:
                _extract(path, zf, infos, tmp)
            except (zipfile.BadZipFile, EOFError, zlib_error()) as e:
                raise IngestError(f"{path}: the archive is damaged ({e}); copy it again") from e
        member = _primary(path, tmp)
        with open_source(member, opts) as src:
            src.path = path
            src.notes["archive_member"] = member.relative_to(tmp).as_posix()
            yield src
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def zlib_error() -> type[Exception]:
    import zlib
    return zlib.error
