"""Benchmark: harvesting between two catalogs, and full-text search on a large catalog. Not a timed test.

1. A source node's catalog gets N generated ISO 19139 records (default 10,000, bilingual, valid); an empty
   target harvests it with ``catalog.federation`` (ours), and another empty target harvests it with pycsw's
   own CSW-T Harvest operation (the peer), in the same run: records/s of each and the ratio.
2. A catalog of M records (default 100,000: the harvested ones repeated under new identifiers in SQL) answers
   GetRecords with a full-text constraint on a word of the titles: p50/p95 latency through the node's front
   (/csw) and straight from pycsw, and the ratio.

Targets: ≥ 1,000 records/s harvested (issue #5) and ≥ 15× pycsw's own Harvest (issue #15); p95 < 100 ms.
The full-text constraint is ``csw:AnyText like '%word%'`` (what pycsw 2.6 itself accepts), and every answer
is checked to have hits, so the latency is that of answered queries, not of error reports.

``--repeat K`` alternates the two harvests K times and prints the medians, with the CPU seconds of each
side (ours: the harvesting process and its loader; the peer: its catalog's processes; both: the source's
catalog processes) and the load average before each run — on a shared machine the CPU seconds move far
less than the wall time. pycsw's Harvest takes 10–20 minutes for 10,000 records; ``--peer-records N``
gives it a source of the first N records only (its rate per record is then what is compared: it was
15.9 records/s at 10,000 and 16.6–22 at 1,000, load 5–6).

    .venv/bin/python bench/harvest_bench.py [--records 10000] [--catalog 100000] [--queries 200] [--harvest-only]
                                            [--repeat 3] [--peer-records 2000]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# the source catalog serves both harvests the same way: without worker recycling (catalog/pycsw.py), as
# the peer asks once per record and every restart would count against it
os.environ.setdefault("GEOPORTAL_CATALOG_MAX_REQUESTS", "0")
WORDS = ["ліс", "річка", "школа", "дорога", "земля", "озеро", "парк", "поле", "межа", "громада", "заказник",
         "водойма", "пам'ятка", "болото", "сад", "ставок"]
PLAIN_WORDS = [w for w in WORDS if "'" not in w]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_records(cfg, out: Path, n: int) -> None:  # type: ignore[no-untyped-def]
    """N valid, bilingual ISO records: one made with pygeometa, then varied (id, titles, bbox) with lxml."""
    from lxml import etree

    from geoportal.config import Dataset
    from geoportal.model import Endpoints, FieldInfo, StoredLayer
    from ingest.store.gpkg import GpkgTable
    from metadata.records import NS, dataset_record

    out.mkdir(parents=True, exist_ok=True)
    if len(list(out.glob("*.xml"))) == n:
        return
    for old in out.glob("*.xml"):
        old.unlink()
    ds = Dataset.model_validate({
        "id": "template", "source": str(ROOT / "data/boundaries/UA_18_Zhytomyrska.geojson"),
        "title": {"uk": "TITLE_UK", "en": "TITLE_EN"}, "abstract": {"uk": "ABSTRACT_UK", "en": "ABSTRACT_EN"}})
    layer = StoredLayer(dataset_id="template", location=GpkgTable("/x.gpkg", "t"), geometry_type="Point",
                        feature_count=1, bbox=(27.0, 50.0, 27.1, 50.1), crs="EPSG:4326",
                        fields=(FieldInfo("name", "string"),), checksum="0" * 64, version=1,
                        loaded_at="2026-11-24T10:00:00+00:00")
    template = dataset_record(cfg, ds, layer, Endpoints("http://source.example.org")).decode("utf-8")
    rnd = random.Random(5)
    gco = "{%s}" % NS["gco"]
    for i in range(n):
        w = rnd.sample(WORDS, 3)
        x, y = rnd.uniform(27.2, 29.5), rnd.uniform(49.6, 51.5)
        text = (template.replace("TITLE_UK", f"{w[0].capitalize()} та {w[1]} №{i}").replace("TITLE_EN", f"Dataset {i}")
                .replace("ABSTRACT_UK", f"Набір даних про {w[2]} ({i})").replace("ABSTRACT_EN", f"About {w[2]}"))
        root = etree.fromstring(text.encode("utf-8"))
        root.find("gmd:fileIdentifier/gco:CharacterString", NS).text = f"bench.record.{i:06d}"
        box = root.find(".//gmd:EX_GeographicBoundingBox", NS)
        for tag, v in (("westBoundLongitude", x), ("eastBoundLongitude", x + 0.1), ("southBoundLatitude", y),
                       ("northBoundLatitude", y + 0.1)):
            box.find(f"gmd:{tag}/{gco}Decimal", NS).text = f"{v:.5f}"
        (out / f"{i:06d}.xml").write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def node_workspace(cfg, root: Path, port: int):  # type: ignore[no-untyped-def]
    """An empty node catalog (pycsw.cfg + repository) in ``root``."""
    from catalog import pycsw
    from geoportal.model import Endpoints, Workspace

    if root.exists():
        shutil.rmtree(root)
    ws = Workspace(root).ensure()
    pycsw.load(cfg, ws, Endpoints(f"http://127.0.0.1:{port}"))
    return ws


def matched(body: bytes) -> int:
    """numberOfRecordsMatched of a GetRecords answer (an exception report fails loudly)."""
    from lxml import etree

    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    res = root.find("{http://www.opengis.net/cat/csw/2.0.2}SearchResults")
    if res is None:
        raise AssertionError(f"GetRecords was not answered: {body[:300]!r}")
    return int(res.get("numberOfRecordsMatched", "0"))


def percentile(lat: list[float], q: int) -> float:
    return statistics.quantiles(lat, n=100)[q - 1] * 1000


def cpu_seconds(pid: int) -> float:
    """User + system seconds of a process and its children that are alive now (gunicorn and its workers)."""
    total = 0.0
    for p in [pid, *(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def own_cpu() -> float:
    """User + system seconds of this process and of its finished children (the loader runs)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def identifiers(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT identifier FROM records")}


def main() -> None:
    from catalog import pycsw
    from catalog.federation import harvest_child
    from geoportal import serve
    from geoportal.config import Link, load_config
    from geoportal.model import Workspace

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--catalog", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1, help="alternate the two harvests this many times")
    ap.add_argument("--peer-records", type=int, default=0,
                    help="pycsw's Harvest takes a source of the first N records only (default: all)")
    ap.add_argument("--pycsw-pages", action="store_true",
                    help="each round also harvests the same source through a catalog process that leaves every "
                         "GetRecords page to pycsw (GEOPORTAL_CATALOG_ISO_PAGES=0): the stored-XML pages' share")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/geoportal-bench-harvest"))
    ap.add_argument("--harvest-only", action="store_true", help="skip the full-text queries")
    ap.add_argument("--fulltext-only", action="store_true",
                    help="skip the harvest; time the full-text queries on the catalog an earlier run left in --dir")
    a = ap.parse_args()
    cfg = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
    recs = a.dir / "records"
    if not a.fulltext_only:
        log(f"generating {a.records} ISO records …")
        make_records(cfg, recs, a.records)

    procs = []
    try:
        if not a.fulltext_only:
            # the source node's catalog (and a smaller one for the peer, when asked)
            sources = {}
            peer_records = a.peer_records or a.records
            for n in sorted({a.records, peer_records}):
                src_port = serve.free_port()
                src = node_workspace(cfg, a.dir / f"source-{n}", src_port)
                rep = pycsw.run_loader(pycsw.config_path(src), [(p, "local") for p in sorted(recs.glob("*.xml"))[:n]])
                assert not rep["errors"], rep["errors"][:2]
                procs.append(serve.start_catalog(src, src_port))
                sources[n] = (src, procs[-1], f"http://127.0.0.1:{src_port}/")
            src, src_proc, src_url = sources[a.records]
            want = identifiers(src.catalog_db)
            if a.pycsw_pages:  # the same source served by a catalog process that leaves every page to pycsw
                pages_port = serve.free_port()
                os.environ["GEOPORTAL_CATALOG_ISO_PAGES"] = "0"
                try:
                    procs.append(serve.start_catalog(src, pages_port))
                finally:
                    del os.environ["GEOPORTAL_CATALOG_ISO_PAGES"]
                pycsw_pages = (procs[-1], f"http://127.0.0.1:{pages_port}/")

            def ours(source: tuple = (src_proc, src_url)) -> tuple[float, float, float]:  # type: ignore[type-arg]
                proc, url = source
                ws = node_workspace(cfg, a.dir / "ours", serve.free_port())
                c0, s0, t = own_cpu(), cpu_seconds(proc.pid), time.perf_counter()
                res = harvest_child(cfg, ws, Link(id="source", url=url, type="csw"), timeout=120)
                secs = time.perf_counter() - t
                assert res.ok and res.added == a.records, res
                assert identifiers(ws.catalog_db) == want  # the same records as the source, no more
                return a.records / secs, own_cpu() - c0, cpu_seconds(proc.pid) - s0

            def peer() -> tuple[float, float, float]:
                # pycsw's own Harvest (CSW-T) into another empty catalog
                _, psrc_proc, psrc_url = sources[peer_records]
                peer_port = serve.free_port()
                peer_ws = node_workspace(cfg, a.dir / "peer", peer_port)
                text = pycsw.config_path(peer_ws).read_text().replace("transactions = false", "transactions = true")
                pycsw.config_path(peer_ws).write_text(text)
                peer_secret = "bench-peer"  # pycsw takes CSW-T only with the gate's secret (catalog/pycsw_process)
                proc = serve.start_catalog(peer_ws, peer_port, peer_secret)
                try:
                    body = (f'<?xml version="1.0" encoding="UTF-8"?><Harvest xmlns="http://www.opengis.net/cat/csw/2.0.2" '
                            f'service="CSW" version="2.0.2"><Source>{psrc_url}</Source>'
                            '<ResourceType>http://www.opengis.net/cat/csw/2.0.2</ResourceType>'
                            '<ResourceFormat>application/xml</ResourceFormat></Harvest>').encode()
                    c0, s0, t = cpu_seconds(proc.pid), cpu_seconds(psrc_proc.pid), time.perf_counter()
                    req = urllib.request.Request(f"http://127.0.0.1:{peer_port}/", data=body, headers={
                        "Content-Type": "application/xml", "X-Geoportal-Gate": peer_secret})
                    answer = urllib.request.urlopen(req, timeout=3600).read().decode("utf-8", "replace")
                    secs = time.perf_counter() - t
                    cpu, src_cpu = cpu_seconds(proc.pid) - c0, cpu_seconds(psrc_proc.pid) - s0
                finally:
                    serve.stop(proc)
                peer_n = len(identifiers(peer_ws.catalog_db))
                # pycsw adds a record of the harvested service itself
                assert peer_n >= peer_records, f"pycsw's Harvest stored {peer_n} records: {answer[:300]}"
                return peer_n / secs, cpu, src_cpu

            runs: dict[str, list[tuple[float, float, float]]] = {"ours": [], "peer": [], "pycsw pages": []}
            labels = {"ours": "ours (catalog.federation)", "peer": "pycsw Harvest (CSW-T)",
                      "pycsw pages": "ours, pages from pycsw"}
            print(f"\nHarvest of {a.records:,} records between two catalogs"
                  + (f" (pycsw's Harvest: the first {peer_records:,})" if peer_records != a.records else ""))
            for i in range(a.repeat):
                order = [("ours", ours), ("peer", peer)]
                if a.pycsw_pages:
                    order.append(("pycsw pages", lambda: ours(pycsw_pages)))
                for name, run in order:
                    load = os.getloadavg()
                    rate, cpu, src_cpu = run()
                    n = peer_records if name == "peer" else a.records
                    runs[name].append((rate, cpu, src_cpu))
                    print(f"  {labels[name]:<27} "
                          f"{rate:8.1f} records/s  CPU {cpu / n * 1000:5.2f} ms/record + source "
                          f"{src_cpu / n * 1000:4.2f}   load {load[0]:.1f} {load[1]:.1f}", flush=True)
                ratio = runs["ours"][-1][0] / runs["peer"][-1][0]
                print(f"  pair {i + 1}: ratio ours / pycsw {ratio:.1f}x"
                      + (f" (with pages from pycsw {runs['pycsw pages'][-1][0] / runs['peer'][-1][0]:.1f}x)"
                         if a.pycsw_pages else ""), flush=True)
            med = {k: [statistics.median(r[j] for r in v) for j in range(3)] for k, v in runs.items() if v}
            ratios = [o[0] / p[0] for o, p in zip(runs["ours"], runs["peer"])]
            cpu_ratio = ((med["peer"][1] + med["peer"][2]) / peer_records) / ((med["ours"][1] + med["ours"][2]) / a.records)
            print(f"  medians: ours {med['ours'][0]:.0f} records/s, pycsw {med['peer'][0]:.1f} records/s; ratio "
                  f"{statistics.median(ratios):.1f}x (pairs {min(ratios):.1f}–{max(ratios):.1f}), CPU per record "
                  f"(with the source's) {cpu_ratio:.1f}x less   target ≥ 15x: "
                  f"{'met' if statistics.median(ratios) >= 15 else 'NOT met'}   target ≥ 1,000 records/s: "
                  f"{'met' if med['ours'][0] >= 1000 else 'NOT met'}")
            if a.pycsw_pages:
                print(f"  ours with every page from pycsw: median {med['pycsw pages'][0]:.0f} records/s, source "
                      f"CPU {med['pycsw pages'][2] / a.records * 1000:.2f} ms/record (stored-XML pages: "
                      f"{med['ours'][2] / a.records * 1000:.2f})")

        if a.harvest_only:
            return
        ours = Workspace(a.dir / "ours")
        # a big catalog: the harvested records repeated under new identifiers
        big = a.dir / "ours" / "catalog.db"
        with sqlite3.connect(big) as db:
            cols = [r[1] for r in db.execute("PRAGMA table_info(records)")]
            have = original = db.execute("SELECT count(*) FROM records").fetchone()[0]
            copy = ", ".join("identifier || '~' || ?" if c == "identifier" else c for c in cols)
            k = 1
            while have < a.catalog:
                db.execute(f"INSERT INTO records ({', '.join(cols)}) SELECT {copy} FROM records "
                           f"WHERE rowid <= ? LIMIT ?", (str(k), original, a.catalog - have))
                have = db.execute("SELECT count(*) FROM records").fetchone()[0]
                k += 1
        front_port = serve.free_port()
        direct_port = serve.free_port()
        procs.append(serve.start_catalog(ours, direct_port))
        # the node front in front of that catalog (the one address of a node)
        app = CatalogGateServer(direct_port, front_port)
        rnd = random.Random(9)
        qs = [urllib.parse.urlencode({
            "service": "CSW", "version": "2.0.2", "request": "GetRecords", "typeNames": "csw:Record",
            "resultType": "results", "elementSetName": "brief", "maxRecords": 10,
            "constraintLanguage": "CQL_TEXT", "constraint_language_version": "1.1.0",
            # pycsw 2.6's CQL takes lowercase ``like`` and the prefixed queryable only (an unprefixed
            # AnyText works only through the node's wrapper): the same text is sent both ways
            # (words without an apostrophe: inside a CQL string it ends the literal)
            "constraint": f"csw:AnyText like '%{rnd.choice(PLAIN_WORDS)}%'"}) for _ in range(a.queries)]
        lat, hits = {}, {}
        for name, port in (("through the node front", front_port), ("pycsw directly", direct_port)):
            times, found = [], []
            for q in qs:
                t = time.perf_counter()
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/?{q}", timeout=120).read()
                times.append(time.perf_counter() - t)
                found.append(matched(body))
            lat[name], hits[name] = times, found
        # an error report has no hits: a figure is only a figure of answered queries
        assert min(hits["pycsw directly"]) > 0 and hits["through the node front"] == hits["pycsw directly"], hits
        app.stop()
        print(f"\nFull-text GetRecords on {a.catalog:,} records ({a.queries} queries)")
        for name, times in lat.items():
            print(f"  {name:<24} p50 {percentile(times, 50):7.1f} ms   p95 {percentile(times, 95):7.1f} ms   "
                  f"hits per query {min(hits[name])}–{max(hits[name])}")
        p95 = percentile(lat["through the node front"], 95)
        print(f"  ratio front / pycsw (p95): {p95 / percentile(lat['pycsw directly'], 95):.2f}   "
              f"target p95 < 100 ms: {'met' if p95 < 100 else 'NOT met'}")
    finally:
        for p in procs:
            serve.stop(p)


class CatalogGateServer:
    """The node's /csw path (CatalogGate → Proxy) on its own port, served by gunicorn-like threads."""

    def __init__(self, upstream: int, port: int):
        import threading
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
        from socketserver import ThreadingMixIn

        from geoportal.serve import CatalogGate, Proxy, publisher_tokens

        class Threaded(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

        app = CatalogGate(Proxy("127.0.0.1", upstream, "/"), publisher_tokens())
        self.httpd = make_server("127.0.0.1", port, app, server_class=Threaded, handler_class=Quiet)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()


if __name__ == "__main__":
    main()
