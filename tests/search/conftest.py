"""Fixtures of the search tests: the sample Ovruch hromada node, served (its records say "Овруцька")."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ServedNode, serve_node, stop_node

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ovruch_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    workdir = tmp_path_factory.mktemp("ovruch") / "ovrutska-hromada"
    node = serve_node(ROOT / "config" / "nodes" / "ovrutska-hromada.yaml", workdir)
    yield node
    stop_node(node.process)
