"""Downloads: the files a user takes away, one set per public dataset, under ``/downloads/``.

The GeoPackage is a copy of the stored layer (it carries its own style and metadata once the QML and
ISO publishers have added them); the ISO record sits beside it as ``<id>.xml``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from geoportal.config import NodeConfig
from geoportal.model import Endpoints, StoredLayer, Workspace

FORMATS = {"gpkg": "application/geopackage+sqlite3"}


def write(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints) -> Path:
    out = ws.downloads
    out.mkdir(parents=True, exist_ok=True)
    for ds in cfg.public_datasets:
        layer = layers.get(ds.id)
        if layer is None or layer.backend != "geopackage" or not layer.path:
            continue
        target = out / f"{ds.id}.gpkg"
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{ds.id}.", suffix=".gpkg")
        os.close(fd)
        shutil.copyfile(layer.path, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    return out
