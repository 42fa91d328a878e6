"""The production topology answers the clients of the embedded node the same way: OWSLib (WMS, WFS, CSW,
OGC API), GDAL's ogrinfo on WFS and OGC API, and PyQGIS — the very tests of the PostGIS node, run against
nginx in front of gunicorn, MapServer FastCGI, pycsw on PostgreSQL and the replica."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import psycopg
import pytest
from owslib.csw import CatalogueServiceWeb
from owslib.fes import BBox, PropertyIsLike

from geoportal.deploy.postgres import replication_status
from tests.geoportal.test_postgis_node import test_clients_read_every_dataset as clients_read_every_dataset
from tests.publishers.test_qgis import _has_pyqgis
from tests.publishers.test_qgis import test_every_layer_loads_in_qgis as every_layer_loads_in_qgis

# the first test also waits for the topology to start (a build, two clusters): minutes on a busy machine
pytestmark = [pytest.mark.production, pytest.mark.slow, pytest.mark.timeout(900)]


def test_owslib_and_gdal_read_every_dataset(production) -> None:  # type: ignore[no-untyped-def]
    clients_read_every_dataset(production.node)


@pytest.mark.skipif(not _has_pyqgis(), reason="PyQGIS (Debian python3-qgis) is not installed")
def test_every_layer_loads_in_qgis(production, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    every_layer_loads_in_qgis(production.node, tmp_path)


def test_csw_reads_the_catalog_from_postgresql(production) -> None:  # type: ignore[no-untyped-def]
    node = production.node
    records = sorted(p.stem for p in (node.workdir / "records").glob("*.xml"))
    # an anonymous caller sees the records of public datasets (and services), never a non-public one's
    public = set(node.public_layers)
    non_public = {r for r in records if r.rsplit(".", 1)[-1] in set(node.layers) - public}
    assert non_public  # the sample node has a dataset for officials
    csw = CatalogueServiceWeb(node.base_url + "/csw", timeout=60)
    csw.getrecords2(maxrecords=100)
    assert csw.results["matches"] >= len(records) - len(non_public)
    assert not non_public & set(csw.records), non_public & set(csw.records)
    csw.getrecords2(constraints=[BBox([49.0, 27.0, 52.0, 32.0])], maxrecords=100)  # Zhytomyr oblast
    assert csw.results["matches"] >= len(records) - len(non_public) - 2  # service records may carry no extent
    csw.getrecords2(constraints=[BBox([10.0, 10.0, 11.0, 11.0])], maxrecords=100)  # the Sahara
    assert csw.results["matches"] == 0
    csw.getrecords2(constraints=[PropertyIsLike("csw:AnyText", "%громад%")], maxrecords=100)
    assert csw.results["matches"] >= 1
    # the repository pycsw answers from is the PostgreSQL one, not the SQLite file of the build
    with psycopg.connect(production.state["catalog_dsn"]) as conn:
        stored = conn.execute("SELECT count(*) FROM records WHERE wkb_geometry IS NOT NULL").fetchone()[0]
    assert stored >= len(records) - 2


def test_reads_come_from_the_replica(production) -> None:  # type: ignore[no-untyped-def]
    """pygeoapi's connections are on the standby; the primary streams to it and shows its lag."""
    base = production.base_url
    with urllib.request.urlopen(f"{base}/ogcapi/collections/hromadas/items?f=json&limit=1", timeout=60) as r:
        assert json.load(r)["numberMatched"] == 6
    state = production.state
    with psycopg.connect(state["replica"]["dsn"], autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        apps = {r[0] for r in conn.execute("SELECT application_name FROM pg_stat_activity").fetchall()}
    assert "geoportal-ogcapi" in apps
    rows = replication_status(state["primary"]["dsn"])
    assert [(r["application_name"], r["state"]) for r in rows] == [("geoportal-replica", "streaming")]
    assert rows[0]["lag_bytes"] is not None
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "geoportal.cli", "deploy", "status", state["run_dir"]],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "replica      streaming" in out.stdout and "bytes behind" in out.stdout, out.stdout
    # MapServer's layers read through the hosts list and take a fresh connection per request, so a dead
    # replica costs no map (a pooled connection to it would answer the next map with an error)
    import mappyfile

    mapfile = mappyfile.open(str(production.node.workdir / "services" / "node.map"))
    postgis = [lyr for lyr in mapfile["layers"] if str(lyr.get("connectiontype", "")).lower() == "postgis"]
    assert postgis and all("target_session_attrs" in lyr["connection"] for lyr in postgis)
    assert all("CLOSE_CONNECTION=ALWAYS" in lyr.get("processing", []) for lyr in postgis)


def test_nginx_sends_the_files_the_node_allowed(production) -> None:  # type: ignore[no-untyped-def]
    node = production.node
    name = "hromadas.gpkg"
    with urllib.request.urlopen(f"{node.base_url}/downloads/{name}", timeout=60) as r:
        body, headers = r.read(), r.headers
    assert body == (node.workdir / "downloads" / name).read_bytes()
    assert headers["Content-Type"] == "application/geopackage+sqlite3"
    assert headers["ETag"] and headers["Last-Modified"]  # nginx's static file handler, not the node's
    assert "X-Accel-Redirect" not in headers
    # the internal locations cannot be asked for directly
    for path in ("/_accel/files/downloads/hromadas.gpkg", "/_accel/mapserv?service=WMS&request=GetCapabilities"):
        try:
            urllib.request.urlopen(node.base_url + path, timeout=30)
            raise AssertionError(f"{path} answered")
        except urllib.error.HTTPError as e:
            assert e.code == 404, path
    # a folder that is not there is the node's 404, a '..' its 400: the node decides before nginx serves
    for path, code in (("/downloads/nothing-here.gpkg", 404), ("/downloads/%2e%2e/node.json", 400)):
        try:
            urllib.request.urlopen(node.base_url + path, timeout=30)
            raise AssertionError(f"{path} answered")
        except urllib.error.HTTPError as e:
            assert e.code in (code, 404), (path, e.code)


def test_responses_are_compressed(production) -> None:  # type: ignore[no-untyped-def]
    req = urllib.request.Request(f"{production.base_url}/ogcapi/collections/hromadas/items?f=json&limit=6",
                                 headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.headers["Content-Encoding"] == "gzip"
        import gzip

        assert len(json.loads(gzip.decompress(r.read()))["features"]) == 6


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_maps_are_drawn_by_the_fastcgi_processes(production) -> None:  # type: ignore[no-untyped-def]
    """WMS answers come from the long-running MapServer processes (their CPU time grows), which the node
    asks over FastCGI, not from a mapserv started per request; no internal header reaches the client."""
    pids = [p for n, p in production.state["pids"].items() if n.startswith("mapserv-")]
    before = sum(_cpu_ticks(p) for p in pids)
    for i in range(12):
        url = (f"{production.base_url}/ows?service=WMS&version=1.3.0&request=GetMap&layers=geographic-names,hromadas"
               f"&styles=,&crs=EPSG:4326&bbox=49.6,27.2,51.6,{29.6 + i / 100:.2f}&width=512&height=512&format=image/png")
        with urllib.request.urlopen(url, timeout=60) as r:
            assert r.read()[:4] == b"\x89PNG"
            assert "X-Accel-Redirect" not in r.headers
    assert sum(_cpu_ticks(p) for p in pids) > before


def test_nginx_sends_a_file_with_a_cyrillic_name(production) -> None:  # type: ignore[no-untyped-def]
    """The node names the file in X-Accel-Redirect percent-encoded; nginx finds the same file."""
    from urllib.parse import quote

    folder = production.node.workdir / "downloads" / "звіти"
    folder.mkdir(exist_ok=True)
    f = folder / "Звіт про якість 2025.csv"
    f.write_text("назва;значення\nліс;1\n", encoding="utf-8")
    try:
        with urllib.request.urlopen(f"{production.base_url}/downloads/{quote('звіти/' + f.name)}", timeout=60) as r:
            assert r.read() == f.read_bytes()
            assert r.headers["Content-Type"].startswith("text/csv")
            assert r.headers["ETag"]
    finally:
        f.unlink()
        folder.rmdir()


def test_logins_work_behind_nginx(production) -> None:  # type: ignore[no-untyped-def]
    """The node under gunicorn runs behind its access front as the embedded one does: a user added with the
    CLI (stored in the node's PostGIS) is known through HTTP Basic, a wrong password is a 401, and a caller
    without credentials is anonymous."""
    import base64
    import subprocess
    import sys
    import urllib.error

    from tests.conftest import ROOT

    state = production.state
    subprocess.run([sys.executable, "-m", "geoportal.cli", "users", "add", "prod-official", "--role", "official",
                    "--org", "UA18060170000069581", "--config", state["config"], "--workdir", state["workdir"]],
                   input="a long production password\n", text=True, capture_output=True, check=True, cwd=ROOT,
                   timeout=120)

    def whoami(password: str | None) -> tuple[int, dict]:
        req = urllib.request.Request(f"{production.base_url}/whoami?f=json")
        if password is not None:
            token = base64.b64encode(f"prod-official:{password}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, {}

    status, me = whoami("a long production password")
    assert status == 200 and me["name"] == "prod-official", me
    assert whoami("not the password")[0] == 401
    status, me = whoami(None)
    assert status == 200 and me["anonymous"] is True
