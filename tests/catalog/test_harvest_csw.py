"""The CSW harvester's listing asks for identifier, modified and source by name (ElementName); a catalog
that answers with other elements or refuses the names is listed with the ``full`` element set instead, so a
record's origin (dc:source) is never taken for absent. Real HTTP servers answering like such catalogs."""

from __future__ import annotations

import http.server
import threading
import urllib.parse

import pytest

from catalog.harvest.csw import CSWHarvester

RECORD = ('<csw:Record><dc:identifier>r{i}</dc:identifier><dc:title>Запис {i}</dc:title>'
          '<dct:modified>2026-01-0{i}</dct:modified><dc:source>http://origin.example.org/</dc:source></csw:Record>')
ANSWER = ('<?xml version="1.0" encoding="UTF-8"?><csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
          'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dct="http://purl.org/dc/terms/" version="2.0.2">'
          '<csw:SearchResults numberOfRecordsMatched="3" numberOfRecordsReturned="3" nextRecord="0">{records}'
          '</csw:SearchResults></csw:GetRecordsResponse>')
REFUSAL = ('<?xml version="1.0"?><ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" version="1.2.0">'
           '<ows:Exception exceptionCode="InvalidParameterValue" locator="ElementName"><ows:ExceptionText>no'
           '</ows:ExceptionText></ows:Exception></ows:ExceptionReport>')


def _catalog(names: str) -> tuple[http.server.ThreadingHTTPServer, list[dict]]:
    """A catalog that, asked for elements by name, ``ignores`` them (answers its full records) or
    ``refuses`` them; every request's parameters are kept."""
    asked: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            params = {k.lower(): v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).items()}
            asked.append(params)
            if "elementname" in params and names == "refuses":
                body = REFUSAL
            else:
                body = ANSWER.format(records="".join(RECORD.format(i=i) for i in (1, 2, 3)))
            data = body.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, asked


@pytest.mark.parametrize("names", ["ignores", "refuses"])
def test_a_catalog_that_does_not_answer_the_names_is_listed_in_full(names: str) -> None:
    srv, asked = _catalog(names)
    try:
        listed = CSWHarvester(f"http://127.0.0.1:{srv.server_address[1]}/", timeout=10).list_records()
    finally:
        srv.shutdown()
    assert [(r.identifier, r.modified, r.origin) for r in listed] == [
        (f"r{i}", f"2026-01-0{i}", "http://origin.example.org/") for i in (1, 2, 3)]
    assert asked[0]["elementname"] == "dc:identifier,dct:modified,dc:source"
    assert asked[-1]["elementsetname"] == "full" and "elementname" not in asked[-1]
