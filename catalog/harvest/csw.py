"""Harvest a CSW 2.0.2 catalog (a node of ours, pycsw, GeoNetwork) over KVP GET.

Listing pages through GetRecords (Dublin Core, full: identifier, modified, source); records come as ISO
19139 through GetRecordById in batches. Every request has a timeout and is retried with backoff on a
connection failure or a 5xx; an answer that is not the expected XML is a HarvestError at once (retrying
garbage does not help). XML is parsed with entities and network access off.
"""

from __future__ import annotations

import time
from typing import Iterator

import requests
from lxml import etree

from catalog.harvest import RemoteRecord
from geoportal.errors import HarvestError

NS = {"csw": "http://www.opengis.net/cat/csw/2.0.2", "dc": "http://purl.org/dc/elements/1.1/",
      "dct": "http://purl.org/dc/terms/", "gmd": "http://www.isotc211.org/2005/gmd",
      "ows": "http://www.opengis.net/ows"}
ISO = "http://www.isotc211.org/2005/gmd"
PAGE = 500
BATCH = 50
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class CSWHarvester:
    def __init__(self, url: str, timeout: float = 20.0, attempts: int = 3):
        self.url = url
        self.timeout = timeout
        self.attempts = attempts
        self.session = requests.Session()

    def _get(self, params: dict[str, str | int]) -> etree._Element:
        base = {"service": "CSW", "version": "2.0.2"}
        last: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(0.5 * 2 ** (attempt - 1))
            try:
                r = self.session.get(self.url, params={**base, **params}, timeout=(5, self.timeout))
            except requests.RequestException as e:
                last = e
                continue
            if r.status_code >= 500:
                last = HarvestError(f"{self.url}: HTTP {r.status_code}")
                continue
            if r.status_code != 200:
                raise HarvestError(f"{self.url}: HTTP {r.status_code} for {params.get('request')}")
            try:
                root = etree.fromstring(r.content, _PARSER)
            except etree.XMLSyntaxError as e:
                raise HarvestError(f"{self.url}: the answer to {params.get('request')} is not XML ({e.msg})") from None
            if etree.QName(root).localname == "ExceptionReport":
                text = " ".join(root.itertext()).strip()
                raise HarvestError(f"{self.url}: the catalog refused {params.get('request')}: {text[:300]}")
            return root
        raise HarvestError(f"{self.url}: no answer after {self.attempts} attempts ({last})")

    def list_records(self) -> list[RemoteRecord]:
        out: list[RemoteRecord] = []
        start = 1
        while True:
            root = self._get({"request": "GetRecords", "typeNames": "csw:Record", "resultType": "results",
                              "elementSetName": "full", "outputSchema": NS["csw"], "startPosition": start,
                              "maxRecords": PAGE})
            results = root.find("csw:SearchResults", NS)
            if results is None:
                raise HarvestError(f"{self.url}: GetRecords answer has no csw:SearchResults")
            for rec in results:
                ident = rec.findtext("dc:identifier", namespaces=NS)
                if not ident:
                    continue
                out.append(RemoteRecord(ident.strip(), (rec.findtext("dct:modified", namespaces=NS) or None),
                                        (rec.findtext("dc:source", namespaces=NS) or None)))
            matched = int(results.get("numberOfRecordsMatched", "0"))
            nxt = int(results.get("nextRecord", "0") or 0)
            if nxt == 0 or nxt > matched or len(results) == 0:
                return out
            start = nxt

    def fetch(self, identifiers: list[str]) -> Iterator[tuple[str, bytes]]:
        for i in range(0, len(identifiers), BATCH):
            batch = identifiers[i:i + BATCH]
            root = self._get({"request": "GetRecordById", "id": ",".join(batch), "outputSchema": ISO,
                              "elementSetName": "full"})
            for md in root.findall("gmd:MD_Metadata", NS):
                ident = md.findtext("gmd:fileIdentifier/{http://www.isotc211.org/2005/gco}CharacterString",
                                    namespaces=NS)
                if ident:
                    yield ident.strip(), etree.tostring(md, xml_declaration=True, encoding="UTF-8")


class NodeHarvester(CSWHarvester):
    """Another node of the network, named by its base URL: its catalog is at ``<url>/csw``."""

    def __init__(self, url: str, timeout: float = 20.0, attempts: int = 3):
        super().__init__(url.rstrip("/") + "/csw", timeout=timeout, attempts=attempts)
