"""QGIS users: every layer of the served node loads in PyQGIS through WMS, WFS, OGC API Features and the
downloaded GeoPackage — valid, with the right feature count, the GeoPackage already styled, and a map
that is not blank. PyQGIS runs with the SYSTEM python (Debian python3-qgis) as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

QGIS_PYTHON = "/usr/bin/python3"
CHECK = Path(__file__).with_name("qgis_check.py")


def _has_pyqgis() -> bool:
    if not Path(QGIS_PYTHON).exists():
        return False
    return subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode == 0


pytestmark = [pytest.mark.qgis, pytest.mark.slow,
              pytest.mark.skipif(not _has_pyqgis(), reason="PyQGIS (Debian python3-qgis) is not installed")]


def run_qgis(specs: list[dict], tmp_path: Path) -> dict[tuple[str, str], dict]:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(specs))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PATH"] = "/usr/bin:/bin"
    out = subprocess.run([QGIS_PYTHON, str(CHECK), str(spec)], capture_output=True, text=True, env=env,
                         timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("[")][-1]
    return {(r["name"], r["provider"]): r for r in json.loads(line)}


@pytest.fixture(params=["geopackage", "postgis"])
def served(request):  # type: ignore[no-untyped-def]
    return request.getfixturevalue("demo_node" if request.param == "geopackage" else "postgis_node")


def test_every_layer_loads_in_qgis(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = served.base_url
    layers = served.public_layers  # what anonymous QGIS gets (the rest: tests/geoportal/test_access_views.py)
    specs = []
    rasters = {ds for ds, layer in layers.items() if layer["location"]["backend"] == "cog"}
    for ds in rasters:  # a GeoTIFF: a WMS layer and the Cloud-Optimised GeoTIFF download
        tif = tmp_path / f"{ds}.tif"
        with urllib.request.urlopen(f"{base}/downloads/{ds}.tif", timeout=60) as r:
            tif.write_bytes(r.read())
        specs += [
            {"name": ds, "provider": "wms", "render": True, "png": str(tmp_path / f"{ds}-wms.png"),
             "uri": f"crs=EPSG:4326&format=image/png&layers={ds}&styles=&url={base}/ows"},
            {"name": ds, "provider": "gdal", "render": True, "png": str(tmp_path / f"{ds}-tif.png"), "uri": str(tif)},
        ]
    layers = {ds: layer for ds, layer in layers.items() if ds not in rasters}
    for ds, layer in layers.items():
        gpkg = tmp_path / f"{ds}.gpkg"
        with urllib.request.urlopen(f"{base}/downloads/{ds}.gpkg", timeout=60) as r:
            gpkg.write_bytes(r.read())
        specs += [
            {"name": ds, "provider": "wms", "render": True, "png": str(tmp_path / f"{ds}-wms.png"),
             "uri": f"crs=EPSG:4326&format=image/png&layers={ds}&styles=&url={base}/ows"},
            {"name": ds, "provider": "WFS", "render": True, "png": str(tmp_path / f"{ds}-wfs.png"),
             "uri": f"url='{base}/ows' typename='gp:{ds}' version='2.0.0' srsname='EPSG:4326'"},
            {"name": ds, "provider": "OAPIF", "render": True, "png": str(tmp_path / f"{ds}-oapif.png"),
             "uri": f"url='{base}/ogcapi' typename='{ds}'"},
            {"name": ds, "provider": "ogr", "render": True, "png": str(tmp_path / f"{ds}-gpkg.png"),
             "uri": f"{gpkg}|layername={ds}"},
        ]
    results = run_qgis(specs, tmp_path)
    problems = []
    for ds in rasters:
        for provider in ("wms", "gdal"):
            r = results[(ds, provider)]
            if not r["valid"] or r.get("colours", 0) < 2:
                problems.append(f"{ds} via {provider}: {'not valid' if not r['valid'] else 'blank map'}")
    for ds, layer in layers.items():
        for provider in ("wms", "WFS", "OAPIF", "ogr"):
            r = results[(ds, provider)]
            if not r["valid"]:
                problems.append(f"{ds} via {provider}: not valid ({r.get('log')})")
                continue
            if provider != "wms" and r["count"] != layer["feature_count"]:
                problems.append(f"{ds} via {provider}: {r['count']} features, expected {layer['feature_count']}")
            if r.get("colours", 0) < 2:
                problems.append(f"{ds} via {provider}: blank map")
        gp = results[(ds, "ogr")]
        expected_renderer = "RuleRenderer" if ds == "nature-protection" else "singleSymbol"
        if gp.get("renderer") != expected_renderer:
            problems.append(f"{ds} GeoPackage: renderer {gp.get('renderer')}, style from layer_styles not applied")
    assert results[("hromadas", "ogr")]["labels"], "hromada labels from the SLD are not applied in QGIS"
    assert not problems, "\n".join(problems)


def test_qgis_shows_the_original_headers_of_a_downloaded_geopackage(demo_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The QML aliases in ``layer_styles`` are what QGIS shows in the attribute table and the identify
    panel: the Ukrainian header, not the transliterated column."""
    gpkg = tmp_path / "nature-protection.gpkg"
    with urllib.request.urlopen(f"{demo_node.base_url}/downloads/nature-protection.gpkg", timeout=60) as r:
        gpkg.write_bytes(r.read())
    r = run_qgis([{"name": "nature-protection", "provider": "ogr", "uri": f"{gpkg}|layername=nature-protection"}],
                 tmp_path)[("nature-protection", "ogr")]
    assert r["valid"]
    assert r["aliases"]["reiestratsiinyi_nomer"] == "Реєстраційний номер", r["aliases"]
    assert r["aliases"]["raion"] == "Район"
