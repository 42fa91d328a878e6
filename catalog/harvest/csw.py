"""Harvest a CSW 2.0.2 catalog (a node of ours, pycsw, GeoNetwork) over KVP GET.

Listing pages through GetRecords in Dublin Core, asking for the three elements it needs by name
(``ElementName``: identifier, modified, source — a third of the server's time of the ``full`` element set,
which is asked instead from a catalog that does not honour the names); records come as ISO 19139 either as
whole GetRecords pages (``page_to``, the answer as it came, to a file: when most of a catalog is wanted, e.g. a
first harvest — one request per 500 records, ~0.7 ms of a pycsw server's time per record)
or through GetRecordById in batches (``fetch``: a few changed records; ~1.6 ms per record, most of it the
server's per-request set-up). Every request has a timeout and is retried with backoff on a
connection failure or a 5xx; an answer that is not the expected XML is a HarvestError at once (retrying
garbage does not help). XML is parsed with entities and network access off.

With a harvest token (``X-Geoportal-Harvest``, see :mod:`catalog.access_view`) a node of ours answers with
every record, its non-public ones included, each carrying its access marker; the harvesting node applies
its own policy to them. Without one it gets what an anonymous caller sees.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Iterator

import requests
from lxml import etree

from catalog.harvest import RemoteRecord, get_with_retry
from geoportal.errors import HarvestError

NS = {"csw": "http://www.opengis.net/cat/csw/2.0.2", "dc": "http://purl.org/dc/elements/1.1/",
      "dct": "http://purl.org/dc/terms/", "gmd": "http://www.isotc211.org/2005/gmd",
      "ows": "http://www.opengis.net/ows"}
ISO = "http://www.isotc211.org/2005/gmd"
PAGE = 1000  # listing: records per page (a catalog that allows fewer says so in nextRecord)
LISTED = ("identifier", "modified", "source")  # local names of the Dublin Core elements the listing needs
BATCH = 50
ISO_PAGE = 500  # ISO records per GetRecords page (~20 MB of XML at 40 kB a record; pycsw's time per record
                # falls from 0.9 ms at pages of 100 to 0.7 ms at 500, its set-up spread over more records)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class CSWHarvester:
    def __init__(self, url: str, timeout: float = 20.0, attempts: int = 3, token: str | None = None):
        self.url = url
        self.timeout = timeout
        self.attempts = attempts
        self.token = token
        self.session = requests.Session()
        if token:
            self.session.headers["X-Geoportal-Harvest"] = token
        self.matched = 0  # numberOfRecordsMatched of the last listing

    def _request(self, params: dict[str, str | int], stream: bool = False) -> requests.Response:
        """The 200 response to a KVP request (retried as :func:`get_with_retry` does); ``stream``: its body
        not read yet."""
        base = {"service": "CSW", "version": "2.0.2"}
        get = partial(self.session.get, stream=True) if stream else self.session.get
        return get_with_retry(get, self.url, {**base, **params}, timeout=self.timeout,
                              attempts=self.attempts, what=str(params.get("request")))

    def _answer(self, params: dict[str, str | int]) -> bytes:
        return self._request(params).content

    def _get(self, params: dict[str, str | int]) -> etree._Element:
        content = self._answer(params)
        try:
            root = etree.fromstring(content, _PARSER)
        except etree.XMLSyntaxError as e:
            raise HarvestError(f"{self.url}: the answer to {params.get('request')} is not XML ({e.msg})") from None
        if etree.QName(root).localname == "ExceptionReport":
            text = " ".join(root.itertext()).strip()
            raise _Refused(f"{self.url}: the catalog refused {params.get('request')}: {text[:300]}")
        return root

    def list_records(self, on_matched: Callable[[int], None] | None = None) -> list[RemoteRecord]:
        """Every record of the catalog; ``on_matched`` is told how many there are as soon as the first
        page says so (a caller prepares for a big harvest while the rest is being listed)."""
        try:
            return self._list(by_name=True, on_matched=on_matched)
        except _NamesNotHonoured:
            return self._list(by_name=False, on_matched=on_matched)

    def _list(self, by_name: bool, on_matched: Callable[[int], None] | None = None) -> list[RemoteRecord]:
        """The listing, asking for the LISTED elements by name or for the ``full`` element set. A catalog
        that answers the names with other elements (or refuses them) raises _NamesNotHonoured: what it
        left out (dc:source, the record's origin) must not be taken for absent."""
        out: list[RemoteRecord] = []
        start = 1
        which = ({"ElementName": ",".join(f"{'dct' if n == 'modified' else 'dc'}:{n}" for n in LISTED)}
                 if by_name else {"elementSetName": "full"})
        while True:
            try:
                root = self._get({"request": "GetRecords", "typeNames": "csw:Record", "resultType": "results",
                                  **which, "outputSchema": NS["csw"], "startPosition": start, "maxRecords": PAGE})
            except _Refused:
                if by_name and start == 1:
                    raise _NamesNotHonoured() from None
                raise
            results = root.find("csw:SearchResults", NS)
            if results is None:
                raise HarvestError(f"{self.url}: GetRecords answer has no csw:SearchResults")
            if by_name and any(etree.QName(el).localname not in LISTED for rec in results for el in rec
                               if isinstance(el.tag, str)):
                raise _NamesNotHonoured()
            for rec in results:
                ident = rec.findtext("dc:identifier", namespaces=NS)
                if not ident:
                    continue
                out.append(RemoteRecord(ident.strip(), (rec.findtext("dct:modified", namespaces=NS) or None),
                                        (rec.findtext("dc:source", namespaces=NS) or None)))
            matched = int(results.get("numberOfRecordsMatched", "0"))
            self.matched = max(matched, len(out))
            if start == 1 and on_matched is not None:
                on_matched(self.matched)
            nxt = int(results.get("nextRecord", "0") or 0)
            if nxt == 0 or nxt > matched or len(results) == 0:
                return out
            start = nxt

    def fetch(self, identifiers: list[str]) -> Iterator[tuple[str, bytes]]:
        for i in range(0, len(identifiers), BATCH):
            batch = identifiers[i:i + BATCH]
            root = self._get({"request": "GetRecordById", "id": ",".join(batch), "outputSchema": ISO,
                              "elementSetName": "full"})
            yield from _iso_records(root)

    def _answer_to(self, params: dict[str, str | int], path: Path) -> Path:
        """The answer to ``params`` written to ``path`` as it arrives, for a reader that parses it from
        there (:class:`catalog.pycsw.StreamLoader`): a page is ~20 MB, which then never sits whole in this
        process nor passes through a pipe to the loader and again to its worker."""
        r = self._request(params, stream=True)
        with r, open(path, "wb") as f:
            for chunk in r.iter_content(1 << 20):
                f.write(chunk)
        return path

    def page_to(self, start: int, path: Path, count: int = ISO_PAGE) -> Path:
        """The ISO 19139 records of one GetRecords page (``start`` 1-based), in the catalog's order: the
        answer as the catalog sent it, written to ``path``.

        Paging is not a snapshot: a record added or removed meanwhile can shift a page, so a caller that
        needs particular records fetches whatever the pages did not deliver by identifier.
        """
        return self._answer_to({"request": "GetRecords", "typeNames": "csw:Record", "resultType": "results",
                                "elementSetName": "full", "outputSchema": ISO, "startPosition": start,
                                "maxRecords": count}, path)

    def by_id_to(self, identifiers: list[str], path: Path) -> Path:
        """The GetRecordById answer (ISO 19139) for ``identifiers``, as the catalog sent it, written to
        ``path``."""
        return self._answer_to({"request": "GetRecordById", "id": ",".join(identifiers), "outputSchema": ISO,
                                "elementSetName": "full"}, path)


class _Refused(HarvestError):
    """The catalog answered with an ExceptionReport."""


class _NamesNotHonoured(Exception):
    """The catalog did not answer the listing's ElementName as asked."""


def _iso_records(parent: etree._Element) -> Iterator[tuple[str, bytes]]:
    """(identifier, standalone document) of every gmd:MD_Metadata child of ``parent``."""
    for md in parent.iterchildren(f"{{{ISO}}}MD_Metadata"):
        ident = md.findtext("gmd:fileIdentifier/{http://www.isotc211.org/2005/gco}CharacterString",
                            namespaces=NS)
        if ident:
            yield ident.strip(), etree.tostring(md, xml_declaration=True, encoding="UTF-8")


class NodeHarvester(CSWHarvester):
    """Another node of the network, named by its base URL: its catalog is at ``<url>/csw``."""

    def __init__(self, url: str, timeout: float = 20.0, attempts: int = 3, token: str | None = None):
        super().__init__(url.rstrip("/") + "/csw", timeout=timeout, attempts=attempts, token=token)
