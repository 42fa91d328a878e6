"""Harvesters: one per kind of remote catalog, looked up by the ``type`` of a child in the node config.

A harvester lists what a remote catalog has (identifier, modification stamp, origin) and fetches ISO
19139 records by identifier. Everything else — what changed, what was deleted, where the records live,
how failures are kept apart — is :mod:`catalog.federation`'s job, the same for every kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol


@dataclass(frozen=True)
class RemoteRecord:
    identifier: str
    modified: str | None  # the remote's modification stamp (dct:modified / dateStamp), if it gives one
    origin: str | None  # the node the record first came from, when the remote says (dc:source)


class Harvester(Protocol):
    url: str

    def list_records(self) -> list[RemoteRecord]: ...

    def fetch(self, identifiers: list[str]) -> Iterator[tuple[str, bytes]]: ...


def harvester_for(kind: str, url: str, timeout: float = 20.0, token: str | None = None) -> Harvester:
    """The harvester registered as ``kind`` (geoportal/plugins.py, ``harvester``) for the catalog at ``url``;
    ``token``: the harvest token the child gave this node (it then lists its non-public records too, with
    their access markers), passed to harvesters that take one."""
    from geoportal import plugins

    try:
        cls = plugins.load("harvester", kind)
    except plugins.PluginError as e:
        raise KeyError(str(e)) from None
    return cls(url, timeout=timeout, token=token) if token else cls(url, timeout=timeout)


def get_with_retry(get: Callable[..., Any], url: str, params: dict[str, Any], *, timeout: float, attempts: int,
                   what: str) -> Any:
    """GET ``url`` with ``params`` (through ``get``, e.g. a requests Session's) and return the 200 response.

    A connection failure or a 5xx is retried with exponential backoff (0.5 s, 1 s, …); any other status is a
    HarvestError at once (a 404 or 403 will not mend by asking again). ``what`` names the request in errors.
    """
    import time

    import requests

    from geoportal.errors import HarvestError

    last: Exception | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(0.5 * 2 ** (attempt - 1))
        try:
            r = get(url, params=params, timeout=(5, timeout))
        except requests.RequestException as e:
            last = e
            continue
        if r.status_code >= 500:
            last = HarvestError(f"{url}: HTTP {r.status_code}")
            continue
        if r.status_code != 200:
            raise HarvestError(f"{url}: HTTP {r.status_code} for {what}")
        return r
    raise HarvestError(f"{url}: no answer after {attempts} attempts ({last})")
