"""The service configurations of the access views other than the anonymous one, generated on first use.

The build writes the anonymous view's files (``services/``, ``downloads/``). A logged-in caller whose view
differs gets the same publishers run for its :class:`~access.views.View` into
``<workspace>/views/<build>/<key>/``: ``node.map`` + ``mapserver.conf`` (MapServer), ``pygeoapi.yml``
(OGC API), and per dataset the download files cut to the view's rows and attributes
(``files/<grant hash>/``; shared by every view with the same grant). A folder is used only once a
``.complete`` mark is in it (written last, atomically), one process at a time generates it (an fcntl
lock, as gunicorn runs several workers), and ``<build>`` — a hash of what the build published — makes a
rebuild start afresh. At most ``keep`` view folders stay on disk (the least recently used go first).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from geoportal.config import NodeConfig
from geoportal.model import Endpoints, StoredLayer, Workspace, write_atomic

DONE = ".complete"


class ViewFiles:
    def __init__(self, cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints,
                 build: str, anonymous: Any, keep: int = 64):
        """``anonymous``: the anonymous view (access.views), whose download files are the node's own."""
        self.cfg, self.ws, self.layers, self.ep, self.anonymous = cfg, ws, layers, ep, anonymous
        self.root = ws.root / "views" / build
        self.keep = keep
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        for old in (ws.root / "views").glob("*") if (ws.root / "views").exists() else []:
            if old.is_dir() and old.name != build:  # an earlier build's views
                shutil.rmtree(old, ignore_errors=True)

    @contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / f".{name}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    def configs(self, view: Any) -> Path:
        """The folder with the MapServer and pygeoapi configuration of ``view``."""
        from publishers import mapserver, pygeoapi

        folder = self.root / view.key
        if (folder / DONE).exists():
            os.utime(folder / DONE)
            return folder
        with self._locked(view.key):
            if not (folder / DONE).exists():
                folder.mkdir(parents=True, exist_ok=True)
                mapserver.write_view(self.cfg, self.ws, self.layers, self.ep, view, folder)
                pygeoapi.write_view(self.cfg, self.ws, self.layers, self.ep, view, folder)
                write_atomic(folder / DONE, view.key)
        self._prune()
        return folder

    def download(self, view: Any, dataset_id: str) -> Path | None:
        """The folder with the download files of a dataset as ``view`` may have them; None when it may not.
        A public dataset without limits is the node's own file (``ws.downloads``)."""
        from publishers import downloads

        grant = view.grant(dataset_id, "downloads")
        dv = view.dataset(dataset_id)
        layer = self.layers.get(dataset_id)
        if grant is None or dv is None or layer is None:
            return None
        if dv.public and grant == self.anonymous.grant(dataset_id, "downloads"):
            return self.ws.downloads  # the node's own files are cut to exactly this grant
        what = json.dumps([dataset_id, grant.row_filter, list(grant.hidden), layer.to_dict()], sort_keys=True,
                          default=str)
        stamp = hashlib.sha256(what.encode()).hexdigest()[:20]
        folder = self.root / "files" / stamp
        if (folder / DONE).exists():
            return folder
        with self._locked(f"files-{stamp}"):
            if not (folder / DONE).exists():
                downloads.package(self.cfg.dataset(dataset_id), grant.narrow(layer), self.ws, folder, grant.hidden)
                write_atomic(folder / DONE, stamp)
        return folder

    def _prune(self) -> None:
        """Keep the ``keep`` most recently used view folders."""
        done = sorted((p for p in self.root.glob(f"*/{DONE}") if p.parent.name != "files"),
                      key=lambda p: p.stat().st_mtime, reverse=True)
        for mark in done[self.keep:]:
            with self._locked(mark.parent.name):
                shutil.rmtree(mark.parent, ignore_errors=True)
