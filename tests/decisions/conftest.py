"""The sample node's real layers (hromadas, nature-protection, geographic-names) ingested into a temporary
workspace, with their passports computed — what a decision is justified by."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from geoportal.build import ingest_all
from geoportal.config import NodeConfig, load_config
from geoportal.model import Workspace

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config/nodes/zhytomyr-oblast.yaml"
DATASETS = ["hromadas", "nature-protection", "geographic-names"]

OVRUCH = "UA18060170000069581"  # Овруцька громада: the issuer in the tests
SLOVECHNE = "UA18060210000083283"  # Словечанська: a party that agrees
OLEVSK = "UA18060190000071101"  # a party that stays silent


@dataclass
class Node:
    cfg: NodeConfig
    ws: Workspace
    config: Path


@pytest.fixture(scope="session")
def sample_node(tmp_path_factory: pytest.TempPathFactory) -> Node:
    from passport.build import build_passport

    cfg = load_config(CONFIG)
    ws = Workspace(tmp_path_factory.mktemp("decisions") / "zhytomyr-oblast").ensure()
    layers = ingest_all(cfg, ws, only=DATASETS)
    build_passport(cfg, ws, layers)
    return Node(cfg, ws, CONFIG)


def hromadas_only_config(base: Path, drop: tuple[str, ...] = ("passport", "children")) -> Path:
    """A copy of the sample config with the hromada boundaries as its only dataset and the sections in
    ``drop`` removed: the smallest node a served register needs (its pages draw the hromadas)."""
    import yaml

    from tests.conftest import derived_config

    full = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    datasets = [d for d in full["datasets"] if d["id"] == "hromadas"]
    for d in datasets:
        d["source"] = str((CONFIG.parent / d["source"]).resolve())
    config = derived_config(base / "node.yaml", datasets=datasets)
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    for section in drop:
        raw.pop(section, None)
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config
