"""An indicator followed over time: a source changes, is ingested again, the passport is recomputed and both
values stay — in the history table, in the hromada's JSON and on its page."""

from __future__ import annotations

import json
from pathlib import Path

import shapely
import yaml

from geoportal.build import ingest_all
from geoportal.config import load_config
from geoportal.model import Workspace
from ingest import load_dataset
from passport.build import build_passport
from passport.store import history
from tests.conftest import derived_config
from tests.passport.raion import raion_node

ROOT = Path(__file__).resolve().parents[2]
OLEVSKA = "UA18060190000071101"


def test_a_changed_source_gives_a_new_passport_version_and_keeps_the_old_value(tmp_path: Path) -> None:
    src = ROOT / "data/geonames-ua/pzo-zytomyrska.geojson"
    fc = json.loads(src.read_text(encoding="utf-8"))
    copy = tmp_path / "pzo.geojson"
    copy.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    raw = yaml.safe_load((ROOT / "config/nodes/zhytomyr-oblast.yaml").read_text(encoding="utf-8"))
    datasets = [d for d in raw["datasets"] if d["id"] not in ("geographic-names", "investment-sites")]
    for d in datasets:
        d["source"] = str(copy) if d["id"] == "nature-protection" else str((ROOT / "config/nodes" / d["source"]).resolve())
    cfg_path = derived_config(tmp_path / "node.yaml", datasets=datasets, children=[], node=raion_node(),
                              passport=str(ROOT / "config/passport.yaml"))
    cfg = load_config(cfg_path)
    ws = Workspace(tmp_path / "ws").ensure()
    _, first = build_passport(cfg, ws, ingest_all(cfg, ws))  # type: ignore[misc]

    # a site inside Olevska hromada is struck off the register; the custodian sends the new file
    doc = json.loads((Path(first.location.path).parent / f"{OLEVSKA}.json").read_text(encoding="utf-8"))
    poly = shapely.geometry.shape(doc["geometry"])
    gone = next(i for i, f in enumerate(fc["features"]) if poly.intersects(shapely.geometry.shape(f["geometry"])))
    del fc["features"][gone]
    copy.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    load_dataset(cfg, cfg.dataset("nature-protection"), ws)
    _, second = build_passport(cfg, ws, ws.read_layers())  # type: ignore[misc]

    assert second.version == first.version + 1
    rows = history(Path(second.location.path), OLEVSKA, "nature_sites")
    assert [r["value"] for r in rows] == [29, 28]
    assert rows[0]["source_version"].startswith("v1 ") and rows[1]["source_version"].startswith("v2 ")
    doc = json.loads((Path(second.location.path).parent / f"{OLEVSKA}.json").read_text(encoding="utf-8"))
    ind = doc["indicators"]["nature_sites"]
    assert ind["value"] == 28 and [h["value"] for h in ind["history"]] == [29, 28]
    assert ind["previous"]["value"] == 29 and doc["indicators"]["population_total"]["previous"] is None
    page = (Path(second.location.path).parent / f"{OLEVSKA}.html").read_text(encoding="utf-8")
    assert "було / was 29" in page
    # population did not change: one value, still kept once per computation
    assert [r["value"] for r in history(Path(second.location.path), OLEVSKA, "population_total")] == [34193.0, 34193.0]

    # the same, as an official reads it from the command line
    from click.testing import CliRunner

    from passport.cli import passport_cmd

    out = CliRunner().invoke(passport_cmd, [str(cfg_path), "--workdir", str(ws.root), "--history",
                                            f"{OLEVSKA}:nature_sites", "--json"])
    assert out.exit_code == 0, out.output
    assert [r["value"] for r in json.loads(out.output)] == [29, 28]
    out = CliRunner().invoke(passport_cmd, [str(cfg_path), "--workdir", str(ws.root), "--json"])
    assert out.exit_code == 0 and json.loads(out.output.splitlines()[-1])["version"] == second.version  # unchanged
