"""The front's own paths: client errors are 4xx with a message, folders are browsable, HTML says UTF-8,
a busy port is one line and exit 8, and a clean run logs no warnings."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from lxml import html as lhtml

from tests.conftest import DEMO_CONFIG, ROOT
from tests.geoportal.conftest import serve_log
from tests.geoportal.test_gate import request


@pytest.mark.parametrize("path, status", [
    ("/passport/%00", 400),
    ("/downloads/%00.gpkg", 400),
    ("/downloads/%ff%fe", 400),
    ("/passport/%c3%28.json", 400),
    ("/downloads/../../../etc/passwd", 400),
    ("/passport/..%2f..%2fnode.json", 400),
    ("/downloads/" + "a" * 300 + ".gpkg", 404),  # longer than a file name may be
    ("/downloads/" + "a/" * 700, 414),
    ("/downloads/no-such-file.gpkg", 404),
    ("/no-such-place", 404),
])
def test_client_errors_are_4xx_with_a_message(token_node, path: str, status: int) -> None:  # type: ignore[no-untyped-def]
    got, headers, body = request(token_node.base_url, "GET", path)
    assert got == status, (path, got, body[:200])
    assert headers["content-type"] == "text/plain; charset=utf-8"
    text = body.decode("utf-8")
    assert text.strip() and "Traceback" not in text and "root:" not in text


@pytest.mark.parametrize("folder, expect", [("/downloads/", ".gpkg"), ("/passport/", ".json")])
def test_folders_answer_a_listing_with_links_that_work(token_node, folder: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    status, headers, body = request(token_node.base_url, "GET", folder)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    page = lhtml.fromstring(body)
    links = [a.get("href") for a in page.iter("a") if a.get("href", "").endswith(expect)]
    assert links, body[:500]
    if folder == "/downloads/":  # with the size of each file
        cells = [td.text_content() for td in page.iter("td")]
        assert any(re.fullmatch(r"\d+(\.\d)? (B|KB|MB|GB)", c) for c in cells), cells[:6]
    with urllib.request.urlopen(token_node.base_url + folder + links[0], timeout=30) as r:
        assert r.status == 200 and r.read()
    # without the slash: a redirect to the folder (relative links need it)
    status, headers, _ = request(token_node.base_url, "GET", folder.rstrip("/"))
    assert status == 301 and headers["location"] == folder.strip("/") + "/"


def test_cyrillic_file_names_are_found(token_node) -> None:  # type: ignore[no-untyped-def]
    folder = token_node.workdir / "downloads" / "довідка"
    folder.mkdir(exist_ok=True)
    (folder / "опис.txt").write_text("Житомир\n", encoding="utf-8")
    with urllib.request.urlopen(token_node.base_url + "/downloads/%D0%B4%D0%BE%D0%B2%D1%96%D0%B4%D0%BA%D0%B0/"
                                "%D0%BE%D0%BF%D0%B8%D1%81.txt", timeout=30) as r:
        assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert r.read().decode("utf-8") == "Житомир\n"


@pytest.mark.parametrize("path", [
    "/", "/passport/", "/downloads/", "/ogcapi/collections?f=html", "/ogcapi/collections/hromadas/items?f=html",
    "/csw?mode=oaipmh&verb=Identify", "/csw?service=CSW&request=GetCapabilities",
    "/ows?service=WMS&version=1.3.0&request=GetCapabilities",
])
def test_text_says_its_charset(token_node, path: str) -> None:  # type: ignore[no-untyped-def]
    status, headers, body = request(token_node.base_url, "GET", path)
    assert status == 200 and body
    ctype = headers["content-type"].lower()
    assert ctype.startswith(("text/", "application/xml", "application/json")), ctype
    if not ctype.startswith("application/json"):
        assert "charset=utf-8" in ctype, (path, ctype)


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_busy_port_is_one_line_and_exit_8_before_any_build(tmp_path: Path, command: str) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        args = ([str(DEMO_CONFIG)] if command == "serve" else []) + ["--workdir", str(tmp_path / "w"),
                                                                     "--port", str(port)]
        t = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "geoportal.cli", command, *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        seconds = time.monotonic() - t
    assert proc.returncode == 8, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(port) in lines[0] and "--port" in lines[0], proc.stderr
    assert not (tmp_path / "w").exists(), "something was built before the port was checked"
    assert seconds < 20


def test_a_clean_run_logs_no_warnings(token_node) -> None:  # type: ignore[no-untyped-def]
    """The main pages of every service, then what the log of ``geoportal serve`` and of the catalog process
    gained meanwhile (the attacks of the other tests on this node may rightly have logged before)."""
    base = token_node.base_url
    logs = {log: log.stat().st_size for log in (serve_log(token_node), token_node.workdir / "pycsw-server.log")}
    start_text = serve_log(token_node).read_text(encoding="utf-8", errors="replace")
    assert "pygeoapi.l10n" not in start_text and "flask_cors" not in start_text  # nor while starting
    for path in ["/", "/dcat.jsonld", "/passport/", "/downloads/", "/ogcapi/", "/ogcapi/collections?f=html",
                 "/ogcapi/collections/hromadas?f=html", "/ogcapi/collections/hromadas/items?f=html",
                 "/ogcapi/collections/hromadas/items?f=json&limit=2", "/ogcapi/collections/hromadas/items/1?f=html",
                 "/ogcapi/openapi?f=json", "/ogcapi/conformance?f=html",
                 "/ows?service=WMS&version=1.3.0&request=GetCapabilities",
                 "/ows?service=WMS&version=1.3.0&request=GetMap&layers=hromadas&styles=&crs=EPSG:4326"
                 "&bbox=49.5,26.5,52,30.5&width=256&height=256&format=image/png",
                 "/csw?service=CSW&request=GetCapabilities",
                 "/csw?service=CSW&version=2.0.2&request=GetRecords&typenames=csw:Record&resulttype=results"
                 "&elementsetname=full", "/csw?mode=oaipmh&verb=ListRecords&metadataPrefix=oai_dc"]:
        status, _, body = request(base, "GET", path)
        assert status in (200, 404) and body, (path, status)  # an item id may not exist: still no warning
    time.sleep(0.5)
    for log, offset in logs.items():
        with log.open("rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        bad = [ln for ln in text.splitlines() if re.search(r"WARNING|Warning|Traceback|\bERROR\b|\[ERROR\]", ln)]
        assert not bad, f"{log.name}: {len(bad)} lines, e.g.\n" + "\n".join(sorted(set(bad))[:15])
