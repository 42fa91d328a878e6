"""Benchmark: the decision register with 100,000 decisions (issue #12). Not a timed test.

Measured in one run, on one generated register (polygons of ~1 km² over Zhytomyr oblast, 60 issuing hromadas,
statuses spread over the lifecycle):

- insert: every decision written through the register's repository (its JSON value, flat columns, geometry
  and the per-field history rows), 1,000 per transaction; and the per-action path (``Register.create``, one
  transaction + permission + checks each) for a sample;
- publish: the ``decisions`` layer the OGC API serves (decisions/register_layers.py);
- list / filter, ``limit=10``: the same three CQL2 questions — ``status='adopted'``, ``issuer='…'`` and
  S_INTERSECTS with a hromada-sized polygon — p50/p95 latency and CPU per request (the serving process and
  the PostgreSQL cluster, read from /proc: the figure the load of a shared machine hardly moves), to three
  collections of the very same rows, each in a process of its own (in-process WSGI, no HTTP), runs
  alternated, medians over ``--rounds``:

  * ours, as the node serves the register: the Part 4 front → the CQL2 front → pygeoapi → our GeoPackage
    provider on the published layer, asked ``filter=…&filter-lang=cql2-text``;
  * ours on PostGIS: the same fronts and our PostGIS provider on the PostGIS table below (how the node serves
    a PostGIS dataset; the register's published layer is a GeoPackage on every backend);
  * the peer, stock pygeoapi with nothing of ours in its process: its PostgreSQL provider (SQLAlchemy +
    pygeofilter) on the same layer loaded into PostGIS by ogr2ogr, with a GiST index and b-tree indexes on
    ``id``, ``status`` and ``issuer``, in a throwaway PostgreSQL cluster (or ``--dsn``). pygeoapi 0.21 reads
    no ``filter-lang=cql2-text`` on GET (it answers 400; its GET ``filter`` is ECQL, which has no
    S_INTERSECTS): it is sent the same CQL2 text encoded as CQL2-JSON, POSTed as
    ``application/query-cql-json`` — its own CQL2 entry, and what our CQL2 front hands to pygeoapi.

  Before timing, all three must answer each question with the same numberMatched and the same ids (every
  matched feature): a peer that answers differently is not a peer. Target: p95 < 50 ms;
- the node's Atom feed over the whole register, one decision's page (p95 over a sample);
- the computed justification of a hromada-sized polygon against the oblast's hromadas and nature-protection
  layers (ingested first; ``--no-justify`` skips it). Target: < 200 ms.

The load average is printed with every run (the machine is shared).

    .venv/bin/python bench/decisions_bench.py [--n 100000] [--requests 100] [--rounds 3] [--no-justify]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BBOX = (27.3, 49.7, 29.5, 51.5)
STATUSES = ["draft", "consultation", "agreement", "adopted", "implementation", "completed", "cancelled"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.array(xs) * 1000, p))


def issuers() -> list[str]:
    import pyogrio.raw

    _, _, _, fields = pyogrio.raw.read(ROOT / "data/boundaries/hromadas_30km_russia_belarus.shp", columns=["COD_3"])
    codes = sorted({c for c in fields[0] if str(c).startswith("UA18")})
    return codes[:60] or ["UA18060170000069581"]


def make_decisions(n: int, seed: int = 12) -> list:
    from decisions.model import Decision, Text

    rng = np.random.default_rng(seed)
    codes = issuers()
    xs, ys = rng.uniform(BBOX[0], BBOX[2], n), rng.uniform(BBOX[1], BBOX[3], n)
    st = rng.integers(0, len(STATUSES), n)
    iss = rng.integers(0, len(codes), n)
    out = []
    for i in range(n):
        x, y, dx = xs[i], ys[i], 0.015
        wkt = f"POLYGON (({x:.5f} {y:.5f}, {x+dx:.5f} {y:.5f}, {x+dx:.5f} {y+dx:.5f}, {x:.5f} {y+dx:.5f}, {x:.5f} {y:.5f}))"
        day = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z"
        out.append(Decision(id=f"D-2026-{i + 1:06d}", title=Text(f"Рішення {i + 1}", f"Decision {i + 1}"),
                            summary=Text("Зміна цільового призначення ділянки", ""), kind="land-use-change",
                            issuer=codes[iss[i]], geometry=wkt, geometry_source={"drawn": "wkt"},
                            status=STATUSES[st[i]], created_at=day, updated_at=day))
    return out


def bench_insert(decisions: list, root: Path) -> dict:
    from decisions.history import diff
    from decisions.model import Actor, Text
    from decisions.repo_gpkg import GpkgRepository
    from decisions.service import Register

    repo = GpkgRepository(root / "decisions.gpkg")
    who = Actor("bench", "official", decisions[0].issuer)
    t0 = time.perf_counter()
    for i in range(0, len(decisions), 1000):
        with repo.transaction() as tx:
            for d in decisions[i:i + 1000]:
                tx.put_decision(d, new=True)
                tx.log(diff("decision", None, d.to_dict(), who, "create", d.created_at, "bench"))
    bulk = time.perf_counter() - t0
    reg = Register(GpkgRepository(root / "actions.gpkg"))
    lat = []
    for k in range(200):
        t = time.perf_counter()
        reg.create(who, title=Text(f"Дія {k}"), summary=Text(""), kind="other", issuer=who.org,
                   geometry=decisions[k].geometry, now=datetime(2026, 5, 1, tzinfo=timezone.utc))
        lat.append(time.perf_counter() - t)
    return {"insert_per_s": len(decisions) / bulk, "insert_s": bulk, "create_p50_ms": pct(lat, 50),
            "create_p95_ms": pct(lat, 95)}


def bench_publish(decisions: list, root: Path) -> dict:
    from decisions.register_layers import write_decisions

    t0 = time.perf_counter()
    w = write_decisions(decisions, root / "register" / "decisions.gpkg", page_url=lambda i: f"http://n/decisions/{i}.html",
                        feed_url=lambda k: f"http://n/decisions/{k}.atom", names={}, today="2026-11-25")
    took = time.perf_counter() - t0
    return {"publish_layer_s": took, "path": str(w.path)}


def bench_outputs(decisions: list, root: Path) -> dict:
    from decisions.feeds import write_feeds
    from decisions.page import render

    t0 = time.perf_counter()
    write_feeds(decisions, root / "pages", node="bench", node_name="Bench", base_url="http://n", names={},
                built_at="2026-11-25T00:00:00Z")
    feed = time.perf_counter() - t0
    lat = []
    for d in decisions[:: max(1, len(decisions) // 200)]:
        t = time.perf_counter()
        render(d)
        lat.append(time.perf_counter() - t)
    return {"atom_feeds_s": feed, "page_p50_ms": pct(lat, 50), "page_p95_ms": pct(lat, 95)}


#: ours as the register is served (GeoPackage), ours on PostGIS, stock pygeoapi on PostGIS
SERIES = ("ours-gpkg", "ours-postgis", "stock-postgis")
OURS = ("geoportal", "publishers", "decisions", "ingest", "metadata", "catalog", "passport")
TABLE = "decisions"
QUERIES = {
    "status": "status='adopted'",
    "territory": "issuer='{issuer}'",
    "s_intersects": "S_INTERSECTS(geom,POLYGON((28.6 51.1,28.9 51.1,28.9 51.35,28.6 51.35,28.6 51.1)))",
}


def cluster_cpu_s(postmaster: int) -> float:
    """CPU seconds a local PostgreSQL cluster has used so far: its postmaster with the children it has reaped
    (ended connections, parallel workers) and its live processes (0 without a postmaster pid). With the
    serving process's own CPU time this is the cost of a request that the load of a shared machine hardly
    moves, unlike its latency."""
    if not postmaster:
        return 0.0
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            f = stat.read_text().rsplit(")", 1)[1].split()  # from field 3 (state) on
        except OSError:
            continue  # ended meanwhile
        if int(stat.parent.name) == postmaster:
            ticks += sum(int(x) for x in f[11:15])  # utime, stime, cutime, cstime
        elif int(f[1]) == postmaster:
            ticks += int(f[11]) + int(f[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def throwaway_postgis(dsn: str | None) -> Iterator[tuple[str, int]]:
    """A PostGIS database and its postmaster's pid: ``dsn`` when given (pid 0: its CPU is not counted), else a
    cluster of its own (initdb'd here, removed at the end)."""
    if dsn:
        yield dsn, 0
        return
    from geoportal.deploy.postgres import Cluster, ensure_database, init_primary, require_binaries
    from geoportal.serve import free_port

    require_binaries()
    base = Path(tempfile.mkdtemp(prefix="decisions-bench-pg-"))
    os.chmod(base, 0o755)  # the server runs as the postgres user when we are root
    c = Cluster("decisions-bench", base / "data", free_port(), base / "sock", base / "log")
    try:
        init_primary(c)
        c.start()
        ensure_database(c, "decisions_bench", postgis=True)
        yield c.dsn("decisions_bench"), c.pid() or 0
    finally:
        c.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


def load_postgis(gpkg: str, dsn: str) -> float:
    """The published layer, row for row, into PostGIS with ogr2ogr (GiST index on ``geom``), then the indexes
    a fair peer has for these questions; seconds taken."""
    import psycopg
    from psycopg import sql

    from ingest.store.postgis import libpq_keywords

    t0 = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", f"PG:{libpq_keywords(dsn)}", gpkg, TABLE, "-nln", TABLE,
                    "-overwrite", "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid", "-lco", "SPATIAL_INDEX=GIST"],
                   check=True, capture_output=True)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE UNIQUE INDEX ON {} (id)").format(sql.Identifier(TABLE)))
        for col in ("status", "issuer"):
            conn.execute(sql.SQL("CREATE INDEX ON {} ({})").format(sql.Identifier(TABLE), sql.Identifier(col)))
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(TABLE)))
    return time.perf_counter() - t0


def provider(series: str, gpkg: str, dsn: str) -> dict:
    """The pygeoapi provider block of one series (the collection is ``decisions`` in each)."""
    base = {"type": "feature", "id_field": "id"}
    if series == "ours-gpkg":
        return {**base, "name": "publishers.ogcapi.gpkg.GeoPackageProvider", "data": gpkg, "table": TABLE}
    if series == "ours-postgis":
        return {**base, "name": "publishers.ogcapi.postgis.PostGISProvider", "table": TABLE, "geom_field": "geom",
                "data": {"dsn": dsn, "search_path": ["public"]}}
    from psycopg.conninfo import conninfo_to_dict

    p = conninfo_to_dict(dsn)
    return {**base, "name": "PostgreSQL", "table": TABLE, "geom_field": "geom",
            "data": {"host": p.get("host", "127.0.0.1"), "port": int(p.get("port") or 5432), "dbname": p["dbname"],
                     "user": p.get("user", "postgres"), "search_path": ["public"],
                     **({"password": p["password"]} if p.get("password") else {})}}


def pygeoapi_config(root: Path, series: str, prov: dict, max_items: int) -> tuple[Path, Path]:
    """A pygeoapi config with one collection, ``decisions``, and its OpenAPI document."""
    import yaml
    from pygeoapi.openapi import generate_openapi_document

    cfg = {"server": {"bind": {"host": "127.0.0.1", "port": 5000}, "url": "http://127.0.0.1:5000/ogcapi",
                      "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8", "language": "en-US",
                      "limits": {"default_items": 10, "max_items": max_items}, "map": {"url": "", "attribution": ""}},
           "logging": {"level": "ERROR"},
           "metadata": {"identification": {"title": "bench", "description": "bench", "keywords": ["b"],
                                           "terms_of_service": "", "url": "http://x"},
                        "license": {"name": "CC-BY-4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
                        "provider": {"name": "b", "url": "http://x"},
                        "contact": {"name": "b"}},
           "resources": {TABLE: {"type": "collection", "title": "d", "description": "d", "keywords": ["d"],
                                 "extents": {"spatial": {"bbox": list(BBOX),
                                                         "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
                                 "links": [], "providers": [prov]}}}
    path = root / f"pygeoapi-{series}.yml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    oas = root / f"openapi-{series}.yml"
    oas.write_text(generate_openapi_document(path, "yaml"), encoding="utf-8")
    return path, oas


def serve_phase(args: argparse.Namespace) -> None:
    """(in a child process: pygeoapi reads its config at import) one series' answers, in-process, timed.

    The stock series imports pygeoapi and pygeofilter only: our fronts patch pygeoapi's output functions
    when they load, so the peer never shares a process with them."""
    from pygeofilter.backends.cql2_json import to_cql2
    from pygeofilter.parsers.cql2_text import parse
    from werkzeug.test import Client

    from pygeoapi.flask_app import APP

    stock = args.serve_phase.startswith("stock")
    if stock:
        client = Client(APP.wsgi_app)
    else:
        from decisions.api import DecisionWrites
        from publishers.ogcapi.cql2_front import Cql2Front

        client = Client(DecisionWrites(Cql2Front(APP.wsgi_app), Path(args.root)))
    path = f"/collections/{TABLE}/items"

    def ask(text: str, body: bytes, **params: str):  # type: ignore[no-untyped-def]
        if stock:  # CQL2 as stock pygeoapi reads it: the CQL2-JSON body of a POST
            return client.post(path, query_string={"f": "json", **params}, data=body,
                               content_type="application/query-cql-json")
        return client.get(path, query_string={"f": "json", "filter": text, "filter-lang": "cql2-text", **params})

    out: dict = {"queries": {}, "ids": {}}
    for name, template in QUERIES.items():
        text = template.replace("{issuer}", args.issuer)
        body = to_cql2(parse(text)).encode("utf-8")  # the client's work, not timed
        if args.verify:  # every matched feature (ids are unique: sorted here, the servers' orders differ)
            r = ask(text, body, limit=str(args.verify))
            assert r.status_code == 200, r.get_data()[:300]
            out["ids"][name] = sorted(str(f["id"]) for f in json.loads(r.get_data())["features"])
        ask(text, body, limit="10")  # warm-up
        lat, page = [], {}
        cpu0, db0 = time.process_time(), cluster_cpu_s(args.postmaster)
        for _ in range(args.requests):
            t = time.perf_counter()
            r = ask(text, body, limit="10")
            data = r.get_data()
            lat.append(time.perf_counter() - t)
            assert r.status_code == 200, data[:300]
            page = json.loads(data)
        cpu = (time.process_time() - cpu0 + cluster_cpu_s(args.postmaster) - db0) / args.requests * 1000
        out["queries"][name] = {"p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "cpu_ms": cpu,
                                "matched": page.get("numberMatched"), "returned": len(page.get("features", []))}
    if stock:
        ours = sorted(m for m in sys.modules if m.split(".")[0] in OURS)
        assert not ours, f"the stock pygeoapi process loaded our modules: {ours[:5]}"
        # the same GET as the node is sent: what stock pygeoapi 0.21 says to it
        r = client.get(path, query_string={"f": "json", "limit": "10", "filter": QUERIES["status"],
                                           "filter-lang": "cql2-text"})
        out["get_cql2_text"] = f"{r.status_code} {json.loads(r.get_data()).get('description', '')}"
    print(json.dumps(out))


def run_series(series: str, root: Path, cfg: Path, oas: Path, args: argparse.Namespace, issuer: str,
               verify: int, postmaster: int) -> dict:
    env = {**os.environ, "PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(oas)}
    out = subprocess.run([sys.executable, __file__, "--serve-phase", series, "--root", str(root), "--issuer", issuer,
                          "--requests", str(args.requests), "--verify", str(verify),
                          "--postmaster", str(postmaster)],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{series}: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_same_answers(first: dict[str, dict]) -> None:
    """Every series answers every question with the same numberMatched and ids, else the run stops."""
    ref = "ours-gpkg"
    for q in QUERIES:
        for s, got in first.items():
            a, b = first[ref], got
            if a["queries"][q]["matched"] != b["queries"][q]["matched"] or a["ids"][q] != b["ids"][q]:
                extra = sorted(set(b["ids"][q]) ^ set(a["ids"][q]))[:5]
                raise SystemExit(f"{q}: {s} answers numberMatched {b['queries'][q]['matched']} "
                                 f"({len(b['ids'][q])} ids), {ref} {a['queries'][q]['matched']} "
                                 f"({len(a['ids'][q])} ids); ids in one only: {extra} — not a peer, no timing")


def bench_queries(args: argparse.Namespace, root: Path, gpkg: str, dsn: str, postmaster: int, issuer: str) -> dict:
    configs = {s: pygeoapi_config(root, s, provider(s, gpkg, dsn), max(args.n, 1000)) for s in SERIES}
    runs: dict[str, list[dict]] = {s: [] for s in SERIES}
    loads = []
    order = list(SERIES)
    for k in range(args.rounds):
        for s in order if k % 2 == 0 else order[::-1]:  # alternated: a load that drifts hits each side alike
            loads.append(os.getloadavg()[0])
            log(f"  round {k + 1}/{args.rounds}: {s} (load average {loads[-1]:.1f})")
            runs[s].append(run_series(s, root, *configs[s], args, issuer, args.n if k == 0 else 0, postmaster))
        if k == 0:
            check_same_answers({s: r[0] for s, r in runs.items()})
    med = {s: {q: {m: statistics.median(r["queries"][q][m] for r in rs) for m in ("p50_ms", "p95_ms", "cpu_ms")}
               | {"matched": rs[0]["queries"][q]["matched"], "returned": rs[0]["queries"][q]["returned"],
                  "p95_runs": [round(r["queries"][q]["p95_ms"], 2) for r in rs]}
               for q in QUERIES} for s, rs in runs.items()}
    return {"medians": med, "rounds": args.rounds, "requests_each": args.requests,
            "load_average": [round(x, 1) for x in loads], "stock_get_cql2_text": runs["stock-postgis"][0]["get_cql2_text"]}


def print_queries(q: dict, n: int) -> None:
    la, m = q["load_average"], q["medians"]
    print(f"\nCQL2 list/filter, limit=10, {n:,} decisions: medians of {q['rounds']} alternated runs of "
          f"{q['requests_each']} requests each (load average {min(la):.1f}–{max(la):.1f} on {os.cpu_count()} cores);"
          "\nms: p50, p95 latency and CPU per request (the serving process + the PostgreSQL cluster)")
    heads = ["ours GeoPackage", "ours PostGIS", "stock pygeoapi PostGIS", "stock ÷ ours GPKG", "stock ÷ ours PG"]
    print(f"  {'':<13} {'':>8}" + "".join(f" | {h:^20}" for h in heads))
    print(f"  {'query':<13} {'matched':>8}" + f" | {'p50':>6} {'p95':>6} {'CPU':>6}" * len(heads))
    for name in QUERIES:
        g, pg, st = (m[x][name] for x in SERIES)
        cells = [(v["p50_ms"], v["p95_ms"], v["cpu_ms"]) for v in (g, pg, st)]
        cells += [tuple(x / y for x, y in zip(cells[2], c)) for c in cells[:2]]
        print(f"  {name:<13} {g['matched']:>8}" + "".join(" | " + " ".join(f"{x:6.1f}" for x in c) for c in cells))
    print(f"  same numberMatched and ids from all three for each query (checked); stock pygeoapi asked the same GET "
          f"with filter-lang=cql2-text answers: {q['stock_get_cql2_text']}")


def bench_justify(root: Path) -> dict:
    from decisions.justification import justify
    from geoportal.build import ingest_all
    from geoportal.config import load_config
    from geoportal.model import Workspace

    cfg = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
    ws = Workspace(root / "node").ensure()
    layers = ingest_all(cfg, ws, only=["hromadas", "nature-protection"])
    import pyogrio.raw
    import shapely

    _, _, wkb, _ = pyogrio.raw.read(ROOT / "data/boundaries/hromadas_30km_russia_belarus.shp", columns=["COD_3"],
                                    where="COD_3 LIKE 'UA18%'")
    polys = [shapely.to_wkt(g) for g in shapely.from_wkb(wkb)[:20]]
    lat = []
    for wkt in polys:
        t = time.perf_counter()
        justify(wkt, layers, None, [], labels={d.id: d.label for d in cfg.datasets}, at="2026-11-25T00:00:00Z")
        lat.append(time.perf_counter() - t)
    return {"justify_p50_ms": pct(lat, 50), "justify_p95_ms": pct(lat, 95), "hromada_polygons": len(polys)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=100, help="requests per query kind and series in a run")
    ap.add_argument("--rounds", type=int, default=3, help="alternated runs of the three series; medians reported")
    ap.add_argument("--dsn", help="an existing PostGIS database for the PostGIS table (default: a throwaway cluster)")
    ap.add_argument("--no-justify", action="store_true")
    ap.add_argument("--serve-phase", choices=list(SERIES), help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    ap.add_argument("--issuer", help=argparse.SUPPRESS)
    ap.add_argument("--verify", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--postmaster", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_phase:
        serve_phase(args)
        return
    root = Path(tempfile.mkdtemp(prefix="decisions-bench-"))
    try:
        log(f"generating {args.n} decisions in {root} (load average {os.getloadavg()[0]:.1f}) …")
        decisions = make_decisions(args.n)
        res: dict = {"n": args.n, "load_average_start": round(os.getloadavg()[0], 1)}
        log("insert …")
        res.update(bench_insert(decisions, root))
        log("publish the layer …")
        res.update(bench_publish(decisions, root))
        log("Atom feeds and pages …")
        res.update(bench_outputs(decisions, root))
        gpkg = res.pop("path")
        with throwaway_postgis(args.dsn) as (dsn, postmaster):
            log("the published layer into PostGIS (ogr2ogr, indexes) …")
            res["postgis_load_s"] = load_postgis(gpkg, dsn)
            log("list/filter: ours (GeoPackage, PostGIS) and stock pygeoapi (PostGIS) …")
            res["queries"] = bench_queries(args, root, gpkg, dsn, postmaster, decisions[0].issuer)
        if not args.no_justify:
            log("justification of hromada polygons …")
            res.update(bench_justify(root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    res["load_average_end"] = round(os.getloadavg()[0], 1)
    print(json.dumps(res, indent=1, ensure_ascii=False))
    print_queries(res["queries"], args.n)
    for s in ("ours-gpkg", "ours-postgis"):
        worst = max(v["p95_ms"] for v in res["queries"]["medians"][s].values())
        print(f"CQL2 list/filter p95, {s}, worst query: {worst:.1f} ms  (target < 50 ms)")
    if "justify_p95_ms" in res:
        print(f"justification of a hromada polygon p50 / p95: {res['justify_p50_ms']:.1f} / "
              f"{res['justify_p95_ms']:.1f} ms  (target < 200 ms)")


if __name__ == "__main__":
    main()
