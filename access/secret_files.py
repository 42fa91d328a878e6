"""Secrets a node keeps on disk (its signing key, its session secret): made once, mode 0600, never replaced by
a racing process, and refused when other users can read them."""

from __future__ import annotations

import os
from pathlib import Path

from access.errors import AccessError


def create_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (0600) unless it exists; when two processes race, the first writer wins and
    the other's bytes are dropped, so both go on with the same secret."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def require_private(path: Path, what: str, remedy: str) -> None:
    """Refuse a secret file that other users can read, saying what it is and what to do."""
    if path.stat().st_mode & 0o077:
        raise AccessError(f"{path}: the {what} is readable by other users; run 'chmod 600 {path}' ({remedy})")
