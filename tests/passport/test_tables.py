"""Non-spatial indicators: tables keyed by KATOTTH or by the old KOATUU codes (mapped through the cross-walk),
and passport.yaml errors that name the key path."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from geoportal.config import load_config
from geoportal.errors import ConfigError
from passport.compute_gpkg import GpkgEngine
from passport.compute import compute
from passport.config import load_passport_config

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config/nodes/zhytomyr-oblast.yaml"
KAT = ROOT / "data/katotth"


def _codifier_hromada_of() -> dict[str, str]:
    """Settlement KATOTTH → hromada KATOTTH, read straight from the codifier columns."""
    with open(KAT / "kodifikator-16-05-2025_UA18_zhytomyr.csv", encoding="utf-8") as f:
        return {r[3]: r[2] for r in list(csv.reader(f, delimiter=";"))[1:] if r[3]}


def _passport(tmp: Path, body: str) -> Path:
    p = tmp / "passport.yaml"
    p.write_text('area_crs: "EPSG:3035"\nhromadas: {dataset: hromadas, code_field: cod_3}\n' + body, encoding="utf-8")
    return p


def test_former_councils_through_the_koatuu_codes() -> None:
    """The shipped indicator: councils listed by their KOATUU code, counted per hromada."""
    cfg = load_config(CONFIG)
    pcfg = load_passport_config(ROOT / "config/passport.yaml")
    res = compute(cfg, pcfg, {}, GpkgEngine())
    with open(KAT / "rada_hromada_UA18_zhytomyr.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for h in res.hromadas:
        expected = sum(1 for r in rows if r["hromada_code"] == h.katotth)
        assert res.values["former_councils"][h.katotth].value == expected, h.name_uk
    assert sum(v.value for v in res.values["former_councils"].values()) == len(rows) == 630
    v = res.values["former_councils"]["UA18060170000069581"]
    assert v.source == "rada_hromada_UA18_zhytomyr.csv" and v.version.startswith("sha256:") and v.loaded_at
    assert not res.warnings


def test_a_table_of_settlements_by_koatuu_lands_in_todays_hromadas(tmp_path: Path) -> None:
    """Figures published per settlement under the old KOATUU codes (e.g. a 2019 school census), summed into
    the hromadas through the official cross-walk; rows of an old raion are reported, not guessed."""
    up = _codifier_hromada_of()
    with open(KAT / "katotth_koatuu_UA18_zhytomyr.csv", encoding="utf-8") as f:
        walk = [(r[0], r[1].strip()) for r in list(csv.reader(f))[1:] if r[1].strip()]
    rng = np.random.default_rng(2019)
    rows, expected = [], {}
    with open(KAT / "rada_hromada_UA18_zhytomyr.csv", encoding="utf-8") as f:
        council_codes = {r["rada_code"] for r in csv.DictReader(f)}
    for katotth, koatuu in walk:
        if katotth in up and koatuu not in council_codes:  # settlements (a council's own code is its council's)
            pupils = int(rng.integers(0, 500))
            rows.append({"koatuu": koatuu, "pupils": pupils, "kind": "школа"})
            expected[up[katotth]] = expected.get(up[katotth], 0) + pupils
    rows.append({"koatuu": "1821100000", "pupils": 999, "kind": "школа"})  # an old raion: no single hromada
    table = tmp_path / "schools_2019.csv"
    with open(table, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.DictWriter(f, ["koatuu", "pupils", "kind"], delimiter=";")
        w.writeheader()
        w.writerows(rows)
    pcfg = load_passport_config(_passport(tmp_path, """
tables:
  schools: {path: schools_2019.csv, key: koatuu, key_type: koatuu}
indicators:
  - {id: pupils, title: {uk: Учні, en: Pupils}, aggregate: sum, source: "table:schools", field: pupils,
     filter: {field: kind, equals: школа}, unit: {uk: осіб, en: people}}
"""))
    res = compute(load_config(CONFIG), pcfg, {}, GpkgEngine())
    assert len(rows) > 1000 and len(expected) == 66
    for h in res.hromadas:
        assert res.values["pupils"][h.katotth].value == expected[h.katotth], h.name_uk
    assert len(res.warnings) == 1 and "1 row(s) map to no single hromada" in res.warnings[0]


def test_codifier_categories_typed_in_cyrillic_still_count(tmp_path: Path) -> None:
    pcfg = load_passport_config(_passport(tmp_path, """
indicators:
  - {id: villages, title: {uk: Села, en: Villages}, aggregate: count_table, source: "table:codifier",
     filter: {field: category, equals: С}, unit: {uk: од., en: units}}
"""))
    res = compute(load_config(CONFIG), pcfg, {}, GpkgEngine())
    assert sum(v.value for v in res.values["villages"].values()) == 1595  # the Latin "C" rows of the codifier


@pytest.mark.parametrize("body, message", [
    ("indicators:\n  - {id: x, title: {uk: a, en: b}, aggregate: length, source: 'table:population', "
     "unit: {uk: a, en: b}}", "indicators[0]: aggregate 'length' needs geometry"),
    ("indicators:\n  - {id: x, title: {uk: a, en: b}, aggregate: count, source: 'table:schools', "
     "unit: {uk: a, en: b}}", "reads table 'schools', which is neither built in"),
    ("tables:\n  s: {key: k}\nindicators: []", "tables.s: a table has exactly one of"),
    ("indicators:\n  - {id: x, title: {uk: a, en: b}, aggregate: sum, source: roads, unit: {uk: a, en: b}}",
     "indicators[0]: aggregate 'sum' needs field"),
    ("indicators:\n  - {id: x, title: {uk: a}, aggregate: count, source: roads, unit: {uk: a, en: b}}",
     "indicators[0].title.en: missing"),
])
def test_config_errors_name_the_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_passport_config(_passport(tmp_path, body))
    assert "passport.yaml" in str(e.value) and message in str(e.value), str(e.value)
    assert "passport configuration" in str(e.value)
    yaml.safe_load(body)  # the YAML itself was fine: the model caught it


@pytest.mark.parametrize("crs, message", [("EPSG:4326", "need a projected"), ("EPSG:99999999", "not a CRS")])
def test_area_crs_must_be_projected(tmp_path: Path, crs: str, message: str) -> None:
    p = tmp_path / "passport.yaml"
    p.write_text(f'area_crs: "{crs}"\nhromadas: {{dataset: h, code_field: c}}\nindicators: []\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=f"area_crs: .*{message}"):
        load_passport_config(p)
