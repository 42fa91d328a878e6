"""Benchmark: what access control costs, in the same run — against the same node served WITHOUT access control,
and an allowed caller against an anonymous one.

The sample node (config/nodes/zhytomyr-oblast.yaml, with its ``access:`` section) is built and served by
``geoportal serve``; users ``bench-oblast`` (an official of the oblast), ``bench-admin`` and ``bench-citizen``
are added. A second node is the same config with no ``access:`` section and every dataset public, served with
no access front at all (``geoportal.serve.run`` without a config: the node as it was before access control).
Pairs compared, each the same request on the same data:

- ``bare-items``  OGC API ``/collections/nature-protection/items?limit=100``: the node without access control
  vs the official of the oblast (Basic credentials, the view's own pygeoapi behind the access front);
- ``bare-limited`` ``/collections/nature-protection-register/items``: without access control (public, no
  rule) vs the official, whose rule limits the rows to the oblast's outline (``S_INTERSECTS`` on every query);
- ``bare-getmap`` WMS GetMap 256×256 of ``nature-protection``: without access control vs the official;
- ``items``, ``getmap``: anonymous vs the official on the access-controlled node;
- ``front``   the same items as a citizen, whose view equals the anonymous one (the static pygeoapi): what
  the access front alone costs (Basic credentials checked, the caller resolved, the answer made private);
- ``limited`` the register as the official (row filter) vs an admin (no limit).

``--clients`` threads send ``--requests`` requests each; the runs of a pair alternate ``--repeat`` times (a b,
b a, a b, … so that a drift of the machine's load falls on both sides) and are compared by the CPU time the
serving process tree used per request (read from /proc for the node and its children: the load generator
and other programs are not counted) and by requests/s. Printed per pair: the medians of both sides, every
run's CPU ratio b/a, and their median — the overhead figure (a ratio of two runs made seconds apart moves
less with a shared machine's load than either run does) — with the load average seen during the pair. Each
side is warmed first with several rounds of fresh connections, so that every worker has answered the
request (and checked the Basic credentials, whose argon2 check is once per worker and hour) before the
timed runs. With ``--interleave`` each client thread sends its requests to both nodes in turn instead (half
of them starting with each), so that both answer under the same load at the same moments and their CPU per
request is compared over one interval: on a machine shared with other work the run ratios then scatter
far less than those of separate runs (no requests/s in this mode). Target (issue #11): overhead ≤ 5 %
against the node without access control (the ``bare-*`` rows).

    .venv/bin/python bench/views_bench.py [--requests 150] [--clients 4] [--repeat 7] [--interleave]
        [--only bare-items,bare-limited] [--workdir DIR]
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


BARE = """
import sys
from pathlib import Path
from geoportal import serve
from geoportal.build import build
from geoportal.config import load_config
from geoportal.model import Workspace

cfg = load_config(Path(sys.argv[1]))
ws = Workspace.for_node(cfg, Path(sys.argv[2]))
port = int(sys.argv[3])
build(cfg, ws, f"http://127.0.0.1:{port}")
serve.run(ws, "127.0.0.1", port, cfg=None)  # no access front: what a node served before access control
"""


def bare_config(work: Path) -> Path:
    """The sample config with no ``access:`` section and every dataset public."""
    import yaml

    from geoportal.config import absolutize

    raw = absolutize(yaml.safe_load(CONFIG.read_text(encoding="utf-8")), CONFIG.parent)
    raw.pop("access", None)
    for ds in raw["datasets"]:
        ds["access"] = "public"
    out = work / "bare.yaml"
    out.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by process ``root`` and its descendants, counting children
    that have exited and were waited for (MapServer CGI runs, gunicorn workers replaced). Unlike requests per
    second, this does not move with the load of a machine shared with other work."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(d.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))  # ppid; utime..cstime
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0))[1]
        todo.extend(c for c, (ppid, _) in stats.items() if ppid == pid)
    return total / tick


def _auth(user: str | None) -> dict[str, str]:
    """The request headers of ``user`` (Basic credentials); none for anonymous."""
    if not user:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()}


def _get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str], errors: list[str]) -> None:
    """One GET on a kept-alive connection, its answer read whole; anything but 200 noted in ``errors``."""
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        errors.append(f"{r.status} {path}")


def _drive(threads: list[threading.Thread], errors: list[str]) -> None:
    """Start the client threads, wait for them all, and stop the benchmark if any request failed."""
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, e.g. {errors[0]}")


def run(base: str, path: str, user: str | None, clients: int, requests: int,
        server: int | None = None) -> tuple[float, float]:
    """(requests per second, the server's CPU milliseconds per request) of ``clients`` threads each sending
    ``requests`` GETs of ``path``; ``server``: the pid of the node's process tree."""
    u = urlsplit(base)
    headers = _auth(user)
    errors: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        for _ in range(requests):
            _get(conn, path, headers, errors)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    cpu = tree_cpu(server) if server else 0.0
    t = time.perf_counter()
    _drive(threads, errors)
    n = clients * requests
    used = (tree_cpu(server) - cpu) if server else 0.0
    return n / (time.perf_counter() - t), 1000 * used / n


def run_interleaved(a: tuple[str, str, str | None], b: tuple[str, str, str | None], clients: int,
                    requests: int, pids: dict[str, int]) -> tuple[float, float]:
    """(CPU ms per request of side a, of side b) when every client thread sends its requests to both sides in
    turn (half the threads a first, half b first): both nodes then answer under the same load of the
    machine at the same moments, and their CPU per request is compared over one interval."""
    errors: list[str] = []

    def client(first: int) -> None:
        sides = (a, b) if first == 0 else (b, a)
        conns = [http.client.HTTPConnection(urlsplit(base).hostname, urlsplit(base).port, timeout=120)
                 for base, _, _ in sides]
        for _ in range(requests):
            for conn, (_, path, user) in zip(conns, sides):
                _get(conn, path, _auth(user), errors)
        for conn in conns:
            conn.close()

    threads = [threading.Thread(target=client, args=(i % 2,)) for i in range(clients)]
    cpu = {base: tree_cpu(pids[base]) for base in {a[0], b[0]}}
    _drive(threads, errors)
    used = {base: tree_cpu(pids[base]) - cpu[base] for base in cpu}
    n = clients * requests
    if a[0] == b[0]:  # one node answers both sides: no separate figures
        return 1000 * used[a[0]] / (2 * n), 1000 * used[a[0]] / (2 * n)
    return 1000 * used[a[0]] / n, 1000 * used[b[0]] / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=150, help="requests per client and run")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=7, help="alternated runs per side of a pair")
    ap.add_argument("--only", default="", help="comma-separated pairs to run (default: all)")
    ap.add_argument("--interleave", action="store_true",
                    help="each client sends to both sides in turn (the bare-* pairs): CPU per request of both "
                         "nodes measured over the same moments; no requests/s")
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
    port, bare_port = free_port(), free_port()
    proc = start_node(CONFIG, workdir, port, work / "serve.log")
    with open(work / "bare.log", "wb") as fh:
        bare = subprocess.Popen([sys.executable, "-c", BARE, str(bare_config(work)), str(work / "bare"),
                                 str(bare_port)], cwd=ROOT, stdout=fh, stderr=fh, start_new_session=True)
    try:
        wait_for("127.0.0.1", port, "/", timeout=300, proc=proc)
        wait_for("127.0.0.1", bare_port, "/", timeout=300, proc=bare)
        node, plain = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
        pairs = {"bare-items": ((plain, ITEMS, None), (node, ITEMS, "bench-oblast")),
                 "bare-limited": ((plain, REGISTER, None), (node, REGISTER, "bench-oblast")),
                 "bare-getmap": ((plain, GETMAP, None), (node, GETMAP, "bench-oblast")),
                 "items": ((node, ITEMS, None), (node, ITEMS, "bench-oblast")),
                 "front": ((node, ITEMS, None), (node, ITEMS, "bench-citizen")),
                 "getmap": ((node, GETMAP, None), (node, GETMAP, "bench-oblast")),
                 "limited": ((node, REGISTER, "bench-admin"), (node, REGISTER, "bench-oblast"))}
        pids = {node: proc.pid, plain: bare.pid}
        print("pair         side a        req/s  CPU ms/req   side b        req/s  CPU ms/req   overhead "
              "(throughput; CPU per request: ratio of medians, median of run ratios)   load", flush=True)
        only = {p for p in args.only.split(",") if p}
        for name, ((ba, pa, ua), (bb, pb, ub)) in pairs.items():
            if only and name not in only:
                continue
            for _ in range(3):  # warm: the view's configs are made on first use, each worker checks the login
                run(ba, pa, ua, 2 * args.clients, 5)
                run(bb, pb, ub, 2 * args.clients, 5)
            a, b, loads = [], [], []
            for i in range(args.repeat):
                if args.interleave and ba != bb:
                    ca_, cb_ = run_interleaved((ba, pa, ua), (bb, pb, ub), args.clients, args.requests, pids)
                    a.append((float("nan"), ca_))
                    b.append((float("nan"), cb_))
                    loads.append(os.getloadavg()[0])
                    continue
                for side in ("ab" if i % 2 == 0 else "ba"):
                    base, path, user, out = (ba, pa, ua, a) if side == "a" else (bb, pb, ub, b)
                    out.append(run(base, path, user, args.clients, args.requests, pids[base]))
                    loads.append(os.getloadavg()[0])
            ma, mb = statistics.median(x for x, _ in a), statistics.median(x for x, _ in b)
            ca, cb = statistics.median(c for _, c in a), statistics.median(c for _, c in b)
            runs = [100 * (y / x - 1) for (_, x), (_, y) in zip(a, b)]
            paired = statistics.median(runs)
            who_a = "no access" if ba == plain else (ua or "anonymous")
            verdict = ("   target ≤ 5 %: " + ("met" if paired <= 5 else "NOT met")) if name.startswith("bare") else ""
            print(f"{name:12s} {who_a:>10s} {ma:8.1f} {ca:8.2f}   {ub:>12s} {mb:8.1f} {cb:8.2f}   "
                  f"{100 * (ma - mb) / ma:+5.1f} % / {100 * (cb - ca) / ca:+5.1f} %, {paired:+5.1f} %   "
                  f"{min(loads):.1f}–{max(loads):.1f}{verdict}", flush=True)
            print(f"{'':12s} CPU b/a of each alternated run: " + " ".join(f"{r:+.1f}" for r in runs), flush=True)
    finally:
        stop(proc)
        stop(bare)


if __name__ == "__main__":
    main()
