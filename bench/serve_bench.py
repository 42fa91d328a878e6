"""Benchmark: the node's OGC API Features and WMS on a 1,000,000-feature PostGIS layer, against stock
pygeoapi (its own PostgreSQL provider, same table, same gunicorn settings) and against MapServer CGI
called directly (mapserv exec'd per request, no HTTP), in the same run. Not a timed test.

8 concurrent clients send a fixed number of requests each: ``items?bbox=…&limit=100`` with bboxes drawn
from a fixed seed, and WMS GetMap 256×256 of random tiles. Prints requests/s, p50/p95 latency and the
ratios. Targets (issue #4): OGC API ≥ 3× stock pygeoapi; WMS overhead ≤ 10 % over bare MapServer.

    .venv/bin/python bench/serve_bench.py [--n 1000000] [--requests 400] [--dsn postgresql://…]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
BBOX = (27.2, 49.6, 29.6, 51.6)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def generate(n: int, out: Path) -> None:
    import pyogrio.raw
    import shapely

    if out.exists():
        return
    rng = np.random.default_rng(7)
    chunk = 250_000
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        pts = shapely.points(rng.uniform(BBOX[0], BBOX[2], m), rng.uniform(BBOX[1], BBOX[3], m))
        kinds = np.array(["школа", "лікарня", "ділянка", "об'єкт"], dtype=object)[rng.integers(0, 4, m)]
        pyogrio.raw.write(out, shapely.to_wkb(pts), field_data=[np.arange(start, start + m), kinds,
                                                                 rng.uniform(0, 100, m)],
                          fields=["code", "kind", "value"], geometry_type="Point", crs="EPSG:4326", driver="GPKG",
                          encoding="UTF-8", append=start > 0, dataset_options={"VERSION": "1.3"},
                          layer_options={"SPATIAL_INDEX": "YES"} if start == 0 else None)


def ensure_db(dsn_admin: str, name: str) -> str:
    import psycopg

    with psycopg.connect(dsn_admin, autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            c.execute(f'CREATE DATABASE "{name}"')
    dsn = dsn_admin.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return dsn


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(url: str, proc: subprocess.Popen, timeout: float = 600) -> None:
    import urllib.request

    t = time.monotonic()
    while time.monotonic() - t < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server for {url} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except Exception:  # noqa: BLE001 - waiting for startup
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer")


def run_clients(items: list, clients: int, call) -> tuple[float, list[float], int]:  # type: ignore[no-untyped-def]
    """Run ``call(state, item) -> (ok, state)`` over the items from `clients` threads; (seconds, latencies,
    errors). ``state`` is a per-thread object (a keep-alive connection), None at first."""
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker(mine: list) -> None:
        state = None
        for item in mine:
            t = time.perf_counter()
            ok, state = call(state, item)
            dt = time.perf_counter() - t
            with lock:
                lat.append(dt)
                errors[0] += 0 if ok else 1

    threads = [threading.Thread(target=worker, args=(items[i::clients],)) for i in range(clients)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t0, lat, errors[0]


def load(base: str, paths: list[str], clients: int) -> tuple[float, list[float], int]:
    """GET the paths over `clients` keep-alive HTTP connections."""
    u = urlsplit(base)

    def call(conn, path):  # type: ignore[no-untyped-def]
        conn = conn or http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        try:
            conn.request("GET", u.path + path)
            r = conn.getresponse()
            r.read()
            return r.status == 200, conn
        except OSError:
            conn.close()
            return False, None

    return run_clients(paths, clients, call)


def load_cgi(config_file: Path, queries: list[str], clients: int) -> tuple[float, list[float], int]:
    """mapserv exec'd per request, as a CGI server would, with no HTTP in between."""
    env = dict(os.environ, MAPSERVER_CONFIG_FILE=str(config_file), REQUEST_METHOD="GET")

    def call(state, q):  # type: ignore[no-untyped-def]
        out = subprocess.run(["mapserv"], env=dict(env, QUERY_STRING=q), capture_output=True)
        return b"image/png" in out.stdout[:200], None

    return run_clients(queries, clients, call)


def report(name: str, secs: float, lat: list[float], errors: int) -> float:
    rps = len(lat) / secs
    q = statistics.quantiles(lat, n=100)
    print(f"  {name:<34} {rps:8.1f} req/s   p50 {q[49] * 1000:7.1f} ms   p95 {q[94] * 1000:7.1f} ms"
          f"   errors {errors}")
    return rps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/geoportal-bench-serve"))
    ap.add_argument("--dsn", default=os.environ.get("GEOPORTAL_BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"))
    a = ap.parse_args()
    a.dir.mkdir(parents=True, exist_ok=True)
    src = a.dir / f"points_{a.n}.gpkg"
    log(f"generating {a.n} points → {src}")
    generate(a.n, src)
    dsn = ensure_db(a.dsn, "geoportal_bench_serve")

    import yaml

    cfg_path = a.dir / "bench-node.yaml"
    base_cfg = yaml.safe_load((ROOT / "config/nodes/zhytomyr-oblast.yaml").read_text(encoding="utf-8"))
    base_cfg["node"]["id"] = "bench-node"
    base_cfg["storage"] = {"backend": "postgis", "dsn": dsn}
    base_cfg["reference"] = {}
    base_cfg.pop("passport", None)
    base_cfg.pop("children", None)
    base_cfg["datasets"] = [{
        "id": "points", "source": str(src), "title": {"uk": "Точки", "en": "Points"},
        "abstract": {"uk": "Згенеровані точки для вимірювань", "en": "Generated points for benchmarks"},
        "theme": "bench", "style": "default-point"}]
    cfg_path.write_text(yaml.safe_dump(base_cfg, allow_unicode=True), encoding="utf-8")
    ws = a.dir / "ws"
    t = time.perf_counter()
    subprocess.run([PY, "-m", "geoportal.cli", "build", str(cfg_path), "--workdir", str(ws)], check=True, cwd=ROOT)
    log(f"build (ingest {a.n} features into PostGIS + publish) {time.perf_counter() - t:.1f} s")

    ours_port, stock_port = free_port(), free_port()
    procs: list[subprocess.Popen] = []
    try:
        ours = subprocess.Popen([PY, "-m", "geoportal.cli", "serve", str(cfg_path), "--workdir", str(ws), "--port",
                                 str(ours_port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        procs.append(ours)
        # stock pygeoapi: same generated config, its own PostgreSQL provider, same gunicorn settings
        stock_cfg = yaml.safe_load((ws / "services" / "pygeoapi.yml").read_text(encoding="utf-8"))
        from psycopg.conninfo import conninfo_to_dict

        def dsn_to_parameters(dsn: str) -> dict:
            p = conninfo_to_dict(dsn)
            return {"host": p.get("host", "localhost"), "port": int(p.get("port") or 5432),
                    "dbname": p["dbname"], "user": p.get("user", "postgres"), **({"password": p["password"]}
                                                                               if p.get("password") else {})}

        stock_cfg["resources"] = {k: v for k, v in stock_cfg["resources"].items()
                                  if all(p["type"] == "feature" for p in v["providers"])}
        for res in stock_cfg["resources"].values():
            for prov in res["providers"]:
                prov["name"] = "PostgreSQL"
                prov["data"] = {**dsn_to_parameters(prov["data"].pop("dsn")), **prov["data"]}
        stock_cfg["server"]["url"] = f"http://127.0.0.1:{stock_port}"
        stock_cfg["server"].pop("templates", None)
        (a.dir / "stock.yml").write_text(yaml.safe_dump(stock_cfg, allow_unicode=True), encoding="utf-8")
        subprocess.run([str(Path(PY).parent / "pygeoapi"), "openapi", "generate", str(a.dir / "stock.yml"),
                        "--output-file", str(a.dir / "stock-openapi.yml")], check=True,
                       env=dict(os.environ, PYGEOAPI_CONFIG=str(a.dir / "stock.yml")))
        stock = subprocess.Popen([str(Path(PY).parent / "gunicorn"), "-b", f"127.0.0.1:{stock_port}", "-w", "2", "-k",
                                  "gthread", "--threads", "8", "pygeoapi.flask_app:APP"],
                                 env=dict(os.environ, PYGEOAPI_CONFIG=str(a.dir / "stock.yml"),
                                          PYGEOAPI_OPENAPI=str(a.dir / "stock-openapi.yml")),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(stock)
        wait(f"http://127.0.0.1:{ours_port}/", ours)
        wait(f"http://127.0.0.1:{stock_port}/collections?f=json", stock)
        rnd = random.Random(42)
        boxes = []
        for _ in range(a.requests):
            x, y = rnd.uniform(27.3, 29.3), rnd.uniform(49.7, 51.3)
            boxes.append(f"{x:.4f},{y:.4f},{x + 0.05:.4f},{y + 0.05:.4f}")
        items = [f"/collections/points/items?f=json&limit=100&bbox={b}" for b in boxes]
        wms = [urlencode({"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "points",
                          "STYLES": "", "CRS": "EPSG:4326", "WIDTH": 256, "HEIGHT": 256, "FORMAT": "image/png",
                          "BBOX": f"{b.split(',')[1]},{b.split(',')[0]},{b.split(',')[3]},{b.split(',')[2]}"})
               for b in boxes]
        print(f"\n{a.n} features in PostGIS, {a.clients} clients, {a.requests} requests each series")
        print("OGC API Features items?bbox&limit=100")
        load(f"http://127.0.0.1:{ours_port}/ogcapi", items[:16], a.clients)  # warm-up
        load(f"http://127.0.0.1:{stock_port}", items[:16], a.clients)
        r_ours = report("ours (node /ogcapi)", *load(f"http://127.0.0.1:{ours_port}/ogcapi", items, a.clients))
        r_stock = report("stock pygeoapi (PostgreSQL)", *load(f"http://127.0.0.1:{stock_port}", items, a.clients))
        print(f"  ratio ours / stock pygeoapi: {r_ours / r_stock:.2f}x  (target ≥ 3)")
        print("WMS GetMap 256x256")
        r_node = report("ours (node /ows)", *load(f"http://127.0.0.1:{ours_port}/ows", ["?" + q for q in wms],
                                                   a.clients))
        r_cgi = report("bare mapserv CGI (exec)", *load_cgi(ws / "services" / "mapserver.conf", wms, a.clients))
        print(f"  overhead of the node over bare MapServer: {(r_cgi / r_node - 1) * 100:+.1f} %  (target ≤ 10 %)")
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    main()
