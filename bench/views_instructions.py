"""Benchmark: what access control costs per request, counted in instructions — a figure the load of a shared
machine does not move (``bench/views_bench.py`` measures the same pairs served over HTTP, in requests per
second and CPU time, which swing ±15 % between runs on a busy 2-core machine).

The sample node is built twice, as ``bench/views_bench.py`` builds it: with its ``access:`` section (users
``bench-oblast``, an official of the oblast, and ``bench-admin``), and with no ``access:`` section and every
dataset public. Each request is sent to the node's WSGI application in-process (the access front and
``geoportal.serve.NodeApp``, as ``geoportal serve`` runs them; no HTTP server, the same for both sides)
under ``valgrind --tool=callgrind``, which counts the instructions executed while the timed requests run
(collection is switched on only inside one ``functools.reduce`` call that makes them, after warm-up
requests). Pairs:

- ``bare-items``   ``/collections/nature-protection/items?limit=100`` with no access control vs the oblast
  official (Basic credentials);
- ``bare-limited`` ``/collections/nature-protection-register/items?limit=100`` with no access control (public)
  vs the official, whose rule limits the rows to the oblast's outline (and whose reads are audited);
- ``admin``        the same register, the admin (no limit) vs the official (the row limit alone).

Target (issue #11): overhead ≤ 5 %. Needs valgrind (Debian's ``valgrind``); takes a few minutes per
request kind (python under callgrind is ~50× slower).

What the count cannot see, and the served figures of ``bench/views_bench.py`` include: work in the kernel
(system calls), what comes once in a while rather than per request (a Basic credential checked again, a full
garbage collection: twenty requests reach neither), and how long an instruction takes — the access path
runs once per request between the large JSON and SQLite work, with cold caches, so its instructions cost
several times those of the hot loops around it (the access front: ~15 µs per request in a loop, ~130 µs
inside served requests, by in-process A/B of the whole request with and without it).

    .venv/bin/python bench/views_instructions.py [--requests 20] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import views_bench as vb  # noqa: E402 - the same nodes, users and requests as the HTTP benchmark

#: run in a child: build nothing, answer ``n`` requests in-process; the measured ones inside reduce()
CHILD = r"""
import base64, functools, os, sys
from pathlib import Path
from werkzeug.test import EnvironBuilder
from geoportal.model import Workspace
from geoportal.serve import NodeApp

workdir, config, user, path, warm, n = sys.argv[1:7]
ws = Workspace(Path(workdir))
app = NodeApp(ws, 9)
if config:
    from geoportal.access_front import wrap
    from geoportal.config import load_config
    app = wrap(app, load_config(Path(config)), ws.root, set())
headers = {}
if user:
    headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{os.environ['BENCH_PW']}".encode()).decode()
p, _, q = path.partition("?")

def call(acc, _):
    env = EnvironBuilder(path=p, query_string=q, headers=headers).get_environ()
    env["REMOTE_ADDR"] = "127.0.0.1"
    status = []
    body = app(env, lambda s, h, *x: status.append(s))
    b"".join(body)
    getattr(body, "close", lambda: None)()
    if not status[0].startswith("200"):
        raise SystemExit(f"{path} as {user or 'no access control'}: {status[0]}")
    return acc

for i in range(int(warm)):  # not counted: collection is on inside reduce() only
    call(0, i)
functools.reduce(call, range(int(n)), 0)
"""


def instructions(workdir: Path, config: Path | None, user: str | None, path: str, requests: int,
                 out: Path) -> int:
    """Instructions per request of ``path`` asked ``requests`` times of the node in ``workdir``."""
    cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=functools_reduce",
           f"--callgrind-out-file={out}", sys.executable, "-c", CHILD, str(workdir), str(config or ""),
           user or "", path, "8", str(requests)]
    env = {**os.environ, "BENCH_PW": vb.PASSWORD, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    counts = re.findall(r"Collected : (\d+)", r.stderr)
    if r.returncode != 0 or not counts:
        raise SystemExit(f"callgrind run of {path} failed:\n{r.stderr[-2000:]}")
    return int(counts[-1]) // requests


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=20, help="counted requests per kind")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")

    from geoportal.build import build
    from geoportal.config import load_config
    from geoportal.model import Workspace

    work = args.workdir or Path(tempfile.mkdtemp(prefix="views-instructions-"))
    work.mkdir(parents=True, exist_ok=True)
    cfg, bare_cfg = load_config(vb.CONFIG), load_config(vb.bare_config(work))
    node = Workspace.for_node(cfg, work / "zhytomyr-oblast")
    bare = Workspace.for_node(bare_cfg, work / "bare")
    vb.log("building the sample node with and without access control …")
    build(cfg, node, "http://127.0.0.1:9")
    build(bare_cfg, bare, "http://127.0.0.1:9")
    env = {**os.environ, "BENCH_PW": vb.PASSWORD}
    for name, role, extra in (("bench-oblast", "official", ["--org", "UA18000000000041385"]),
                              ("bench-admin", "admin", [])):
        subprocess.run([sys.executable, "-m", "geoportal.cli", "users", "add", name, "--role", role, *extra,
                        "--password-env", "BENCH_PW", "--config", str(vb.CONFIG), "--workdir", str(node.root)],
                       cwd=ROOT, env=env, capture_output=True, check=True)
    runs = {"bare-items": ((bare.root, None, None, vb.ITEMS), (node.root, vb.CONFIG, "bench-oblast", vb.ITEMS)),
            "bare-limited": ((bare.root, None, None, vb.REGISTER),
                             (node.root, vb.CONFIG, "bench-oblast", vb.REGISTER)),
            "admin": ((node.root, vb.CONFIG, "bench-admin", vb.REGISTER),
                      (node.root, vb.CONFIG, "bench-oblast", vb.REGISTER))}
    kinds = sorted({side for pair in runs.values() for side in pair}, key=str)
    vb.log(f"counting {len(kinds)} request kinds under callgrind (a few minutes each) …")

    def count(side: tuple) -> tuple[tuple, int]:
        root, config, user, path = side
        out = work / f"callgrind.{abs(hash(side))}"
        return side, instructions(root, config, user, path, args.requests, out)

    with ThreadPoolExecutor(max_workers=2) as pool:
        per = dict(pool.map(count, kinds))
    print("pair          side a            instructions/request   side b            instructions/request   "
          "overhead")
    for name, (a, b) in runs.items():
        ia, ib = per[a], per[b]
        over = 100 * (ib - ia) / ia
        verdict = ("   target ≤ 5 %: " + ("met" if over <= 5 else "NOT met")) if name.startswith("bare") else ""
        print(f"{name:13s} {a[2] or 'no access':>14s} {ia:>14,d}        {b[2]:>14s} {ib:>14,d}        "
              f"{over:+5.1f} %{verdict}", flush=True)


if __name__ == "__main__":
    main()
