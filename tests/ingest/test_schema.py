"""A target schema: fields mapped and typed, codelists enforced, failures kept in <dataset>__rejected."""

from __future__ import annotations

from pathlib import Path

import pyogrio

from ingest import ingest_file
from ingest.pipeline import Plan
from ingest.schema import load_schema

ROOT = Path(__file__).resolve().parents[2]


def test_schema_codelist_and_rejected_layer(tmp_path):
    schema = load_schema(ROOT / "config" / "schemas" / "geographic-names.yaml")
    layer = ingest_file(ROOT / "data" / "geonames-ua" / "fiz-geo-zhytomyrska.csv", tmp_path / "o.gpkg", "names",
                        plan=Plan(schema=schema))
    rep = layer.report
    assert rep.features_read == 1587
    assert rep.features_written + rep.features_rejected == 1587  # nothing silently dropped
    assert rep.features_rejected > 0 and "value not valid" in rep.rejected_by_reason
    meta = pyogrio.read_info(tmp_path / "o.gpkg", layer="names")
    assert list(meta["fields"]) == ["reg_number", "name_uk", "name_latn", "kind", "raion_old"]
    _, _, _, rej = pyogrio.raw.read(tmp_path / "o.gpkg", layer="names__rejected")
    info = pyogrio.read_info(tmp_path / "o.gpkg", layer="names__rejected")
    reasons = rej[list(info["fields"]).index("reject_reason")]
    assert all("field kind" in r and "codelist" in r for r in reasons)
    assert rep.field_titles["kind"] == "Вид географічного об'єкту"


def test_units_and_types(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "name: t\nfields:\n  - {name: area_ha, source: Площа, type: number, unit: {from: m2, to: ha}}\n"
        "  - {name: n, source: Кількість, type: integer, required: true}\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text("Площа;Кількість;lat;lon\n25 000;3;50.2;28.6\n1,5;x;50.3;28.7\n",
                                    encoding="cp1251")
    layer = ingest_file(tmp_path / "t.csv", tmp_path / "o.gpkg", "t", plan=Plan(schema=load_schema(tmp_path / "s.yaml")))
    assert layer.feature_count == 1 and layer.report.rejected_by_reason == {"value not valid": 1}
    _, _, _, data = pyogrio.raw.read(tmp_path / "o.gpkg", layer="t")
    assert data[0][0] == 2.5 and data[1][0] == 3
