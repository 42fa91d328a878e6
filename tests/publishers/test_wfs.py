"""WFS 2.0 of a served node, read by independent clients: GDAL's ogr2ogr copies every feature type into a
GeoPackage with the right count; the GML has one unique gml:id per feature, equal to the feature's
OGC API id (as <typename>.<id>), and a numeric numberMatched."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from lxml import etree

from tests.conftest import ServedNode

WFS = "{http://www.opengis.net/wfs/2.0}"
GML = "{http://www.opengis.net/gml/3.2}"
TYPENAMES = ["oblast-boundary", "hromadas", "nature-protection", "geographic-names"]
OGR2OGR = shutil.which("ogr2ogr", path="/usr/bin") or shutil.which("ogr2ogr")


def ogc_api_ids(node: ServedNode, typename: str) -> list[str]:
    fc = requests.get(f"{node.base_url}/ogcapi/collections/{typename}/items",
                      params={"f": "json", "limit": 10000}, timeout=60).json()
    return [str(f["id"]) for f in fc["features"]]


@pytest.mark.parametrize("typename", TYPENAMES)
@pytest.mark.parametrize("backend", ["demo_node", "postgis_node"])
def test_gml_ids_are_the_ogc_api_ids(request: pytest.FixtureRequest, backend: str, typename: str) -> None:
    demo_node: ServedNode = request.getfixturevalue(backend)
    r = requests.get(demo_node.base_url + "/ows", params={"SERVICE": "WFS", "VERSION": "2.0.0",
                                                          "REQUEST": "GetFeature", "TYPENAMES": typename},
                     timeout=60)
    root = etree.fromstring(r.content)
    members = [m[0] for m in root.iter(WFS + "member")]
    ids = [m.get(GML + "id") for m in members]
    assert len(ids) == len(set(ids)) and None not in ids
    assert sorted(ids) == sorted(f"{typename}.{i}" for i in ogc_api_ids(demo_node, typename))
    assert root.get("numberMatched") == str(len(ids))
    every_id = [el.get(GML + "id") for el in root.iter() if el.get(GML + "id")]
    assert len(every_id) == len(set(every_id))  # geometries' ids too: the document is valid xs:ID-wise


@pytest.mark.skipif(OGR2OGR is None, reason="GDAL's ogr2ogr is not installed")
@pytest.mark.parametrize("typename", TYPENAMES)
def test_ogr2ogr_copies_the_wfs_into_a_geopackage(demo_node: ServedNode, tmp_path: Path, typename: str) -> None:
    out = tmp_path / "out.gpkg"
    url = f"WFS:{demo_node.base_url}/ows?SERVICE=WFS&VERSION=2.0.0"
    proc = subprocess.run([OGR2OGR, "-f", "GPKG", str(out), url, typename], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    info = subprocess.run(["ogrinfo", "-so", "-al", str(out)], capture_output=True, text=True, timeout=60)
    count = next(int(line.split(":")[1]) for line in info.stdout.splitlines() if line.startswith("Feature Count"))
    assert count == len(ogc_api_ids(demo_node, typename)) > 0
