"""Extension points: a site adds a publisher with one module and one registry line, and it appears
everywhere the node describes its services — the config accepts its service name, the build runs it, the ISO
dataset record links to it, the catalog gets its service record. Names nobody registered are refused with
the names that exist."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from lxml import etree

from geoportal import plugins
from geoportal.config import absolutize, load_config
from geoportal.errors import ConfigError
from geoportal.model import Workspace

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "nodes" / "zhytomyr-oblast.yaml"

TOY = '''
"""A toy publisher: a JSON list of the node's layers at /toy/layers.json."""
import json
from geoportal.model import write_atomic
from geoportal.services import Distribution, Service

SERVICES = (Service(name="toyapi", title="Toy API 1.0", long_title="Toy layer list", protocol="TOY:API",
                    service_type="other", operation="list", path="/toy", capabilities="/layers.json",
                    media_types=("application/json",)),)


def write(cfg, ws, layers, ep):
    path = ws.services / "toy-layers.json"
    write_atomic(path, json.dumps({k: v.location.describe() for k, v in layers.items()}))
    return path


def distributions(ds, layer, ep):
    return [Distribution("toyapi", ep.base_url + "/toy/layers.json#" + ds.id, "TOY:API", ds.id, "Іграшка",
                         "Toy", "application/json", "JSON")]
'''


@pytest.fixture()
def toy_publisher(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    (tmp_path / "toy_publisher.py").write_text(textwrap.dedent(TOY), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(plugins.PLUGINS["publisher"], "toy", "toy_publisher")  # the one registry line
    yield
    sys.modules.pop("toy_publisher", None)


def _config(tmp_path: Path, **changes: object) -> Path:
    raw = absolutize(yaml.safe_load(SAMPLE.read_text(encoding="utf-8")), SAMPLE.parent)
    raw.pop("passport", None)
    raw.pop("access", None)  # its rules name datasets this copy leaves out
    raw["reference"] = {k: v for k, v in raw.get("reference", {}).items() if k not in ("boundaries", "territory")}
    raw["datasets"] = [d for d in raw["datasets"] if d["id"] == "oblast-boundary"]
    raw.update(changes)
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_a_toy_publisher_appears_everywhere(tmp_path, toy_publisher) -> None:  # type: ignore[no-untyped-def]
    from geoportal.build import build
    from metadata.records import record_id

    raw_ds = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))["datasets"][0]
    services = ["ogcapi", "wms", "wfs", "downloads", "toyapi"]
    cfg = load_config(_config(tmp_path, publisher="toy",
                              datasets=[dict(absolutize({"datasets": [raw_ds]}, SAMPLE.parent)["datasets"][0],
                                             services=services)]))
    ws = Workspace(tmp_path / "ws")
    result = build(cfg, ws, "http://node.example.org")
    assert "oblast-boundary" in (ws.services / "toy-layers.json").read_text(encoding="utf-8")
    record = (ws.records / f"{record_id(cfg, 'oblast-boundary')}.xml").read_bytes()
    ns = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco"}
    protocols = etree.fromstring(record).xpath("//gmd:CI_OnlineResource/gmd:protocol/gco:CharacterString/text()",
                                                namespaces=ns)
    assert "TOY:API" in protocols and "OGC:WMS" in protocols
    assert record_id(cfg, "service-toyapi") in result.records  # the catalog describes the new service too


def test_unknown_names_are_refused_with_what_exists(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"storage.backend: no store 'oracle' \(known: geopackage, postgis"):
        load_config(_config(tmp_path, storage={"backend": "oracle"}))
    with pytest.raises(ConfigError, match=r"publisher: no publisher 'arcgis'"):
        load_config(_config(tmp_path, publisher="arcgis"))
    with pytest.raises(ConfigError, match=r"children\[0\].type: no harvester 'ckan'"):
        load_config(_config(tmp_path, children=[{"id": "x", "url": "http://x.example.org", "type": "ckan"}]))
    raw_ds = dict(yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))["datasets"][0], services=["ogcapi", "wmts"])
    with pytest.raises(ConfigError, match=r"datasets\[0\].services: no service 'wmts' on this node"):
        load_config(_config(tmp_path, datasets=[absolutize({"datasets": [raw_ds]}, SAMPLE.parent)["datasets"][0]]))


def test_a_raster_is_refused_by_feature_services(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ds = {"id": "density", "source": str(ROOT / "data/derived/geonames-density.tif"), "title": {"uk": "Р", "en": "R"},
          "abstract": {"uk": "Р", "en": "R"}, "services": ["wms", "wfs"]}
    with pytest.raises(ConfigError, match=r"a raster \(GeoTIFF\) is served by wms and downloads only, not by wfs"):
        load_config(_config(tmp_path, datasets=[ds]))
    ds.pop("services")
    assert load_config(_config(tmp_path, datasets=[ds])).datasets[0].services == ["wms", "downloads"]


def test_every_registered_plugin_imports() -> None:
    for kind, table in plugins.PLUGINS.items():
        for name in table:
            assert plugins.load(kind, name) is not None, (kind, name)
