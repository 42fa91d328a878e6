"""The sample node through load_dataset, checked by an independent read (ogrinfo, a fresh pyogrio read)."""

from __future__ import annotations

import json

import pyogrio
import pytest

from geoportal.model import Workspace
from ingest import load_dataset
from ingest_testlib import ogr_count

EXPECTED = {"oblast-boundary": 1, "hromadas": 6, "nature-protection": 161, "geographic-names": 1587,
            "investment-sites": 8,
            "nature-protection-register": 161}  # the same sites from the register's CSV (for officials)


@pytest.fixture(scope="module")
def built(cfg, tmp_path_factory):
    ws = Workspace.for_node(cfg, tmp_path_factory.mktemp("ws"))
    layers = {ds.id: load_dataset(cfg, ds, ws) for ds in cfg.datasets}
    return ws, layers


def test_counts_by_ogrinfo(cfg, built):
    ws, layers = built
    for ds_id, n in EXPECTED.items():
        assert layers[ds_id].feature_count == n
        assert ogr_count(ws.data_dir(cfg) / f"{ds_id}.gpkg", ds_id) == n
        rep = json.loads((ws.reports / f"{ds_id}.json").read_text(encoding="utf-8"))
        assert rep["features_read"] == rep["features_written"] == n
    assert set(ws.read_layers()) == set(EXPECTED) | {d.id for d in cfg.datasets if d.is_raster}


def test_lookalike_letters_repaired_and_katotth_linked(cfg, built):
    ws, layers = built
    _, _, _, data = pyogrio.raw.read(ws.data_dir(cfg) / "hromadas.gpkg", layer="hromadas", columns=["admin_3", "cod_3",
                                                                                  "katotth_hromada", "katotth_raion",
                                                                                  "katotth_oblast", "admin_linked_by"])
    names = set(data[0])
    assert "Овруцька" in names and all(all(not ("a" <= c <= "z") for c in n.lower()) for n in names)
    assert list(data[1]) == list(data[2])  # the hromada found by position is the one the source names
    assert set(data[3]) == {"UA18060000000021754"} and set(data[4]) == {"UA18000000000041385"}
    rep = layers["hromadas"].report
    assert rep.text_values_repaired >= 6
    assert rep.field_titles["admin_3"] == "ADMIN_3"
    assert rep.encoding == "UTF-8" and ".cpg" in rep.encoding_decided_by


def test_geographic_names_linked_by_old_raion(cfg, built):
    ws, layers = built
    linked = layers["geographic-names"].report.admin_linked_by
    assert linked.get("old_raion_name", 0) > 100
    _, _, _, data = pyogrio.raw.read(ws.data_dir(cfg) / "geographic-names.gpkg", layer="geographic-names", columns=["katotth_oblast"])
    assert (data[0] == "UA18000000000041385").sum() > 1400


def test_rerun_skips_force_makes_version_and_rollback(cfg, built, tmp_path):
    from click.testing import CliRunner

    from ingest.cli import history_cmd, rollback_cmd

    ws, layers = built
    ds = cfg.dataset("nature-protection")
    gpkg = ws.data_dir(cfg) / "nature-protection.gpkg"
    before = gpkg.stat().st_mtime_ns
    again = load_dataset(cfg, ds, ws)
    assert again.version == layers[ds.id].version and gpkg.stat().st_mtime_ns == before
    v2 = load_dataset(cfg, ds, ws, force=True)
    assert v2.version == layers[ds.id].version + 1
    r = CliRunner().invoke(history_cmd, [ds.id, "--config", str(cfg.config_path), "--workdir", str(ws.root)])
    assert r.exit_code == 0, r.output
    assert "* v2" in r.output and "  v1" in r.output
    r = CliRunner().invoke(rollback_cmd, [ds.id, "1", "--config", str(cfg.config_path), "--workdir", str(ws.root)])
    assert r.exit_code == 0, r.output
    assert ws.read_layers()[ds.id].version == 1
    assert ogr_count(gpkg, ds.id) == 161
    _, _, _, prov = pyogrio.raw.read(gpkg, layer="nature-protection__provenance", read_geometry=False)
    assert list(prov[0]) == [1]
    # the audit log says who loaded and who rolled back, and its chain holds
    from access.audit import AuditLog

    log = AuditLog(ws.root / "audit.log")
    mine = [(e["action"], e["detail"].get("version")) for e in log.query(dataset=ds.id)]
    assert ("ingest", 1) in mine and ("ingest", 2) in mine and mine[-1] == ("rollback", 1)
    assert ("ingest", 1) not in mine[mine.index(("ingest", 1)) + 1:]  # the skipped re-run is no change
    assert all(e["actor"].startswith("cli:") and e["outcome"] == "ok" for e in log.query(dataset=ds.id))
    assert log.verify() == len(list(log.entries()))


def test_manifest_and_report_follow_the_store_after_rollback(cfg, built):
    """The store's history is the one record: after a rollback through the CLI the manifest and the quality
    report say the rolled-back version; after one done on the store directly, the next ingest re-syncs."""
    from click.testing import CliRunner

    from ingest.cli import rollback_cmd
    from ingest.store import open_store

    ws, _ = built
    ds = cfg.dataset("oblast-boundary")
    gpkg = ws.data_dir(cfg) / f"{ds.id}.gpkg"
    first = load_dataset(cfg, ds, ws).version
    newer = load_dataset(cfg, ds, ws, force=True).version
    assert newer == first + 1
    r = CliRunner().invoke(rollback_cmd, [ds.id, str(first), "--config", str(cfg.config_path),
                                          "--workdir", str(ws.root)])
    assert r.exit_code == 0, r.output
    assert json.loads(ws.manifest.read_text(encoding="utf-8"))[ds.id]["version"] == first
    assert json.loads((ws.reports / f"{ds.id}.json").read_text(encoding="utf-8"))["version"] == first
    # roll forward on the store only (as `geoportal rollback --into FILE` does): the manifest is stale...
    open_store(gpkg).rollback(ds.id, newer)
    assert ws.read_layers()[ds.id].version == first
    # ...until the next ingest, which takes the version from the store, not from the manifest
    again = load_dataset(cfg, ds, ws)
    current = next(r for r in open_store(gpkg).history(ds.id) if r["current"])
    assert again.version == current["version"] == newer == ws.read_layers()[ds.id].version
    _, _, _, prov = pyogrio.raw.read(gpkg, layer=f"{ds.id}__provenance", read_geometry=False)
    assert list(prov[0])[-1] == newer  # what the file itself says
