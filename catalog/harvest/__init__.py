"""Harvesters: one per kind of remote catalog, looked up by the ``type`` of a child in the node config.

A harvester lists what a remote catalog has (identifier, modification stamp, origin) and fetches ISO
19139 records by identifier. Everything else — what changed, what was deleted, where the records live,
how failures are kept apart — is :mod:`catalog.federation`'s job, the same for every kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol


@dataclass(frozen=True)
class RemoteRecord:
    identifier: str
    modified: str | None  # the remote's modification stamp (dct:modified / dateStamp), if it gives one
    origin: str | None  # the node the record first came from, when the remote says (dc:source)


class Harvester(Protocol):
    url: str

    def list_records(self) -> list[RemoteRecord]: ...

    def fetch(self, identifiers: list[str]) -> Iterator[tuple[str, bytes]]: ...


def harvester_for(kind: str, url: str, timeout: float = 20.0) -> Harvester:
    """The harvester registered as ``kind`` (geoportal/plugins.py, ``harvester``) for the catalog at ``url``."""
    from geoportal import plugins

    try:
        cls = plugins.load("harvester", kind)
    except plugins.PluginError as e:
        raise KeyError(str(e)) from None
    return cls(url, timeout=timeout)
