"""Reference tables are checked when read, by both readers (KATOTTH linking and the passport): a broken
table is refused with the file, the line, the problem and what to do — never a silently thinner linking."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from geoportal.errors import ConfigError
from ingest.admin import build_index

KAT = Path(__file__).resolve().parents[2] / "data" / "katotth"
FILES = {"codifier": "kodifikator-16-05-2025_UA18_zhytomyr.csv",
         "koatuu_crosswalk": "katotth_koatuu_UA18_zhytomyr.csv",
         "councils": "rada_hromada_UA18_zhytomyr.csv",
         "population": "ua-pop-2022_UA18_zhytomyr.csv"}


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8-sig").splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _conflict(ls: list[str]) -> list[str]:
    return ls[:5] + ["<<<<<<< HEAD", ls[5], "=======", ls[5], ">>>>>>> theirs"] + ls[6:]


def _cell(ls: list[str], line: int, col: int, value: str, sep: str = ",") -> list[str]:
    cells = ls[line - 1].split(sep)
    cells[col] = value
    return ls[:line - 1] + [sep.join(cells)] + ls[line:]


CASES = {
    # name: (table, mutation, expected message parts)
    "codifier_conflict": ("codifier", _conflict, ["line 6", "merge-conflict marker", "resolve"]),
    "codifier_bad_code": ("codifier", lambda ls: _cell(ls, 4, 2, "UA1802001000005990", ";"),
                          ["line 4", "'UA1802001000005990' is not a KATOTTH code", "'UA' and 17 digits"]),
    "codifier_duplicate": ("codifier", lambda ls: ls + [ls[3]], ["line 1743", "first on line 4"]),
    "codifier_stray_line": ("codifier", lambda ls: ls[:10] + ["Житомирська"] + ls[10:],
                            ["line 11", "1 cells where the header has 7", "stray"]),
    "crosswalk_lost_zero": ("koatuu_crosswalk", lambda ls: _cell(ls, 3, 1, "182080000"),
                            ["line 3", "'182080000' is not a KOATUU code", "leading 0"]),
    "crosswalk_swapped": ("koatuu_crosswalk",
                          lambda ls: [",".join([c.split(",")[1], c.split(",")[0], *c.split(",")[2:]]) for c in ls],
                          ["line 2", "KOATUU code is in the first column"]),
    "crosswalk_maps_nothing": ("koatuu_crosswalk", lambda ls: [ls[0]] + [_cell(ls, i, 1, "")[i - 1]
                                                                        for i in range(2, len(ls) + 1)],
                               ["maps no KOATUU code"]),
    "crosswalk_duplicate": ("koatuu_crosswalk", lambda ls: ls + [ls[1]], ["KATOTTH UA18000000000041385 again"]),
    "councils_missing_column": ("councils", lambda ls: [ls[0].replace("rai_center", "raion")] + ls[1:],
                                ["line 1", "no column 'rai_center'"]),
    "councils_duplicate": ("councils", lambda ls: ls + [ls[1]], ["council '1824080600' again", "first on line 2"]),
    "councils_bad_hromada": ("councils", lambda ls: _cell(ls, 2, 2, "18080230000071226"),
                             ["line 2", "hromada_code '18080230000071226' is not a KATOTTH code"]),
}


@pytest.fixture
def tables(cfg, tmp_path):
    for f in FILES.values():
        shutil.copy(KAT / f, tmp_path / f)
    ref = cfg.reference.model_copy(update={k: tmp_path / f for k, f in FILES.items()} | {"boundaries": None})
    return cfg.model_copy(update={"reference": ref}), tmp_path


@pytest.mark.parametrize("case", list(CASES))
def test_broken_reference_table_refused_by_both_readers(tables, case):
    from passport.tables import Tables

    cfg, folder = tables
    key, mutate, expected = CASES[case]
    path = folder / FILES[key]
    _write(path, mutate(_lines(path)))
    with pytest.raises(ConfigError) as linking:
        build_index(cfg, None)
    msg = str(linking.value)
    assert msg.startswith(str(path)) and all(e in msg for e in expected), msg
    assert linking.value.exit_code == 2
    with pytest.raises(ConfigError) as passport:  # the passport reads the same tables through the same checks
        Tables(cfg)._koatuu_index() if key != "codifier" else Tables(cfg)
    assert str(passport.value) == msg


def test_population_one_row_per_hromada(tables):
    from passport.tables import Tables

    cfg, folder = tables
    path = folder / FILES["population"]
    ls = _lines(path)
    _write(path, ls + [ls[1].replace("19530", "19531")])
    with pytest.raises(ConfigError, match=rf"{path.name}, line {len(ls) + 1}: hromada_code 'UA18020010000059904' "
                                          r"again \(first on line 2\)"):
        Tables(cfg).load("population")


def test_shipped_tables_pass_and_link_as_before(tables):
    cfg, _ = tables
    idx = build_index(cfg, None)
    assert len(idx.parents) == 1741 and len(idx.old_raions) > 5
    assert idx.koatuu["1824080600"] == "UA18080230000071226"  # a council's own code beats the cross-walk
    assert idx.koatuu["1820310100"] == "UA18020010000059904"


def test_validate_config_reads_the_reference_tables(tmp_path: Path) -> None:
    """`geoportal validate-config` finds a broken reference table before any build: exit 2, file and line."""
    import yaml
    from click.testing import CliRunner

    from geoportal.cli import main
    from tests.conftest import derived_config

    broken = tmp_path / FILES["codifier"]
    _write(broken, _conflict(_lines(KAT / FILES["codifier"])))
    base = derived_config(tmp_path / "base.yaml")
    reference = dict(yaml.safe_load(base.read_text(encoding="utf-8"))["reference"], codifier=str(broken))
    cfg = derived_config(tmp_path / "node.yaml", reference=reference)
    ok = CliRunner().invoke(main, ["validate-config", str(base)])
    assert ok.exit_code == 0 and "codifier: 1741 units" in ok.output, ok.output
    bad = CliRunner().invoke(main, ["validate-config", str(cfg)])
    assert bad.exit_code == 2, bad.output
    assert str(broken) in bad.output and "line 6" in bad.output, bad.output
