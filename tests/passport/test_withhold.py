"""A passport indicator computed from a dataset that is not public is withheld from the public passport —
JSON, CSV, HTML page and the OGC API/GeoPackage layer — with a word saying why; indicators from public
sources keep their values. Making a dataset restricted recomputes the passport (no stale figures)."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import yaml

from geoportal.build import ingest_all
from geoportal.config import load_config
from geoportal.model import Workspace
from passport.build import build_passport
from tests.conftest import derived_config
from tests.passport.raion import raion_node

ROOT = Path(__file__).resolve().parents[2]
OLEVSKA = "UA18060190000071101"
FROM_NATURE = {"nature_sites", "nature_sites_national", "nature_sites_per_1000_km2"}  # the ratio too


def _node(tmp_path: Path, nature_access: str) -> Path:
    raw = yaml.safe_load((ROOT / "config/nodes/zhytomyr-oblast.yaml").read_text(encoding="utf-8"))
    datasets = [d for d in raw["datasets"] if d["id"] in ("oblast-boundary", "hromadas", "nature-protection")]
    for d in datasets:
        d["source"] = str((ROOT / "config/nodes" / d["source"]).resolve())
        if d["id"] == "nature-protection":
            d["access"] = nature_access
    return derived_config(tmp_path / f"node-{nature_access}.yaml", datasets=datasets, children=[],
                          node=raion_node(), passport=str(ROOT / "config/passport.yaml"))


def test_indicators_from_a_restricted_dataset_are_withheld_everywhere(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    cfg = load_config(_node(tmp_path, "public"))
    _, open_layer = build_passport(cfg, ws, ingest_all(cfg, ws))  # type: ignore[misc]
    out = Path(open_layer.location.path).parent
    before = json.loads((out / f"{OLEVSKA}.json").read_text(encoding="utf-8"))["indicators"]
    assert before["nature_sites"]["value"] and not before["nature_sites"]["withheld"]

    cfg = load_config(_node(tmp_path, "restricted"))
    _, layer = build_passport(cfg, ws, ingest_all(cfg, ws))  # type: ignore[misc]
    assert layer.version == open_layer.version + 1  # recomputed because who may see the source changed
    doc = json.loads((out / f"{OLEVSKA}.json").read_text(encoding="utf-8"))["indicators"]
    for iid, ind in doc.items():
        if iid in FROM_NATURE:
            assert ind["withheld"] and ind["value"] is None and ind["rank"] is None and ind["average"] is None, iid
        else:
            assert not ind["withheld"] and ind["value"] == before[iid]["value"], iid
    page = (out / f"{OLEVSKA}.html").read_text(encoding="utf-8")
    assert page.count("приховано") == len(FROM_NATURE)
    with open(out / "passports.csv", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    header = next(iter(rows[0]))
    assert all(all(r[k] == "" for k in r if any(k.startswith(i) for i in FROM_NATURE)) for r in rows), header
    with sqlite3.connect(out / "passports.gpkg") as db:  # what OGC API and WFS serve
        cols = [c[1] for c in db.execute(f"PRAGMA table_info('{layer.location.table}')")]
        for iid in FROM_NATURE & set(cols):
            assert db.execute(f'SELECT count(*) FROM "{layer.location.table}" WHERE "{iid}" IS NOT NULL'
                              ).fetchone()[0] == 0, iid
