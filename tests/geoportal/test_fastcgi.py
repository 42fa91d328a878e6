"""MapServer asked through its FastCGI processes by the node (geoportal.fastcgi), and what the node passes
on (geoportal.mapserver_answer): a real ``mapserv`` under ``spawn-fcgi``, a mapfile with one layer drawn
from inline features and one whose PostGIS database cannot be reached (a port nothing listens on — what a
killed replica looks like to MapServer). A map comes back byte for byte as the CGI program draws it; a
database failure is a 503 with Retry-After after one more try, never a 200 exception report; a client's
own error passes unchanged, and EXCEPTIONS=INIMAGE still gets its image when the client erred."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from geoportal.fastcgi import FastCGIError, FastCGIUpstreams
from geoportal.serve import MapServerCGI, free_port

pytestmark = pytest.mark.skipif(shutil.which("spawn-fcgi") is None or shutil.which("mapserv") is None,
                                reason="spawn-fcgi and cgi-mapserver are needed (make system)")

MAPFILE = """MAP
  NAME "t"
  EXTENT 0 0 10 10
  SIZE 64 64
  PROJECTION "init=epsg:4326" END
  WEB METADATA "ows_enable_request" "*" "ows_title" "t" "ows_srs" "EPSG:4326" END END
  LAYER
    NAME "box" TYPE POLYGON STATUS ON
    FEATURE POINTS 1 1 9 1 9 9 1 9 1 1 END END
    CLASS STYLE COLOR 200 0 0 END END
  END
  LAYER
    NAME "gone" TYPE POLYGON STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION "host=127.0.0.1 port={port} dbname=x user=x connect_timeout=2"
    DATA "geom from (select 1 as id, null::geometry as geom) as t using unique id using srid=4326"
    CLASS STYLE COLOR 0 0 200 END END
  END
END
"""


def getmap(layer: str, extra: str = "") -> str:
    return (f"service=WMS&version=1.3.0&request=GetMap&layers={layer}&styles=&crs=EPSG:4326&bbox=0,0,10,10"
            f"&width=64&height=64&format=image/png{extra}")


@pytest.fixture(scope="module")
def mapserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    """Two FastCGI processes on Unix sockets, and the MapServer config file."""
    d = tmp_path_factory.mktemp("fcgi")
    (d / "t.map").write_text(MAPFILE.replace("{port}", str(free_port())))
    conf = d / "mapserver.conf"
    conf.write_text(f'CONFIG\n  ENV\n    MS_MAPFILE "{d / "t.map"}"\n  END\nEND\n')
    sockets = [str(d / f"{i}.sock") for i in (1, 2)]
    procs = [subprocess.Popen(["spawn-fcgi", "-n", "-s", s, "--", shutil.which("mapserv") or "mapserv"],
                              env={**os.environ, "MAPSERVER_CONFIG_FILE": str(conf)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for s in sockets]
    deadline = time.monotonic() + 20
    while not all(Path(s).exists() for s in sockets) and time.monotonic() < deadline:
        time.sleep(0.05)
    yield conf, sockets
    for p in procs:
        p.kill()
        p.wait()


def call(app: MapServerCGI, query: str) -> tuple[str, dict[str, str], bytes]:
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    body = b"".join(app({"REQUEST_METHOD": "GET", "QUERY_STRING": query, "SCRIPT_NAME": "/ows"},
                        lambda s, h: seen.append((s, h))))
    return seen[0][0], dict(seen[0][1]), body


def test_a_map_through_fastcgi_is_the_cgi_programs_map(mapserver) -> None:  # type: ignore[no-untyped-def]
    conf, sockets = mapserver
    cgi = MapServerCGI(conf)
    fast = MapServerCGI(conf)
    fast.fastcgi = FastCGIUpstreams(sockets)
    want = call(cgi, getmap("box"))
    for _ in range(3):  # both processes, in turn
        status, headers, body = call(fast, getmap("box"))
        assert status.startswith("200") and headers["Content-Type"] == "image/png"
        assert body[:4] == b"\x89PNG" and body == want[2]


def test_a_database_failure_is_a_503_with_retry_after(mapserver) -> None:  # type: ignore[no-untyped-def]
    conf, sockets = mapserver
    fast = MapServerCGI(conf)
    fast.fastcgi = FastCGIUpstreams(sockets)
    for app in (fast, MapServerCGI(conf)):  # the FastCGI processes and the CGI program alike
        status, headers, body = call(app, getmap("gone"))
        assert status.startswith("503") and headers["Retry-After"] == "2", (status, body[:300])
        assert b"msPostGISLayerOpen()" in body and b"ExceptionReport" not in body
        # asked for errors drawn into the image: a 503 too, never a 200 image with the error in it
        status, headers, _ = call(app, getmap("gone", "&exceptions=INIMAGE"))
        assert status.startswith("503")


def test_a_clients_error_passes_unchanged(mapserver) -> None:  # type: ignore[no-untyped-def]
    conf, sockets = mapserver
    fast = MapServerCGI(conf)
    fast.fastcgi = FastCGIUpstreams(sockets)
    status, headers, body = call(fast, getmap("no-such-layer"))
    assert status.startswith("200") and b"LayerNotDefined" in body  # WMS 1.3.0's way, as MapServer answers it
    status, headers, body = call(fast, getmap("no-such-layer", "&exceptions=INIMAGE"))
    assert status.startswith("200") and headers["Content-Type"] == "image/png"  # what this client asked for


def test_no_live_process_is_a_502_and_a_dead_one_is_skipped(mapserver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    conf, sockets = mapserver
    with pytest.raises(FastCGIError, match="no MapServer FastCGI process answered"):
        b"".join(FastCGIUpstreams([str(tmp_path / "none.sock")], connect_timeout=1).request({}))
    fast = MapServerCGI(conf)
    fast.fastcgi = FastCGIUpstreams([str(tmp_path / "none.sock"), sockets[0]])
    for _ in range(2):
        assert call(fast, getmap("box"))[0].startswith("200")
    fast.fastcgi = FastCGIUpstreams([str(tmp_path / "none.sock")], connect_timeout=1)
    status, _, body = call(fast, getmap("box"))
    assert status.startswith("502") and b"try again" in body
