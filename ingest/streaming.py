"""Process settings for the time a load streams its batches, restored afterwards.

An ingest makes, for every batch, tens of thousands of short-lived geometry objects and a handful of
Arrow buffers. Two process-wide defaults serve that badly (measured on 200k and 1M polygons, README):

- Arrow's default allocator (mimalloc) kept the freed pages of past batches resident: 45 MB of resident
  memory for at most 14 MB of live Arrow data in a 200k-polygon load into PostGIS. The C library's
  allocator gives them back, and costs no more CPU here.
- The garbage collector's full collections walked every object of the process again and again as the
  geometry objects of each batch aged (14 % of the client's CPU on 1M polygons). The objects that exist
  before the load (modules, configuration) are frozen out of its way; cycles made during the load are
  still collected.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

import pyarrow as pa


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
