"""What the ingest does to keep its memory flat (#15), checked for what a user relies on: a load does not
hand Arrow's allocator choice to the processes it starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_arrow_uses_the_system_allocator_and_children_are_not_told():
    """In a fresh process the pipeline loads Arrow with the C library's allocator (no mimalloc arenas),
    and the environment a started process inherits is the one the user had."""
    code = ("import os; import ingest.pipeline; import pyarrow as pa; "
            "print(pa.default_memory_pool().backend_name, os.environ.get('ARROW_DEFAULT_MEMORY_POOL'))")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["system", "None"]
    # a user's choice wins
    env["ARROW_DEFAULT_MEMORY_POOL"] = "jemalloc"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[1] == "jemalloc"
