"""GeoServer, for sites that run it: the same public datasets published through its REST API.

Thin over ``geoserver-rest``: a workspace per node, a store per dataset (PostGIS when the node stores in
PostGIS, otherwise the GeoPackage uploaded), a layer with the uk title/abstract and keywords, the SLD from
``styles/`` as its default style, and a metadata link to the ISO record. Idempotent: what exists is
updated, not created again. What it created is listed in ``services/geoserver.json`` so that
:func:`unpublish` removes exactly that and nothing else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from geoportal.config import NodeConfig
from geoportal.errors import PublishError
from geoportal.model import Endpoints, StoredLayer, Workspace, write_atomic
from publishers.styles import load_style, style_name_for


def _client(cfg: NodeConfig) -> Any:
    from geo.Geoserver import Geoserver

    if cfg.geoserver is None:
        raise PublishError(f"{cfg.config_path}: 'publisher: geoserver' needs a 'geoserver:' section")
    password = os.environ.get(cfg.geoserver.password_env)
    if password is None:
        raise PublishError(f"GeoServer password: set the environment variable {cfg.geoserver.password_env} "
                           f"(geoserver.password_env in {cfg.config_path})")
    return Geoserver(cfg.geoserver.url.rstrip("/"), username=cfg.geoserver.username, password=password)


def workspace_name(cfg: NodeConfig) -> str:
    return (cfg.geoserver.workspace if cfg.geoserver and cfg.geoserver.workspace
            else cfg.node.id.replace("-", "_"))


def _exists(call: Any, *args: Any, **kw: Any) -> bool:
    from geo.Geoserver import GeoserverException

    try:
        call(*args, **kw)
        return True
    except GeoserverException:
        return False


def _pg_params(dsn: str) -> dict[str, Any]:
    from psycopg.conninfo import conninfo_to_dict

    p = conninfo_to_dict(dsn)
    return {"db": p.get("dbname", "postgres"), "host": p.get("host", "localhost"), "port": int(p.get("port", 5432)),
            "pg_user": p.get("user", "postgres"), "pg_password": p.get("password", "")}


def _state_path(ws: Workspace) -> Path:
    return ws.services / "geoserver.json"


def write(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints) -> Path:
    from geo.Geoserver import GeoserverException
    from metadata.records import record_id

    gs = _client(cfg)
    wsn = workspace_name(cfg)
    made: dict[str, list[str]] = {"workspace": [], "stores": [], "layers": [], "styles": []}
    try:
        if not _exists(gs.get_workspace, wsn):
            gs.create_workspace(wsn)
            made["workspace"].append(wsn)
        for ds in cfg.public_datasets:
            layer = layers.get(ds.id)
            if layer is None:
                continue
            store = ds.id
            if not _exists(gs.get_datastore, store, wsn):
                _datastore(gs, layer, store, wsn)
            made["stores"].append(store)
            if _exists(gs.get_layer, ds.id, wsn):
                gs.edit_featuretype(store, wsn, _table(layer), ds.id, ds.title.uk, abstract=ds.abstract.uk,
                                    keywords=ds.keywords.uk + ds.keywords.en)
            else:
                gs.publish_featurestore(store, _table(layer), wsn, title=ds.title.uk, abstract=ds.abstract.uk,
                                        keywords=ds.keywords.uk + ds.keywords.en)
            made["layers"].append(ds.id)
            style = load_style(style_name_for(ds.style, layer.geometry_type))
            if not _exists(gs.get_style, style.name, wsn):
                gs.upload_style(str(style.path), name=style.name, workspace=wsn)
            made["styles"].append(style.name)
            gs.publish_style(ds.id, style.name, wsn)
            _metadata_link(gs, wsn, store, ds.id, ep.record(record_id(cfg, ds.id)))
    except GeoserverException as e:
        raise PublishError(f"GeoServer {cfg.geoserver.url if cfg.geoserver else ''} refused: {e}") from e
    path = _state_path(ws)
    previous = json.loads(path.read_text()) if path.exists() else {}
    for key, values in made.items():
        made[key] = sorted(set(values) | set(previous.get(key, [])))
    write_atomic(path, json.dumps(made, indent=2))
    return path


def _datastore(gs: Any, layer: StoredLayer, store: str, wsn: str) -> None:
    """A GeoServer datastore over the layer's storage. GeoServer has a datastore type per storage, so this is
    the one place that maps our locations to its types; a location it has none for is refused clearly."""
    loc = layer.location.to_dict()
    if loc["backend"] == "postgis":
        gs.create_featurestore(store, workspace=wsn, schema=loc["schema"], **_pg_params(loc["dsn"]))
    elif loc["backend"] == "geopackage":
        gs.create_gpkg_datastore(loc["path"], store_name=store, workspace=wsn)
    else:
        raise PublishError(f"{layer.dataset_id}: GeoServer has no datastore for {layer.location.describe()}")


def _table(layer: StoredLayer) -> str:
    return str(layer.location.to_dict()["table"])


def _metadata_link(gs: Any, wsn: str, store: str, layer: str, href: str) -> None:
    """Attach the ISO record to the feature type (geoserver-rest has no call for it)."""
    body = {"featureType": {"metadataLinks": {"metadataLink": [
        {"type": "text/xml", "metadataType": "ISO19115:2003", "content": href}]}}}
    url = f"{gs.service_url}/rest/workspaces/{wsn}/datastores/{store}/featuretypes/{layer}.json"
    r = gs._requests("put", url, data=json.dumps(body), headers={"Content-Type": "application/json"})
    if r.status_code not in (200, 201):
        raise PublishError(f"GeoServer: metadata link for {wsn}:{layer} refused ({r.status_code}: {r.text[:200]})")


def unpublish(cfg: NodeConfig, ws: Workspace) -> None:
    """Remove from GeoServer exactly what :func:`write` made for this node."""
    path = _state_path(ws)
    if not path.exists():
        return
    state = json.loads(path.read_text())
    gs = _client(cfg)
    wsn = workspace_name(cfg)
    for layer in state.get("layers", []):
        if _exists(gs.get_layer, layer, wsn):
            gs.delete_layer(layer, wsn)
    for store in state.get("stores", []):
        if _exists(gs.get_datastore, store, wsn):
            gs.delete_featurestore(store, wsn)
    for style in state.get("styles", []):
        if _exists(gs.get_style, style, wsn):
            gs.delete_style(style, wsn)
    for w in state.get("workspace", []):
        if _exists(gs.get_workspace, w):
            gs.delete_workspace(w)
    path.unlink()
