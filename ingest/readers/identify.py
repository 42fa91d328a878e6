"""The GDAL driver of a file, from its first bytes, without opening it.

Why: opening a GeoJSON file in GDAL parses all of it (its driver scans every feature for the schema
before it hands out the layer), and pyogrio opens the file anew for every call. Listing its layers and
asking its driver (``pyogrio.list_layers``, ``pyogrio.read_info``) before reading it were two full parses
more than ``ogr2ogr`` makes: 7 s of a 1M-point GeoJSON load's 12 s of client CPU (README, benchmarks).
``GDALIdentifyDriverEx`` — what GDAL itself asks every driver before an open — reads only the head of the
file; pyogrio does not expose it, so it is called in the GDAL library pyogrio has already loaded.

Formats that hold one layer per file need no listing of their layers then; for the others, and whenever
the library cannot be reached, the reader lists them as before.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache
from pathlib import Path
from typing import Any

GDAL_OF_VECTOR = 0x04
#: drivers that open one file as exactly one layer
SINGLE_LAYER = frozenset({"ESRI Shapefile", "GeoJSON", "GeoJSONSeq", "ESRIJSON", "FlatGeobuf", "CSV"})


@lru_cache(maxsize=1)
def _gdal() -> Any:
    """pyogrio's GDAL library (the one mapped into this process), or None."""
    from ingest.ogrio import pyogrio  # noqa: F401  (loads the library and registers its drivers)

    try:
        with open("/proc/self/maps") as fh:
            path = next((line.split()[-1] for line in fh if "/libgdal" in line), None)
        if path is None:
            return None
        lib = ctypes.CDLL(path)
        lib.GDALIdentifyDriverEx.restype = ctypes.c_void_p
        lib.GDALIdentifyDriverEx.argtypes = [ctypes.c_char_p, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.GDALGetDriverShortName.restype = ctypes.c_char_p
        lib.GDALGetDriverShortName.argtypes = [ctypes.c_void_p]
        return lib
    except (OSError, AttributeError):
        return None


def identify_driver(path: Path | str) -> str | None:
    """The short name of the vector driver GDAL would open ``path`` with, or None when none claims it (or
    GDAL's library cannot be reached)."""
    lib = _gdal()
    if lib is None:
        return None
    handle = lib.GDALIdentifyDriverEx(str(path).encode("utf-8"), GDAL_OF_VECTOR, None, None)
    if not handle:
        return None
    name = lib.GDALGetDriverShortName(handle)
    return name.decode() if name else None
