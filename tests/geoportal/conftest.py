"""The node behind its access front (``access_node``) and what the tests of the gate and the front read of a
served node: its log, its processes and their ports. The token node itself is in tests/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from tests.conftest import TOKEN, ServedNode, node_ahead  # noqa: F401 - TOKEN: the gate tests import it here

if TYPE_CHECKING:
    from tests.geoportal.access_client import Node


def serve_log(node: ServedNode) -> Path:
    """Where tests.conftest.serve_node writes the output of ``geoportal serve``."""
    return node.workdir.parent / f"{node.workdir.name}-serve.log"


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (read from /proc; the catalog runs in a session of its own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def listening_ports(pids: set[int]) -> set[int]:
    """TCP ports in LISTEN state held by these processes (from /proc/net/tcp and their fds)."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:
                ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.fixture(scope="session")
def access_node(request: pytest.FixtureRequest) -> Iterator[Node]:
    """The sample node with an ``access:`` section and users, behind its access front (see access_client);
    started ahead (tests/conftest.py AHEAD)."""
    yield from node_ahead(request, "access_node")
