"""Files written aside and moved into place: one writer per target at a time, and what a dead writer left.

A store writes a new version next to the target under a temporary name (``.<stem>.<8 random>.<ext>``,
plus what GDAL and SQLite add to it: journals, spatial-index scratch files, overviews) and renames it into
place. A writer killed on the way (kill -9, power loss) leaves those files behind. The lock below is an
fcntl lock, which the kernel releases when its holder dies; so whoever holds it knows every temporary file
of that target belongs to a dead writer, and removes it — never the files of a live one.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from geoportal.errors import StoreError

log = logging.getLogger(__name__)


def lock_path(target: Path) -> Path:
    """Where the lock of ``target`` lives: beside the kept versions, not beside the served file."""
    return target.parent / ".versions" / f"{target.name}.lock"


@contextmanager
def exclusive(target: Path, wait: float) -> Iterator[None]:
    """Hold the lock of ``target``; wait up to ``wait`` seconds for another writer, then refuse naming it."""
    lock = lock_path(target)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as fh:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    fh.seek(0)
                    raise StoreError(f"{target}: another load (pid {fh.read().strip() or '?'}) is still "
                                     f"writing it after {wait:g} s; try again when it has finished") from None
                time.sleep(0.2)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def temp_pattern(stem: str, ext: str) -> re.Pattern[str]:
    """The names of a target's temporary files (``tempfile.mkstemp(prefix=f".{stem}.", suffix=ext)``) and of
    the files GDAL/SQLite make beside them."""
    return re.compile(rf"\.{re.escape(stem)}\.[a-z0-9_]{{8}}{re.escape(ext)}(-journal|-wal|-shm|\..*)?")


def remove_dead(target: Path, stem: str, ext: str) -> list[str]:
    """Under the lock: remove the temporary files dead writers left beside ``target``; returns their names."""
    pattern = temp_pattern(stem, ext)
    gone = []
    for p in target.parent.iterdir():
        if pattern.fullmatch(p.name) and p.is_file():
            log.info("%s: removing %s, left by a load that did not finish", target, p.name)
            p.unlink(missing_ok=True)
            gone.append(p.name)
    return gone
