"""pyogrio, imported without its probe for pyproj.

Why: ``import pyogrio`` imports every optional dependency it knows of to learn whether it is installed —
pyproj among them, 14 MB of a load's peak memory (PROJ, its database, curl; README, benchmarks) that pyogrio
itself never uses: only its GeoDataFrame functions would, and the ingest reads and writes Arrow. A layer
whose CRS needs no work (a file declaring the storage CRS, the usual case) is then loaded without pyproj
at all; ingest/crs.py imports it when a CRS must be parsed, inferred or transformed.

The probe is answered "not installed" in the importing thread and for the time of pyogrio's own import
only (a finder first on ``sys.meta_path``: another thread may import pyproj meanwhile, and then pyogrio
simply finds it); pyproj imports normally afterwards. Every module of the ingest imports pyogrio from
here, so the first import is this one.
"""

from __future__ import annotations

import sys
import threading
from importlib.abc import MetaPathFinder
from typing import Any


class _NoPyprojForThisThread(MetaPathFinder):
    """Answers "not installed" to this thread's ``import pyproj`` while it is on ``sys.meta_path``; other
    threads import pyproj as usual meanwhile (nothing is put in ``sys.modules``, no lock is held)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pyproj" and threading.get_ident() == self.thread:
            raise ModuleNotFoundError("pyproj is not needed to import pyogrio", name=name)
        return None


def _import_without_pyproj_probe() -> None:
    if "pyogrio" in sys.modules or "pyproj" in sys.modules:
        return
    finder = _NoPyprojForThisThread()
    sys.meta_path.insert(0, finder)
    try:
        import pyogrio  # noqa: F401
    finally:
        sys.meta_path.remove(finder)


_import_without_pyproj_probe()

import pyogrio  # noqa: E402
import pyogrio.errors  # noqa: E402,F401
import pyogrio.raw  # noqa: E402,F401

__all__ = ["pyogrio"]
