"""Process settings for the time a load streams its batches, restored afterwards.

An ingest makes, for every batch, tens of thousands of short-lived geometry objects and a handful of
Arrow buffers. Two process-wide defaults serve that badly (measured on 200k and 1M polygons, README):

- Arrow's default allocator (mimalloc) kept the freed pages of past batches resident: 45 MB of resident
  memory for at most 14 MB of live Arrow data in a 200k-polygon load into PostGIS. The C library's
  allocator gives them back, and costs no more CPU here. Arrow picks its default allocator once, when its
  library loads, from ``ARROW_DEFAULT_MEMORY_POOL``: this module is imported before pyarrow by the
  pipeline and asks for the C library's then (and takes the variable back out of the environment, so
  that processes started later are not told), so that mimalloc is never set up at all — its arenas cost
  6 MB of a load's peak even when no batch came from it (README, benchmarks). When pyarrow was loaded
  earlier, by the caller, the pool is switched for the time of the load as before.
- The garbage collector's full collections walked every object of the process again and again as the
  geometry objects of each batch aged (14 % of the client's CPU on 1M polygons). The objects that exist
  before the load (modules, configuration) are frozen out of its way; cycles made during the load are
  still collected.
"""

from __future__ import annotations

import gc
import os
import sys
from contextlib import contextmanager
from typing import Iterator


def _import_arrow_with_system_allocator() -> None:
    if "pyarrow" in sys.modules or os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return  # loaded already, or the user chose
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    try:
        import pyarrow  # noqa: F401
    finally:
        os.environ.pop("ARROW_DEFAULT_MEMORY_POOL", None)


_import_arrow_with_system_allocator()

import pyarrow as pa  # noqa: E402


@contextmanager
def streaming_settings() -> Iterator[None]:
    """Arrow buffers from the system allocator and the pre-existing objects frozen for the garbage
    collector, for the duration of the block (process-wide: other threads see the same settings)."""
    pool = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        pa.set_memory_pool(pool)
