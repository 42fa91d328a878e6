"""The landing page rendered from the sample config: links only for the services that publish a dataset,
WFS types namespaced, counts in Ukrainian, and a template that names a missing attribute fails the build
instead of printing a Python repr into a link."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import jinja2
import pytest

from geoportal import landing
from geoportal.config import load_config
from geoportal.model import Endpoints, FieldInfo, StoredLayer
from ingest.store.gpkg import GpkgTable

ROOT = Path(__file__).resolve().parents[2]


def _layer(ds_id: str, n: int) -> StoredLayer:
    return StoredLayer(dataset_id=ds_id, location=GpkgTable("/nonexistent.gpkg", ds_id), geometry_type="Point",
                       feature_count=n, bbox=(27.0, 50.0, 29.0, 51.0), crs="EPSG:4326",
                       fields=(FieldInfo("name", "string"),), checksum="0" * 64, version=1,
                       loaded_at="2026-01-01T00:00:00Z")


def test_links_follow_the_services_of_each_dataset() -> None:
    cfg = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
    only_ogc = cfg.public_datasets[0].model_copy(update={"services": ["ogcapi", "downloads"]})
    cfg = cfg.model_copy(update={"datasets": [only_ogc, *cfg.datasets[1:]]})
    counts = [1, 3, 5, 21]
    layers = {ds.id: _layer(ds.id, n) for ds, n in zip(cfg.public_datasets, counts) if not ds.is_raster}
    page = landing.render(cfg, layers, Endpoints("http://node.example"))
    assert "built-in method" not in page and "bound method" not in page
    assert 'action="http://node.example/search"' in page and 'name="q"' in page  # the search box on every node
    sections = dict(re.findall(r'<section class="ds" id="([^"]+)">(.*?)</section>', page, re.S))
    first, second = sections[only_ogc.id], sections[cfg.public_datasets[1].id]
    assert "REQUEST=GetMap" not in first and "REQUEST=GetFeature" not in first
    assert f'href="http://node.example/ogcapi/collections/{only_ogc.id}/items?f=html"' in first
    hrefs = [unescape(h) for h in re.findall(r'href="([^"]+)"', second)]
    assert any(f"TYPENAMES=gp:{cfg.public_datasets[1].id}" in h for h in hrefs), hrefs
    assert any(f"LAYERS={cfg.public_datasets[1].id}&" in h for h in hrefs), hrefs
    assert [re.search(r"(\d+ об’єкт\w*)", sections[d.id]).group(1) for d in cfg.public_datasets[:4]] == \
        ["1 об’єкт", "3 об’єкти", "5 об’єктів", "21 об’єкт"]


def test_a_template_naming_a_missing_attribute_fails_the_build(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "landing.html").write_text("{% for r in rows %}<a href=\"{{ r.items }}\">x</a>{% endfor %}")
    monkeypatch.setattr(landing, "TEMPLATES", tmp_path)
    cfg = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
    layers = {ds.id: _layer(ds.id, 1) for ds in cfg.public_datasets if not ds.is_raster}
    with pytest.raises(jinja2.UndefinedError):
        landing.render(cfg, layers, Endpoints("http://node.example"))
