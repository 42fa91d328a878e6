"""The production compose file is accepted by docker-compose (no engine runs here: config only)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "docker-compose.yml"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian docker-compose is not installed")
def test_compose_file_is_valid() -> None:
    out = subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_compose_has_the_production_services() -> None:
    import yaml

    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"postgis", "pygeoapi", "pycsw", "mapserver", "nginx"} <= set(services)
