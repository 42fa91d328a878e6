"""The same node stored in PostGIS: every dataset comes out of OGC API Features, WMS and WFS with the
feature count ingest stored, read by OWSLib and GDAL."""

from __future__ import annotations

import json
import subprocess

import pytest
from owslib.ogcapi.features import Features
from owslib.wfs import WebFeatureService
from owslib.wms import WebMapService

pytestmark = [pytest.mark.postgis, pytest.mark.slow]


def test_layers_are_in_postgis(postgis_node) -> None:  # type: ignore[no-untyped-def]
    layers = postgis_node.layers
    backends = {ds: lyr["location"]["backend"] for ds, lyr in layers.items()}
    assert {b for ds, b in backends.items() if ds != "geonames-density"} == {"postgis"}
    assert backends["geonames-density"] == "cog"  # a raster stays a file, whatever the vector storage
    assert layers["hromadas"]["feature_count"] == 6


def test_clients_read_every_dataset(postgis_node) -> None:  # type: ignore[no-untyped-def]
    base = postgis_node.base_url
    api = Features(base + "/ogcapi", timeout=60)
    wms = WebMapService(base + "/ows", version="1.3.0", timeout=60)
    wfs = WebFeatureService(base + "/ows", version="2.0.0", timeout=60)
    for ds, layer in postgis_node.public_layers.items():
        if layer["location"]["backend"] == "cog":
            continue
        n = layer["feature_count"]
        items = api.collection_items(ds, limit=5000)
        assert len(items["features"]) == n, ds
        img = wms.getmap(layers=[ds], styles=[""], srs="EPSG:4326", bbox=tuple(layer["bbox"]), size=(128, 128),
                         format="image/png")
        assert img.read()[:4] == b"\x89PNG", ds
        typename = next(t for t in wfs.contents if t.split(":")[-1] == ds)
        fc = json.loads(wfs.getfeature(typename=[typename], outputFormat="geojson").read())
        assert len(fc["features"]) == n, ds
        out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", f"OAPIF:{base}/ogcapi/collections/{ds}"],
                             capture_output=True, text=True, timeout=120)
        assert f"Feature Count: {n}" in out.stdout, (ds, out.stdout[-800:], out.stderr[-800:])
