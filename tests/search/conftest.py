"""Fixtures of the search tests: the sample Ovruch hromada node, served (its records say "Овруцька")."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ServedNode, node_ahead

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ovruch_node(request: pytest.FixtureRequest) -> Iterator[ServedNode]:
    """Started ahead (tests/conftest.py AHEAD)."""
    yield from node_ahead(request, "ovruch_node")
