"""The node a passport test builds when its subject is not how many hromadas there are (versions kept, values
withheld): the sample oblast's data with the node section of the sample Korosten raion, whose passport covers
the raion's 13 hromadas instead of the oblast's 66 (each hromada's page is printed to PDF, and the printing
was most of such a test). Olevska and Ovruch hromadas, which the tests follow, are in the raion."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RAION_CONFIG = ROOT / "config/nodes/korostenskyi-raion.yaml"


def raion_node() -> dict:
    """The ``node:`` section of the sample raion (level raion: the passport lists the hromadas under it)."""
    return yaml.safe_load(RAION_CONFIG.read_text(encoding="utf-8"))["node"]
