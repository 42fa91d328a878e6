"""Every benchmark script starts (`make bench` is not part of `make test`, so a broken import would otherwise
be found only by whoever next measures)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = sorted((Path(__file__).resolve().parents[1] / "bench").glob("*.py"))


@pytest.mark.parametrize("script", BENCH, ids=[p.name for p in BENCH])
def test_benchmark_script_starts(script: Path) -> None:
    out = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "usage" in out.stdout.lower(), out.stderr[-2000:]


def test_decisions_bench_peer_answers_alike() -> None:
    """The decisions bench on a small register: it stops unless ours (GeoPackage, PostGIS) and stock
    pygeoapi on PostGIS give the same numberMatched and ids for each CQL2 question, so a run is the check."""
    from geoportal.deploy.postgres import PG_BIN

    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL programs in {PG_BIN} for the bench's throwaway cluster")
    script = Path(__file__).resolve().parents[1] / "bench" / "decisions_bench.py"
    out = subprocess.run([sys.executable, str(script), "--n", "300", "--requests", "3", "--rounds", "1",
                          "--no-justify"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "same numberMatched and ids from all three for each query (checked)" in out.stdout
    assert "400 Invalid filter language" in out.stdout  # why the peer is sent CQL2-JSON, not the GET
