"""Harvest an external OGC service (WMS, WFS, OGC API - Features) as ONE catalog record.

The "catalog" of such a remote is its capabilities document: :meth:`list_records` fetches it and offers a
single record whose modification stamp is a hash of the document, so :mod:`catalog.federation` refreshes
the record exactly when the capabilities change; :meth:`fetch` turns them into an ISO 19139 service record
(:mod:`metadata.remote`). Parsing is OWSLib's (capabilities fetched here, with our timeout and retries, and
handed to OWSLib as bytes). A dead or garbled remote is a HarvestError: federation reports it and keeps
the record harvested before.
"""

from __future__ import annotations

import time
from typing import Callable, Iterator

import requests

from catalog.harvest import RemoteRecord
from geoportal.errors import HarvestError
from metadata.remote import RemoteServiceInfo, capabilities_stamp

CAPABILITIES = {"wms": {"SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": "1.3.0"},
                "wfs": {"SERVICE": "WFS", "REQUEST": "GetCapabilities", "VERSION": "2.0.0"},
                "ogcapi": {"f": "json"}}


class OGCServiceHarvester:
    def __init__(self, url: str, kind: str, identifier: str, make_record: Callable[[RemoteServiceInfo], bytes],
                 timeout: float = 20.0, attempts: int = 3):
        self.url, self.kind, self.identifier = url, kind, identifier
        self.make_record, self.timeout, self.attempts = make_record, timeout, attempts
        self._info: RemoteServiceInfo | None = None

    def _get(self, url: str, params: dict[str, str]) -> bytes:
        last: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(0.5 * 2 ** (attempt - 1))
            try:
                r = requests.get(url, params=params, timeout=(5, self.timeout))
            except requests.RequestException as e:
                last = e
                continue
            if r.status_code >= 500:
                last = HarvestError(f"{url}: HTTP {r.status_code}")
                continue
            if r.status_code != 200:
                raise HarvestError(f"{url}: HTTP {r.status_code} for the {self.kind} capabilities")
            return r.content
        raise HarvestError(f"{url}: no answer after {self.attempts} attempts ({last})")

    def list_records(self) -> list[RemoteRecord]:
        content = self._get(self.url, CAPABILITIES[self.kind])
        try:
            self._info = _PARSERS[self.kind](self, content)
        except HarvestError:
            raise
        except Exception as e:  # noqa: BLE001 - OWSLib/json raise many kinds on a garbled document
            raise HarvestError(f"{self.url}: not a {self.kind} capabilities document ({type(e).__name__}: "
                               f"{str(e)[:200]})") from None
        return [RemoteRecord(self.identifier, capabilities_stamp(content), None)]

    def fetch(self, identifiers: list[str]) -> Iterator[tuple[str, bytes]]:
        if self.identifier in identifiers and self._info is not None:
            yield self.identifier, self.make_record(self._info)

    # -- capabilities → RemoteServiceInfo ------------------------------------------------------------

    def _wms(self, content: bytes) -> RemoteServiceInfo:
        from owslib.wms import WebMapService

        wms = WebMapService(self.url, version="1.3.0", xml=content)
        return self._ows(wms, [n for n in wms.contents])

    def _wfs(self, content: bytes) -> RemoteServiceInfo:
        from owslib.wfs import WebFeatureService

        wfs = WebFeatureService(self.url, version="2.0.0", xml=content)
        return self._ows(wfs, [n for n in wfs.contents])

    def _ows(self, svc, names: list[str]) -> RemoteServiceInfo:  # noqa: ANN001 - OWSLib service objects
        ident, provider = svc.identification, svc.provider
        boxes = [svc.contents[n].boundingBoxWGS84 for n in names if svc.contents[n].boundingBoxWGS84]
        bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes)) if boxes else None
        email = getattr(getattr(provider, "contact", None), "email", None) or ""
        return RemoteServiceInfo(self.kind, self.url, (ident.title or "").strip(), (ident.abstract or "").strip(),
                                 ident.version or "", (provider.name or "").strip() if provider else "", email,
                                 [k for k in (ident.keywords or []) if k][:20], names, bbox)

    def _ogcapi(self, content: bytes) -> RemoteServiceInfo:
        import json

        landing = json.loads(content)
        if not isinstance(landing, dict) or "links" not in landing:
            raise HarvestError(f"{self.url}: not an OGC API landing page (no links)")
        cols = json.loads(self._get(self.url.rstrip("/") + "/collections", {"f": "json"})).get("collections", [])
        boxes = [c["extent"]["spatial"]["bbox"][0] for c in cols
                 if c.get("extent", {}).get("spatial", {}).get("bbox")]
        bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes)) if boxes else None
        return RemoteServiceInfo(self.kind, self.url, str(landing.get("title") or ""),
                                 str(landing.get("description") or ""), "1.0", "", "",
                                 [], [c.get("id", "") for c in cols], bbox)


_PARSERS = {"wms": OGCServiceHarvester._wms, "wfs": OGCServiceHarvester._wfs,
            "ogcapi": OGCServiceHarvester._ogcapi}
