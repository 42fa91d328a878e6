"""Benchmark: the production topology (``geoportal serve --production``: nginx → node gunicorn → pygeoapi /
MapServer FastCGI, PostGIS primary + streaming replica) on the sample node, with 1, 2 and 4 node workers
(reads on the replica) and with 2 workers and no replica (reads on the primary), under 8 and 64 concurrent
keep-alive clients. Not a timed test.

Requests: OGC API ``items?bbox=…&limit=50`` on the 1,587 geographic names, bboxes from a fixed seed; WMS
GetMap 256×256 of random tiles over hromadas + geographic names. Prints requests/s, p50 and p95 per
configuration and the scaling against 1 worker (issue #15: "show how it scales; p95 under load"). The
machine it runs on has few cores: the load generator shares them with the servers, which caps the scaling.

    .venv/bin/python bench/production_bench.py [--requests 400] [--workers 1,2,4] [--clients 8,64]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_bench import load, log, report  # noqa: E402 - the same load generator as the serve benchmark

BBOX = (27.2, 49.6, 29.6, 51.6)  # Zhytomyr oblast, lon/lat


def start(run_dir: Path, port: int, workers: int, replica: bool) -> subprocess.Popen:
    args = [sys.executable, "-m", "geoportal.cli", "serve", str(ROOT / "config" / "nodes" / "zhytomyr-oblast.yaml"),
            "--production", "--run-dir", str(run_dir), "--port", str(port), "--workers", str(workers),
            "--threads", "8", "--mapserv-workers", str(max(2, workers))]
    if not replica:
        args.append("--no-replica")
    state = run_dir / "state.json"
    state.unlink(missing_ok=True)
    logf = open(run_dir.parent / "production-bench.log", "ab")
    proc = subprocess.Popen(args, stdout=logf, stderr=logf, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the production node exited ({proc.returncode}); see {run_dir.parent}/production-bench.log")
        if state.exists() and "pids" in json.loads(state.read_text()):
            return proc
        time.sleep(0.5)
    raise SystemExit("the production node did not start in 600 s")


def stop(proc: subprocess.Popen) -> None:
    import os

    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    proc.wait(timeout=120)


def paths(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    items, maps = [], []
    for _ in range(n):
        w, h = rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.4)
        x, y = rng.uniform(BBOX[0], BBOX[2] - w), rng.uniform(BBOX[1], BBOX[3] - h)
        items.append(f"/ogcapi/collections/geographic-names/items?f=json&limit=50&bbox={x:.4f},{y:.4f},{x + w:.4f},"
                     f"{y + h:.4f}")
        maps.append("/ows?service=WMS&version=1.3.0&request=GetMap&layers=hromadas,geographic-names&styles=,"
                    f"&crs=EPSG:4326&bbox={y:.4f},{x:.4f},{y + h:.4f},{x + w:.4f}&width=256&height=256"
                    "&format=image/png")
    return items, maps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400, help="requests per kind, configuration and client count")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--clients", default="8,64")
    ap.add_argument("--run-dir", type=Path, default=None, help="kept between runs (default: a temporary folder)")
    a = ap.parse_args()
    from geoportal.serve import free_port

    base_dir = a.run_dir or Path(tempfile.mkdtemp(prefix="geoportal-prodbench-", dir="/tmp"))
    run_dir = base_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    configs = [(int(w), True) for w in a.workers.split(",")] + [(2, False)]
    clients = [int(c) for c in a.clients.split(",")]
    results: dict[tuple[str, int, bool, int], tuple[float, float]] = {}
    try:
        for workers, replica in configs:
            port = free_port()
            log(f"== {workers} worker(s), {'replica' if replica else 'primary only'}: starting")
            proc = start(run_dir, port, workers, replica)
            base = f"http://127.0.0.1:{port}"
            try:
                items, maps = paths(a.requests, seed=15)
                load(base, items[:20] + maps[:20], 4)  # warm the workers
                print(f"{workers} node worker(s), reads on the {'replica' if replica else 'primary'}:")
                for c in clients:
                    for kind, work in (("OGC API items", items), ("WMS GetMap", maps)):
                        secs, lat, errors = load(base, work, c)
                        rps = report(f"{kind}, {c} clients", secs, lat, errors)
                        import statistics

                        results[(kind, workers, replica, c)] = (rps, statistics.quantiles(lat, n=100)[94] * 1000)
            finally:
                stop(proc)
    finally:
        if a.run_dir is None:
            pg = run_dir / "pg"
            if pg.is_symlink():
                shutil.rmtree(pg.resolve(), ignore_errors=True)
            shutil.rmtree(base_dir, ignore_errors=True)
    print("\nscaling (requests/s against 1 worker with the replica; p95 in ms):")
    print(f"  {'':<16}" + "".join(f"{f'{w}w' + ('' if r else ' primary'):>22}" for w, r in configs))
    for kind in ("OGC API items", "WMS GetMap"):
        for c in clients:
            one = results.get((kind, 1, True, c), (0.0, 0.0))[0] or 1.0
            cells = "".join(f"{results[(kind, w, r, c)][0]:8.1f} ({results[(kind, w, r, c)][0] / one:3.1f}×) "
                            f"{results[(kind, w, r, c)][1]:5.0f}" for w, r in configs)
            print(f"  {kind[:9]:<9} {c:>3} cl {cells}")


if __name__ == "__main__":
    main()
