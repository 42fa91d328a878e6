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
