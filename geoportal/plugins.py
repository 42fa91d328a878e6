"""Every extension point of a node, in one place: a short name → the dotted path of what implements it.

Like pygeoapi's ``plugin.py``: adding a reader, a storage backend, a publisher, a harvester or a passport
aggregation is one new module plus one line here. The config model validates the names it is given
against these tables (:func:`check`), so a node config names only what exists, and a site can also give
a dotted path of its own (``publisher: mysite.publishers.arcgis``) without editing this file or the model.

Nothing is imported until it is asked for: a node that never harvests never imports a harvester.
"""

from __future__ import annotations

import importlib
from typing import Any

#: extension point → {name: "package.module" or "package.module.Attribute"}
PLUGINS: dict[str, dict[str, str]] = {
    # source files → Arrow batches (ingest/readers), chosen by file extension (ingest.readers.FORMATS);
    # a GeoTIFF is no reader's: the cog store turns it into a Cloud-Optimised GeoTIFF as it is
    "reader": {
        "ogr": "ingest.readers.ogr.open_ogr",
        "table": "ingest.readers.table.open_table",
        "archive": "ingest.readers.archive.open_archive",
    },
    # where a stored layer lives: each module has a Store (versions) and a Location (what publishers ask)
    "store": {
        "geopackage": "ingest.store.gpkg",
        "postgis": "ingest.store.postgis",
        "cog": "ingest.store.cog",
    },
    # stored layers → service configuration or files; each module declares its SERVICES
    "publisher": {
        "pygeoapi": "publishers.pygeoapi",
        "mapserver": "publishers.mapserver",
        "downloads": "publishers.downloads",
        "geoserver": "publishers.geoserver",
    },
    # remote catalogs the node harvests (``children[].type``)
    "harvester": {
        "csw": "catalog.harvest.csw.CSWHarvester",
        "geoportal": "catalog.harvest.csw.NodeHarvester",
    },
    # passport.yaml ``aggregation:`` of an indicator over a layer
    "aggregation": {
        "area": "passport.aggregations.area",
        "count": "passport.aggregations.count",
        "sum": "passport.aggregations.total",
        "length": "passport.aggregations.length",
        "area_inside": "passport.aggregations.area_inside",
        "share_of_area": "passport.aggregations.share_of_area",
        "population_weighted": "passport.aggregations.population_weighted",
    },
    # the spatial work of a passport, one engine per storage backend (keyed by the ``store`` name)
    "passport_engine": {
        "geopackage": "passport.compute_gpkg.GpkgEngine",
        "postgis": "passport.compute_postgis.PostgisEngine",
    },
}

#: publishers every node runs, in this order (metadata links to what they publish)
BUILTIN_PUBLISHERS = ("pygeoapi", "mapserver", "downloads")


def node_publishers(extra: str) -> list[str]:
    """The publishers a node runs: the built-in ones, and the one its config adds (``publisher:``)."""
    return list(BUILTIN_PUBLISHERS) + ([] if extra == "builtin" else [extra])


class PluginError(LookupError):
    """A name that no registry knows; the message lists the names that are known."""


def names(kind: str) -> list[str]:
    """The registered names of one extension point."""
    return list(PLUGINS[kind])


def check(kind: str, name: str) -> str:
    """``name`` if it is registered for ``kind`` or is a dotted path; else a ValueError for the config model
    (its message becomes a key-path error such as ``storage.backend: no store 'oracle' (known: …)``)."""
    if name in PLUGINS[kind] or "." in name:
        return name
    raise ValueError(f"no {kind} '{name}' (known: {', '.join(PLUGINS[kind])}; or a dotted path to your own)")


def register(kind: str, name: str, dotted: str) -> None:
    """Add (or replace) a plugin at run time: for a site's own extensions and for tests."""
    PLUGINS[kind][name] = dotted


def load(kind: str, name: str) -> Any:
    """Import what ``name`` stands for: a module, or an attribute of one (``pkg.mod.Attr``)."""
    dotted = PLUGINS[kind].get(name) or (name if "." in name else None)
    if dotted is None:
        raise PluginError(f"no {kind} '{name}' (known: {', '.join(PLUGINS[kind])})")
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as e:
        if e.name is None or not dotted.startswith(e.name):  # the module exists; one of ITS imports failed
            raise
    module, _, attr = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise PluginError(f"{kind} '{name}': cannot import '{dotted}' ({e})") from e
