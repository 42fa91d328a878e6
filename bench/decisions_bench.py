"""Benchmark: the decision register with 100,000 decisions (issue #12). Not a timed test.

Measured in one run, on one generated register (polygons of ~1 km² over Zhytomyr oblast, 60 issuing hromadas,
statuses spread over the lifecycle):

- insert: every decision written through the register's repository (its JSON value, flat columns, geometry
  and the per-field history rows), 1,000 per transaction; and the per-action path (``Register.create``, one
  transaction + permission + checks each) for a sample;
- publish: the ``decisions`` layer the OGC API serves (decisions/register_layers.py);
- list / filter through the node's OGC API stack in-process (the Part 4 front → the CQL2 front → pygeoapi
  with our GeoPackage provider): ``filter=status='adopted'``, ``filter=issuer='…'`` and S_INTERSECTS with a
  hromada-sized polygon, p50/p95 — against the same questions to stock pygeoapi (its GeoJSON provider over
  the same 100,000 features; its SQLite/GeoPackage and OGR providers need SpatiaLite / GDAL bindings, which
  this Python has not) in the same run. Target: p95 < 50 ms;
- the node's Atom feed over the whole register, one decision's page (p95 over a sample);
- the computed justification of a hromada-sized polygon against the oblast's hromadas and nature-protection
  layers (ingested first; ``--no-justify`` skips it). Target: < 200 ms.

    .venv/bin/python bench/decisions_bench.py [--n 100000] [--requests 100] [--no-justify]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

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


def write_geojson(decisions: list, path: Path) -> None:
    import shapely
    from shapely.geometry import mapping

    feats = [{"type": "Feature", "id": d.id, "geometry": mapping(shapely.from_wkt(d.geometry)),
              "properties": {"id": d.id, "status": d.status, "issuer": d.issuer, "title_uk": d.title.uk}}
             for d in decisions]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")


def pygeoapi_config(root: Path, gpkg: str, geojson: Path) -> tuple[Path, Path]:
    import yaml

    cfg = {"server": {"bind": {"host": "127.0.0.1", "port": 5000}, "url": "http://127.0.0.1:5000/ogcapi",
                      "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8", "language": "en-US",
                      "limits": {"default_items": 10, "max_items": 1000}, "map": {"url": "", "attribution": ""}},
           "logging": {"level": "ERROR"},
           "metadata": {"identification": {"title": "bench", "description": "bench", "keywords": ["b"],
                                           "terms_of_service": "", "url": "http://x"},
                        "license": {"name": "CC-BY-4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
                        "provider": {"name": "b", "url": "http://x"},
                        "contact": {"name": "b"}},
           "resources": {}}
    common = {"type": "collection", "title": "d", "description": "d", "keywords": ["d"],
              "extents": {"spatial": {"bbox": list(BBOX), "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
              "links": []}
    cfg["resources"]["decisions"] = {**common, "providers": [{"type": "feature", "name":
                                     "publishers.ogcapi.gpkg.GeoPackageProvider", "data": gpkg, "table": "decisions",
                                     "id_field": "id"}]}
    cfg["resources"]["stock"] = {**common, "providers": [{"type": "feature", "name": "GeoJSON",
                                                          "data": str(geojson), "id_field": "id"}]}
    path = root / "pygeoapi.yml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    from pygeoapi.openapi import generate_openapi_document

    oas = root / "openapi.yml"
    oas.write_text(generate_openapi_document(path, "yaml"), encoding="utf-8")
    return path, oas


QUERIES = {
    "status": ({"filter": "status='adopted'", "filter-lang": "cql2-text"}, {"status": "adopted"}),
    "territory": ({"filter": "issuer='{issuer}'", "filter-lang": "cql2-text"}, {"issuer": "{issuer}"}),
    "s_intersects": ({"filter": "S_INTERSECTS(geom,POLYGON((28.6 51.1,28.9 51.1,28.9 51.35,28.6 51.35,28.6 51.1)))",
                      "filter-lang": "cql2-text"}, {"bbox": "28.6,51.1,28.9,51.35"}),
}


def serve_phase(args: argparse.Namespace) -> None:
    """(in a child process: pygeoapi reads its config at import) the HTTP stack, in-process, timed."""
    from werkzeug.test import Client

    from decisions.api import DecisionWrites
    from publishers.ogcapi.cql2_front import Cql2Front
    from pygeoapi.flask_app import APP

    node = Client(DecisionWrites(Cql2Front(APP.wsgi_app), Path(args.root)))
    stock = Client(APP.wsgi_app)
    out = {}
    for name, (ours, theirs) in QUERIES.items():
        for who, client, coll, params, n in (("node", node, "decisions", ours, args.requests),
                                             ("stock", stock, "stock", theirs, args.stock_requests)):
            params = {k: v.replace("{issuer}", args.issuer) for k, v in params.items()}
            lat, matched = [], None
            client.get(f"/collections/{coll}/items", query_string={"f": "json", "limit": "10", **params})  # warm-up
            for _ in range(n):
                t = time.perf_counter()
                r = client.get(f"/collections/{coll}/items", query_string={"f": "json", "limit": "10", **params})
                body = r.get_data()
                lat.append(time.perf_counter() - t)
                assert r.status_code == 200, body[:300]
                matched = json.loads(body).get("numberMatched", matched)
            out[f"{name}_{who}"] = {"p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "matched": matched}
    print(json.dumps(out))


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
    ap.add_argument("--requests", type=int, default=100, help="requests per query kind to the node")
    ap.add_argument("--stock-requests", type=int, default=10, help="requests per query kind to stock pygeoapi")
    ap.add_argument("--no-justify", action="store_true")
    ap.add_argument("--serve-phase", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    ap.add_argument("--issuer", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_phase:
        serve_phase(args)
        return
    root = Path(tempfile.mkdtemp(prefix="decisions-bench-"))
    log(f"generating {args.n} decisions in {root} …")
    decisions = make_decisions(args.n)
    res: dict = {"n": args.n}
    log("insert …")
    res.update(bench_insert(decisions, root))
    log("publish the layer …")
    res.update(bench_publish(decisions, root))
    log("Atom feeds and pages …")
    res.update(bench_outputs(decisions, root))
    log("list/filter through the node's OGC API and stock pygeoapi …")
    geojson = root / "stock.geojson"
    write_geojson(decisions, geojson)
    cfg, oas = pygeoapi_config(root, res.pop("path"), geojson)
    env = {**os.environ, "PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(oas)}
    out = subprocess.run([sys.executable, __file__, "--serve-phase", "--root", str(root), "--issuer",
                          decisions[0].issuer, "--requests", str(args.requests), "--stock-requests",
                          str(args.stock_requests)], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    res["queries"] = json.loads(out.stdout.strip().splitlines()[-1])
    if not args.no_justify:
        log("justification of hromada polygons …")
        res.update(bench_justify(root))
    print(json.dumps(res, indent=1, ensure_ascii=False))
    worst = max(v["p95_ms"] for k, v in res["queries"].items() if k.endswith("_node"))
    log(f"\nCQL2 list/filter p95 (node, worst kind): {worst:.1f} ms  (target < 50 ms)")
    if "justify_p95_ms" in res:
        log(f"justification of a hromada polygon p95: {res['justify_p95_ms']:.1f} ms  (target < 200 ms)")


if __name__ == "__main__":
    main()
