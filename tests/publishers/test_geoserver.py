"""GeoServer publishing, against a real GeoServer given by GEOSERVER_URL (none can be installed here).

GEOSERVER_URL=http://host:8080/geoserver GEOSERVER_USER=admin GEOSERVER_PASSWORD=geoserver pytest …
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geoportal.config import load_config
from geoportal.model import Endpoints, Workspace

GEOSERVER_URL = os.environ.get("GEOSERVER_URL")
pytestmark = pytest.mark.skipif(not GEOSERVER_URL, reason="set GEOSERVER_URL to test against a real GeoServer")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def node(tmp_path: Path):  # type: ignore[no-untyped-def]
    from geoportal.build import ingest_all
    from metadata.write import write_records

    text = (ROOT / "config/nodes/zhytomyr-oblast.yaml").read_text(encoding="utf-8")
    text = text.replace("storage:\n  backend: geopackage\n",
                        f"storage:\n  backend: geopackage\npublisher: geoserver\ngeoserver:\n  url: {GEOSERVER_URL}\n"
                        f"  username: {os.environ.get('GEOSERVER_USER', 'admin')}\n  workspace: gp_test_node\n")
    cfg_path = ROOT / "config" / "nodes" / f".test-geoserver-{os.getpid()}.yaml"
    cfg_path.write_text(text, encoding="utf-8")
    try:
        cfg = load_config(cfg_path)
        ws = Workspace(tmp_path / "ws").ensure()
        layers = ingest_all(cfg, ws)
        ep = Endpoints("http://127.0.0.1:8000")
        write_records(cfg, ws, layers, ep)
        yield cfg, ws, layers, ep
    finally:
        cfg_path.unlink(missing_ok=True)


def test_publish_is_idempotent_and_unpublish_removes(node) -> None:  # type: ignore[no-untyped-def]
    from owslib.wms import WebMapService

    from publishers import geoserver

    cfg, ws, layers, ep = node
    geoserver.write(cfg, ws, layers, ep)
    geoserver.write(cfg, ws, layers, ep)  # twice: nothing new, nothing broken
    wms = WebMapService(f"{GEOSERVER_URL}/gp_test_node/wms", version="1.3.0")
    assert {f"{d.id}" for d in cfg.public_datasets} <= {k.split(":")[-1] for k in wms.contents}
    geoserver.unpublish(cfg, ws)
    gs = geoserver._client(cfg)
    assert not geoserver._exists(gs.get_workspace, "gp_test_node")
