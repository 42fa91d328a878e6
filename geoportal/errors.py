"""One exception tree for the whole node.

    GeoportalError            anything the user can act on; the CLI prints it as one line, exit 1
    ├── ConfigError           a node config (or a file it names) is wrong: names file and key path
    ├── IngestError           a source file cannot be turned into a layer: names file/feature
    │   └── CRSError          the coordinate system cannot be decided
    ├── StoreError            storage (GeoPackage/PostGIS) refused a write
    ├── PublishError          a service configuration cannot be written
    ├── MetadataError         a record cannot be generated or does not validate
    ├── CatalogError          the catalog cannot be loaded or queried
    │   └── HarvestError      a remote catalog failed (the harvest of the others goes on)
    └── ServeError            a service process would not start

Every message says what is wrong *and* what to do next.
"""

from __future__ import annotations


class GeoportalError(Exception):
    """Base of every error the node raises on purpose."""

    exit_code = 1


class ConfigError(GeoportalError):
    exit_code = 2


class IngestError(GeoportalError):
    exit_code = 3


class CRSError(IngestError):
    pass


class StoreError(GeoportalError):
    exit_code = 4


class PublishError(GeoportalError):
    exit_code = 5


class MetadataError(GeoportalError):
    exit_code = 6


class CatalogError(GeoportalError):
    exit_code = 7


class HarvestError(CatalogError):
    pass


class ServeError(GeoportalError):
    exit_code = 8
