"""A change in a reference input (KATOTTH codifier, boundary layer) re-links the datasets that use it: the
skip fingerprint covers their content, so no KATOTTH code goes stale. Checked by reading the GeoPackage
with sqlite3."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pyogrio
import pytest

from geoportal.model import Workspace
from ingest import load_dataset

OVRUCH = "UA18060170000069581"
OLEVSK = "UA18060190000071101"
NEW_RAION = "UA18990000000012345"


def _values(gpkg: Path, table: str, column: str, where: str = "1") -> list:
    with sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True) as c:
        return [r[0] for r in c.execute(f'SELECT "{column}" FROM "{table}" WHERE {where}')]


@pytest.fixture
def node(cfg, tmp_path):
    """The sample node, with its codifier and boundary shapefile copied where the test can change them."""
    codifier = tmp_path / "codifier.csv"
    shutil.copy(cfg.resolve(cfg.reference.codifier), codifier)
    src = cfg.resolve(cfg.dataset("hromadas").source)
    bdir = tmp_path / "boundaries"
    bdir.mkdir()
    for f in src.parent.glob(src.stem + ".*"):
        shutil.copy(f, bdir / f.name)
    datasets = [d.model_copy(update={"source": bdir / src.name}) if d.id == "hromadas" else d for d in cfg.datasets]
    node_cfg = cfg.model_copy(update={"reference": cfg.reference.model_copy(update={"codifier": codifier}),
                                      "datasets": datasets})
    return node_cfg, Workspace.for_node(node_cfg, tmp_path / "ws").ensure(), codifier, bdir / src.name


def test_changed_codifier_relinks(node):
    cfg, ws, codifier, _ = node
    ds = cfg.dataset("nature-protection")
    first = load_dataset(cfg, ds, ws)
    gpkg = ws.data_dir(cfg) / f"{ds.id}.gpkg"
    assert load_dataset(cfg, ds, ws).version == first.version  # nothing changed: skipped
    linked = _values(gpkg, ds.id, "katotth_raion", f"katotth_hromada = '{OVRUCH}'")
    assert linked and NEW_RAION not in linked
    # the codifier moves Ovruch hromada to another raion
    lines = codifier.read_text(encoding="utf-8-sig").splitlines()
    row = next(i for i, x in enumerate(lines) if x.split(";")[2] == OVRUCH and not x.split(";")[3])
    cells = lines[row].split(";")
    cells[1] = NEW_RAION
    lines[row] = ";".join(cells)
    codifier.write_text("\n".join(lines) + "\n", encoding="utf-8")
    again = load_dataset(cfg, ds, ws)
    assert again.version == first.version + 1
    assert set(_values(gpkg, ds.id, "katotth_raion", f"katotth_hromada = '{OVRUCH}'")) == {NEW_RAION}


def test_changed_boundaries_relink(node):
    cfg, ws, _, shp = node
    ds = cfg.dataset("geographic-names")
    first = load_dataset(cfg, ds, ws)
    gpkg = ws.data_dir(cfg) / f"{ds.id}.gpkg"
    before = {c: len(_values(gpkg, ds.id, "fid", f"katotth_hromada = '{c}'")) for c in (OVRUCH, OLEVSK)}
    assert before[OVRUCH] > 0 and before[OLEVSK] > 0 and before[OVRUCH] != before[OLEVSK]
    # the boundary layer had the codes of Ovruch and Olevsk hromadas swapped; now corrected the other way
    # (read and written with pyogrio's Arrow API: no geopandas in the node's environment)
    import pyarrow.compute as pc

    meta, table = pyogrio.read_arrow(shp)
    codes = table.column("COD_3")
    swapped = pc.if_else(pc.equal(codes, OVRUCH), OLEVSK, pc.if_else(pc.equal(codes, OLEVSK), OVRUCH, codes))
    table = table.set_column(table.schema.get_field_index("COD_3"), "COD_3", swapped)
    pyogrio.write_arrow(table, shp, driver="ESRI Shapefile", geometry_name=meta["geometry_name"] or "wkb_geometry",
                        geometry_type=meta["geometry_type"], crs=meta["crs"], encoding="UTF-8")
    again = load_dataset(cfg, ds, ws)
    assert again.version == first.version + 1
    assert len(_values(gpkg, ds.id, "fid", f"katotth_hromada = '{OLEVSK}'")) == before[OVRUCH]
    assert len(_values(gpkg, ds.id, "fid", f"katotth_hromada = '{OVRUCH}'")) == before[OLEVSK]
