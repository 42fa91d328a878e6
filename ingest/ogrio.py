"""pyogrio, imported without its probe for pyproj.

Why: ``import pyogrio`` imports every optional dependency it knows of to learn whether it is installed —
pyproj among them, ~20 MB of a load's memory (PROJ, its database, curl; README, benchmarks) that pyogrio
itself never uses: only its GeoDataFrame functions would, and the ingest reads and writes Arrow. A layer
whose CRS needs no work (a file declaring the storage CRS, the usual case) is then loaded without pyproj
at all; ingest/crs.py imports it when a CRS must be parsed, inferred or transformed.

The probe is answered "not installed" for the time of pyogrio's own import only; pyproj imports normally
afterwards. Every module of the ingest imports pyogrio from here, so the first import is this one.
"""

from __future__ import annotations

import sys


def _import_without_pyproj_probe() -> None:
    if "pyogrio" in sys.modules or "pyproj" in sys.modules:
        return
    sys.modules["pyproj"] = None  # type: ignore[assignment]  # what `import` reads as "not installed"
    try:
        import pyogrio  # noqa: F401
    finally:
        if "pyproj" in sys.modules and sys.modules["pyproj"] is None:
            del sys.modules["pyproj"]


_import_without_pyproj_probe()

import pyogrio  # noqa: E402
import pyogrio.errors  # noqa: E402,F401
import pyogrio.raw  # noqa: E402,F401

__all__ = ["pyogrio"]
