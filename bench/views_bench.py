"""Benchmark: what access enforcement costs an allowed caller against an anonymous one, in the same run.

The sample node (config/nodes/zhytomyr-oblast.yaml, with its ``access:`` section) is built and served by
``geoportal serve``; a user ``bench-oblast`` (an official of the oblast) is added. Pairs compared, each the
same request on the same data:

- ``items``   OGC API ``/collections/nature-protection/items?limit=100`` (public): anonymous (the static
  pygeoapi) vs the official (the view's own pygeoapi API behind the access front, Basic credentials);
- ``getmap``  WMS GetMap 256×256 of ``nature-protection`` (public): anonymous vs the official (the view's
  mapfile);
- ``front``   the same items as a citizen, whose view equals the anonymous one (the static pygeoapi): what
  the access front alone costs (Basic credentials checked, the caller resolved, the answer made private);
- ``limited`` ``/collections/nature-protection-register/items`` as the official, whose rule limits the rows to
  the oblast's outline (a row filter ``S_INTERSECTS`` on every query), vs an admin (no limit).

``--clients`` threads send ``--requests`` requests each; the runs of a pair alternate ``--repeat`` times and
the medians of requests/s are compared (a shared machine's bursts of load then decide nothing). Target
(issue #11): overhead ≤ 5 %.

    .venv/bin/python bench/views_bench.py [--requests 200] [--clients 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CONFIG = ROOT / "config" / "nodes" / "zhytomyr-oblast.yaml"
PASSWORD = "bench-password-123"
ITEMS = "/ogcapi/collections/nature-protection/items?f=json&limit=100"
REGISTER = "/ogcapi/collections/nature-protection-register/items?f=json&limit=100"
GETMAP = ("/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=nature-protection&STYLES=&CRS=EPSG:4326"
          "&BBOX=49.6,27.2,51.6,29.6&WIDTH=256&HEIGHT=256&FORMAT=image/png")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(base: str, path: str, user: str | None, clients: int, requests: int) -> float:
    """Requests per second of ``clients`` threads each sending ``requests`` GETs of ``path``."""
    u = urlsplit(base)
    headers = {}
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
    errors: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        for _ in range(requests):
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                errors.append(f"{r.status} {path}")
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return clients * requests / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200, help="requests per client and run")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3, help="alternated runs per side of a pair")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()

    from geoportal.serve import free_port, start_node, stop, wait_for

    work = args.workdir or Path(tempfile.mkdtemp(prefix="views-bench-"))
    workdir = work / "zhytomyr-oblast"
    env = {**os.environ, "BENCH_PW": PASSWORD}
    for name, role, extra in (("bench-oblast", "official", ["--org", "UA18000000000041385"]),
                              ("bench-admin", "admin", []), ("bench-citizen", "citizen", [])):
        subprocess.run([sys.executable, "-m", "geoportal.cli", "users", "add", name, "--role", role, *extra,
                        "--password-env", "BENCH_PW", "--config", str(CONFIG), "--workdir", str(workdir)],
                       cwd=ROOT, env=env, capture_output=True)
    port = free_port()
    proc = start_node(CONFIG, workdir, port, work / "serve.log")
    try:
        wait_for("127.0.0.1", port, "/", timeout=300, proc=proc)
        base = f"http://127.0.0.1:{port}"
        pairs = {"items": ((ITEMS, None), (ITEMS, "bench-oblast")),
                 "front": ((ITEMS, None), (ITEMS, "bench-citizen")),
                 "getmap": ((GETMAP, None), (GETMAP, "bench-oblast")),
                 "limited": ((REGISTER, "bench-admin"), (REGISTER, "bench-oblast"))}
        for name, ((pa, ua), (pb, ub)) in pairs.items():
            run(base, pa, ua, args.clients, 10)  # warm: the view's configs are generated on first use
            run(base, pb, ub, args.clients, 10)
            a, b = [], []
            for _ in range(args.repeat):
                a.append(run(base, pa, ua, args.clients, args.requests))
                b.append(run(base, pb, ub, args.clients, args.requests))
            ma, mb = statistics.median(a), statistics.median(b)
            print(f"{name:8s} {ua or 'anonymous':>12s} {ma:8.1f} req/s   {ub:>12s} {mb:8.1f} req/s   "
                  f"overhead {100 * (ma - mb) / ma:+5.1f} %", flush=True)
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
