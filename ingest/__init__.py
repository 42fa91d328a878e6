"""Ingest: turn a source file into a verified, standardised layer in storage.

Public entry points:

- :func:`load_dataset` — one dataset of a node config into the node's storage (used by ``geoportal build``
  and ``geoportal ingest``);
- :func:`ingest_file` — one file into a GeoPackage or PostGIS target, no config needed
  (``geoportal ingest-file``).
"""

from ingest.pipeline import ingest_file, load_dataset

__all__ = ["ingest_file", "load_dataset"]
