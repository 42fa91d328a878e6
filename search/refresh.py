"""The search index follows the catalog: rebuilt, in the background, after each publisher's CSW-T
transaction, from the repository pycsw wrote to (:mod:`catalog.repository`), so ``/search`` lists a record
inserted, changed or deleted with CSW-T as the catalog does — seconds later instead of at the next build.

Why a whole rebuild and not one document: the index is one file written aside and renamed
(:mod:`search.index`), its facet tables and caches are per build, and a node's rebuild takes about a second
(the sample oblast, 0.9 s) against transactions that are rare. Requests coalesce: while a rebuild runs, any
number of further requests make one more rebuild after it. The worker processes of a node take a file lock
around a rebuild, so rebuilds run one after another, each reading the repository after it got the lock: the
last one to finish has read the last write.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from typing import Any

from catalog.repository import CatalogRepository
from geoportal.errors import GeoportalError
from geoportal.model import Workspace

log = logging.getLogger(__name__)

LOCK_FILE = ".search-rebuild.lock"


class SearchRefresh:
    """``request()`` after a write to the catalog; the rebuild runs in a thread of this process."""

    def __init__(self, cfg: Any, ws: Workspace, catalog: CatalogRepository | None = None):
        self.cfg, self.ws, self.catalog = cfg, ws, catalog
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self.rebuilds = 0  # finished rebuilds, failed ones included (what a test can wait on)

    def request(self) -> None:
        """A rebuild soon; returns at once."""
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        threading.Thread(target=self._run, name=f"search-refresh-{self.cfg.node.id}", daemon=True).start()

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    self._again = False
                self.rebuild()
                with self._lock:
                    if not self._again:
                        self._running = False
                        return
        except BaseException:
            with self._lock:
                self._running = False
            raise

    def rebuild(self) -> None:
        """One rebuild now, after any other process's of this node."""
        from search import index as search_index

        try:
            with open(self.ws.root / LOCK_FILE, "a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                search_index.build(self.cfg, self.ws, self.catalog)
            log.info("search index of %s rebuilt after a catalog transaction", self.cfg.node.id)
        except (GeoportalError, OSError) as e:  # the previous index stays; the next transaction tries again
            log.error("search index of %s not rebuilt after a catalog transaction: %s", self.cfg.node.id, e)
        finally:
            self.rebuilds += 1
