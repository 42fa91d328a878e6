"""Benchmark: the node's search (/search?f=json, SQLite FTS5 over lemmatised text) against pycsw's own
full-text search (GetRecords with ``csw:AnyText like``) on the same catalog, in the same run. Not a test.

A catalog of M records (default 100,000: N generated bilingual ISO records loaded with the node's loader,
then repeated under new identifiers in SQL, as bench/harvest_bench.py does) is indexed by
``search.index``; the same queries — words of the titles, in other cases and forms ("громади",
"РІЧКА", "пам’ятки") — are asked of both over HTTP. Prints p50/p95 of each, the ratio, and the index
build time. Target (issue #13): p95 < 50 ms.

    .venv/bin/python bench/search_bench.py [--records 10000] [--catalog 100000] [--queries 200] [--pycsw-queries 30]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from socketserver import ThreadingMixIn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harvest_bench import log, make_records, node_workspace, percentile  # noqa: E402

# what people type: other cases, other forms, other apostrophes than the records have
QUERIES = ["громади", "ліси", "РІЧКА", "школи", "дорога", "земель", "озера", "парк", "полів", "межі",
           "громада", "заказники", "водойми", "пам’ятки", "болота", "сади", "ставки", "Річка та ліс"]
# pycsw's LIKE is a substring test: give it the stem, so it can find the same records at all
STEMS = {"громади": "громад", "ліси": "ліс", "РІЧКА": "річк", "школи": "школ", "дорога": "дорог",
         "земель": "зем", "озера": "озер", "парк": "парк", "полів": "пол", "межі": "меж", "громада": "громад",
         "заказники": "заказник", "водойми": "водойм", "пам’ятки": "пам'ятк", "болота": "болот", "сади": "сад",
         "ставки": "став", "Річка та ліс": "річка та ліс"}


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main() -> None:
    from catalog import pycsw
    from geoportal import serve
    from geoportal.config import load_config
    from geoportal.model import Workspace
    from search.index import build as build_index, index_path
    from search.web import SearchApp

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--catalog", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--pycsw-queries", type=int, default=30,
                    help="pycsw scans every record per query (seconds each at 100,000): fewer of the same queries")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/geoportal-bench-search"))
    a = ap.parse_args()
    cfg = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
    recs = a.dir / "records"
    log(f"generating {a.records} ISO records …")
    make_records(cfg, recs, a.records)
    port = serve.free_port()
    ws: Workspace = node_workspace(cfg, a.dir / "node", port)
    log("loading them into the catalog …")
    rep = pycsw.run_loader(pycsw.config_path(ws), [(p, "http://source.example.org") for p in sorted(recs.glob("*.xml"))])
    assert not rep["errors"], rep["errors"][:2]
    with sqlite3.connect(ws.catalog_db) as db:
        cols = [r[1] for r in db.execute("PRAGMA table_info(records)")]
        have = original = db.execute("SELECT count(*) FROM records").fetchone()[0]
        copy = ", ".join("identifier || '~' || ?" if c == "identifier" else c for c in cols)
        k = 1
        while have < a.catalog:
            db.execute(f"INSERT INTO records ({', '.join(cols)}) SELECT {copy} FROM records WHERE rowid <= ? LIMIT ?",
                       (str(k), original, a.catalog - have))
            have = db.execute("SELECT count(*) FROM records").fetchone()[0]
            k += 1
    log(f"indexing {have:,} records …")
    t = time.perf_counter()
    build_index(cfg, ws)
    index_secs = time.perf_counter() - t

    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped: still stop the catalog (finally)
    proc = serve.start_catalog(ws, port)
    server = make_server("127.0.0.1", 0, SearchApp(index_path(ws)), server_class=_Threaded, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rnd = random.Random(13)
        asked = [rnd.choice(QUERIES) for _ in range(a.queries)]
        ours = [f"http://127.0.0.1:{server.server_port}/?" + urllib.parse.urlencode({"q": q, "f": "json"})
                for q in asked]
        theirs = [f"http://127.0.0.1:{port}/?" + urllib.parse.urlencode({
            "service": "CSW", "version": "2.0.2", "request": "GetRecords", "typeNames": "csw:Record",
            "resultType": "results", "elementSetName": "brief", "maxRecords": 10,
            "constraintLanguage": "CQL_TEXT", "constraint_language_version": "1.1.0",
            "constraint": f"csw:AnyText like '%{STEMS[q]}%'"}) for q in asked]
        lat: dict[str, list[float]] = {}
        for name, urls in (("node search (/search?f=json)", ours), ("pycsw AnyText like", theirs[:a.pycsw_queries])):
            urllib.request.urlopen(urls[0], timeout=600).read()  # warm caches
            times = []
            for url in urls:
                t = time.perf_counter()
                urllib.request.urlopen(url, timeout=600).read()
                times.append(time.perf_counter() - t)
            lat[name] = times
        print(f"\nFull-text search on {have:,} records ({a.queries} queries, pycsw the first {a.pycsw_queries}; "
              f"index built in {index_secs:.1f} s, "
              f"{index_path(ws).stat().st_size / 1e6:.0f} MB)")
        for name, times in lat.items():
            print(f"  {name:<30} p50 {percentile(times, 50):8.1f} ms   p95 {percentile(times, 95):8.1f} ms")
        p95 = percentile(lat["node search (/search?f=json)"], 95)
        print(f"  ratio pycsw / node search (p95): {percentile(lat['pycsw AnyText like'], 95) / p95:.1f}x   "
              f"target p95 < 50 ms: {'met' if p95 < 50 else 'NOT met'}")
    finally:
        server.shutdown()
        serve.stop(proc)


if __name__ == "__main__":
    main()
