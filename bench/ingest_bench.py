"""Benchmark: our ingest (validate, repair, normalise, store atomically) against a plain ``ogr2ogr``
conversion of the same file, in the same run. Not a timed test.

Generates (once, cached in --dir) a polygon layer and a point layer of N features (default 1,000,000) as
Shapefile and GeoJSON with pyogrio, then for each file: ogr2ogr → GPKG, ours → GPKG, ogr2ogr → PostGIS,
ours → PostGIS (when --dsn is given). Each run is a child process; for each it prints wall time, peak
memory (max RSS of the child, from ``/usr/bin/time``), the child's CPU seconds (user + system) and, for
PostGIS on this machine, the CPU seconds of the server's processes during the run (a PostGIS load's work is
split between the client and its server backend: ogr2ogr leaves more of it to the server). On a shared
machine, use ``--repeat N``: ogr2ogr and ours then alternate N times, medians are printed with the spread
and the load average, so a burst of load from other processes does not decide the ratio; CPU seconds move
far less with the load than wall time. First it prints the floor: the peak memory of a child that only
imports the ingest (per store) and of ``ogr2ogr --formats`` (``--floor-detail``: what each import adds,
anonymous and file-backed, and the libraries holding the most).

    .venv/bin/python bench/ingest_bench.py --n 1000000 --dsn postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
PY = sys.executable


def generate(kind: str, n: int, out: Path, driver: str) -> None:
    import pyogrio
    import shapely

    if out.exists():
        return
    rng = np.random.default_rng(1)
    chunk = 250_000
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        x, y = rng.uniform(27.2, 29.6, m), rng.uniform(49.6, 51.6, m)
        if kind == "polygon":
            geoms = shapely.buffer(shapely.points(x, y), 0.002, quad_segs=2)
            bad = rng.random(m) < 0.001  # a few bow-ties to repair
            bow = shapely.polygons(np.stack([np.column_stack([x, y]), np.column_stack([x + .002, y + .002]),
                                             np.column_stack([x + .002, y]), np.column_stack([x, y + .002]),
                                             np.column_stack([x, y])], axis=1))
            geoms[bad] = bow[bad]
        else:
            geoms = shapely.points(x, y)
        ids = np.arange(start, start + m)
        names = np.array([f"Об'єкт {i}" if i % 97 else f"Овpуцькa {i}" for i in ids], dtype=object)
        pyogrio.raw.write(out, shapely.to_wkb(geoms), field_data=[ids, names, rng.uniform(0, 100, m)],
                          fields=["id", "nazva", "area"], geometry_type="Polygon" if kind == "polygon" else "Point",
                          crs="EPSG:4326", driver=driver, encoding="UTF-8", append=start > 0)


class ServerCPU:
    """CPU seconds used by a local PostgreSQL server's processes: the postmaster's own and its reaped
    children's (the backends of finished connections), plus its live children's. Zero when the server is
    not on this machine or its processes cannot be read."""

    def __init__(self, dsn: str | None):
        self.pid = None
        if dsn:
            try:
                import psycopg

                with psycopg.connect(dsn, connect_timeout=5) as conn:
                    backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
                    self.pid = int(self._stat(backend)[1])  # its parent, the postmaster
            except Exception:
                self.pid = None

    @staticmethod
    def _stat(pid: int | str) -> list[str]:
        text = Path(f"/proc/{pid}/stat").read_text()
        return text[text.rfind(")") + 2:].split()

    def seconds(self) -> float:
        if self.pid is None:
            return 0.0
        ticks = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                f = self._stat(entry)
            except OSError:
                continue
            if int(entry) == self.pid:
                ticks += sum(int(x) for x in f[11:15])  # utime stime cutime cstime
            elif int(f[1]) == self.pid:
                ticks += int(f[11]) + int(f[12])
        return ticks / os.sysconf("SC_CLK_TCK")


def run(cmd: list[str], env: dict[str, str] | None = None, server: ServerCPU | None = None) -> tuple:
    """(wall seconds, peak RSS MB, child CPU seconds, server CPU seconds) of a child process."""
    # /usr/bin/time measures the exec'd program only (a forked child's maxrss would include the parent's)
    mem = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-maxrss-{os.getpid()}"
    s0 = server.seconds() if server else 0.0
    t = time.perf_counter()
    # run in this checkout: `python -c` puts the working folder first on sys.path, so a bench of another
    # checkout (an earlier commit's, for a before/after) started from here would load this one's ingest
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", str(mem), *cmd], env=env, cwd=HERE.parent,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    if server:
        time.sleep(0.2)  # the backend's exit is reaped by the postmaster
    s1 = server.seconds() if server else 0.0
    if p.returncode != 0:
        err = p.stderr.decode(errors="replace").strip().splitlines()[-1:]
        print(f"# FAILED: {' '.join(cmd[:3])}…: {err}", flush=True)
        return wall, float("nan"), float("nan"), float("nan")
    kb, user, system = mem.read_text().split()[-3:]
    return wall, int(kb) / 1024, float(user) + float(system), s1 - s0


def paired(ogr_cmd: list[str], ours_cmd: list[str], repeat: int, env: dict[str, str], before: Any = None,
           server: ServerCPU | None = None) -> tuple:
    """ogr2ogr and ours run alternately ``repeat`` times; for each the median wall, the largest peak
    memory, the median client and server CPU seconds."""
    ogr, ours, loads = [], [], [os.getloadavg()[0]]
    for _ in range(repeat):
        if before:
            before()
        ogr.append(run(ogr_cmd, server=server))
        if before:
            before()
        ours.append(run(ours_cmd, env=env, server=server))
        loads.append(os.getloadavg()[0])

    def med(runs: list[tuple]) -> tuple:
        return (statistics.median(r[0] for r in runs), max(r[1] for r in runs),
                statistics.median(r[2] for r in runs), statistics.median(r[3] for r in runs))

    if repeat > 1:
        walls = lambda runs: " ".join(f"{r[0]:.1f}" for r in runs)  # noqa: E731
        load_text = " ".join(f"{v:.1f}" for v in loads)
        print(f"#   ogr2ogr {walls(ogr)} s | ours {walls(ours)} s | load {load_text}", flush=True)
    return med(ogr), med(ours), (min(loads), max(loads))


# A child that imports the ingest path step by step, the order a load does, and prints after each step the
# resident memory it has reached (anonymous: the process's own; file: pages of the libraries it mapped), then
# the libraries that hold the most file-backed memory.
_FLOOR_STEPS = '''
import sys
def status():
    keys = ("VmRSS", "RssAnon", "RssFile")
    return {l.split(":")[0]: int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith(keys)}
before = status()
for step in sys.argv[1:]:
    for module in step.split("+"):
        __import__(module)
    now = status()
    print(f"#   {step:34s} {now['VmRSS']:6.1f} MB (+{now['VmRSS'] - before['VmRSS']:5.1f}; "
          f"anonymous {now['RssAnon']:5.1f}, file {now['RssFile']:5.1f})")
    before = now
libs = {}
name = None
for line in open("/proc/self/smaps"):
    head = line.split()
    if "-" in head[0] and len(head) >= 5:
        name = head[5].rsplit("/", 1)[-1] if len(head) > 5 else None
    elif head[0] == "Rss:" and name and ".so" in name:
        libs[name] = libs.get(name, 0) + int(head[1]) / 1024
top = sorted(libs.items(), key=lambda kv: -kv[1])[:8]
print("#   libraries: " + ", ".join(f"{n.split('.so')[0]} {mb:.1f}" for n, mb in top))
'''


def floor(env: dict[str, str], targets: list[str], detail: bool = False) -> None:
    """The peak memory of the imports alone, per store, and of ogr2ogr doing nothing; with ``detail``, what
    each import adds."""
    for store in targets:
        module = {"gpkg": "gpkg", "postgis": "postgis"}[store]
        code = f"from ingest import ingest_file; import ingest.store.{module}"
        wall, mb, cpu, _ = run([PY, "-c", code], env=env)
        print(f"# floor: imports for {store}: {mb:.0f} MB, {cpu:.2f} s CPU", flush=True)
        if detail:
            steps = ["numpy", "shapely", "ingest.streaming+pyarrow.compute", "ingest.ogrio", "ingest.pipeline",
                     f"ingest.store.{module}"]
            p = subprocess.run([PY, "-c", _FLOOR_STEPS, *steps], env=env, cwd=HERE.parent, capture_output=True,
                               text=True)
            print(p.stdout.rstrip() or f"#   (failed: {p.stderr.strip()[-200:]})", flush=True)
    wall, mb, cpu, _ = run(["ogr2ogr", "--formats"])
    print(f"# floor: ogr2ogr --formats: {mb:.0f} MB, {cpu:.2f} s CPU", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/geoportal-bench"))
    ap.add_argument("--dsn", default=None, help="postgresql:// DSN of a scratch database (PostGIS runs)")
    ap.add_argument("--kinds", default="polygon,point")
    ap.add_argument("--formats", default="shp,geojson")
    ap.add_argument("--targets", default="gpkg,postgis")
    ap.add_argument("--repeat", type=int, default=1, help="alternate ogr2ogr and ours N times, print medians")
    ap.add_argument("--floor-detail", action="store_true",
                    help="print what each import of the ingest path adds to the floor, and the largest libraries")
    a = ap.parse_args()
    a.dir = a.dir.resolve()
    a.dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    targets = [t for t in ("gpkg", "postgis") if t in a.targets and (t == "gpkg" or a.dsn)]
    floor(env, targets, a.floor_detail)
    server = ServerCPU(a.dsn) if a.dsn else None
    rows = []
    for kind in a.kinds.split(","):
        for fmt in a.formats.split(","):
            src = a.dir / f"{kind}_{a.n}.{fmt}"
            t = time.perf_counter()
            generate(kind, a.n, src, "ESRI Shapefile" if fmt == "shp" else "GeoJSON")
            print(f"# {src.name} ready ({time.perf_counter() - t:.1f} s)", flush=True)
            out_ogr, out_ours = a.dir / "ogr.gpkg", a.dir / "ours.gpkg"

            def clear() -> None:
                for f in (out_ogr, out_ours):
                    f.unlink(missing_ok=True)

            ours_cmd = [PY, "-c", "import sys; from ingest import ingest_file; "
                        "ingest_file(sys.argv[1], sys.argv[2], sys.argv[3], force=True)", str(src)]
            if "gpkg" in targets:
                ogr, ours, load = paired(["ogr2ogr", "-f", "GPKG", str(out_ogr), str(src), "-nln", "layer"],
                                         [*ours_cmd, str(out_ours), "layer"], a.repeat, env, clear)
                rows.append((src.name, "GPKG", ogr, ours, load))
                print(_line(rows[-1]), flush=True)
            if "postgis" in targets:
                ogr, ours, load = paired(["ogr2ogr", "-f", "PostgreSQL", f"PG:{_pg(a.dsn)}", str(src), "-nln",
                                          "bench_ogr", "-overwrite", "-lco", "GEOMETRY_NAME=geom"],
                                         [*ours_cmd, str(a.dsn), "bench_ours"], a.repeat, env, server=server)
                rows.append((src.name, "PostGIS", ogr, ours, load))
                print(_line(rows[-1]), flush=True)
    print("\nfile                     target  | ogr2ogr s    MB  cpu+server | ours s    MB  cpu+server |"
          " wall ratio  cpu ratio | load")
    for r in rows:
        print(_line(r))


def _pg(dsn: str) -> str:
    from urllib.parse import urlparse
    u = urlparse(dsn)
    return f"host={u.hostname} port={u.port or 5432} dbname={u.path.lstrip('/')} user={u.username or 'postgres'}"


def _line(r: tuple) -> str:  # type: ignore[type-arg]
    name, target, (ow, om, oc, os_), (uw, um, uc, us), (lo, hi) = r
    return (f"{name:24s} {target:7s} | {ow:7.1f} {om:5.0f} {oc:5.1f}+{os_:4.1f} | {uw:6.1f} {um:5.0f} "
            f"{uc:5.1f}+{us:4.1f} | {uw / ow:10.2f} {(uc + us) / (oc + os_):10.2f} | {lo:.1f}–{hi:.1f}")


if __name__ == "__main__":
    main()
