"""The node config: the sample validates; mistakes are reported with file, key path and value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from geoportal.config import load_config
from geoportal.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "nodes" / "zhytomyr-oblast.yaml"


def test_sample_config_is_valid() -> None:
    cfg = load_config(SAMPLE)
    assert cfg.node.katotth == "UA18000000000041385"
    assert [d.id for d in cfg.datasets] == ["oblast-boundary", "hromadas", "nature-protection", "geographic-names",
                                         "nature-protection-register", "geonames-density", "investment-sites"]
    assert [d.id for d in cfg.datasets if d.access.value != "public"] == ["nature-protection-register"]
    assert cfg.resolve(cfg.datasets[0].source).is_file()


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "node.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _node(level: str = "hromada", katotth: str = "UA18040150000043471", name: str = "{uk: Житомирська, en: Zhytomyr}",
          extra: str = "") -> str:
    """A node config with one dataset 'roads' (roads.shp), varied where a test needs it."""
    return f"""
node:
  id: zhytomyr
  level: {level}
  katotth: {katotth}
  name: {name}
  contact: {{organisation: {{uk: Рада, en: Council}}, email: geo@example.org}}
datasets:
  - id: roads
    source: roads.shp
    title: {{uk: Дороги, en: Roads}}
    abstract: {{uk: Дороги, en: Roads}}
{extra}"""


def test_errors_name_file_key_and_value(tmp_path: Path) -> None:
    bad = _write(tmp_path, _node(level="village", katotth="UA18", name="{uk: Житомир}", extra="    colour: red\n"))
    with pytest.raises(ConfigError) as ei:
        load_config(bad)
    msg = str(ei.value)
    assert str(bad) in msg
    assert "node.level" in msg and "village" in msg and "'hromada', 'raion' or 'oblast'" in msg
    assert "node.katotth" in msg and "17 digits" in msg
    assert "node.name.en: missing" in msg
    assert "datasets[0].colour: unknown key" in msg


def test_missing_source_file_is_named(tmp_path: Path) -> None:
    bad = _write(tmp_path, _node())
    with pytest.raises(ConfigError, match=r"datasets\[0\]\.source: file not found: .*roads\.shp"):
        load_config(bad)


def test_duplicate_dataset_ids_refused(tmp_path: Path) -> None:
    ds = """
  - id: roads
    source: {src}
    title: {{uk: Дороги, en: Roads}}
    abstract: {{uk: Дороги, en: Roads}}"""
    src = ROOT / "data" / "boundaries" / "UA_18_Zhytomyrska.geojson"
    bad = _write(tmp_path, f"""
node:
  id: zhytomyr
  level: hromada
  katotth: UA18040150000043471
  name: {{uk: Житомирська, en: Zhytomyr}}
  contact: {{organisation: {{uk: Рада, en: Council}}, email: geo@example.org}}
datasets:{ds.format(src=src)}{ds.format(src=src)}
""")
    with pytest.raises(ConfigError, match="used twice"):
        load_config(bad)


def test_cli_validate_config_exit_codes(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "geoportal.cli", "validate-config", str(SAMPLE)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout
    bad = _write(tmp_path, "node: [1, 2]\n")
    res = subprocess.run([sys.executable, "-m", "geoportal.cli", "validate-config", str(bad)],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.startswith("error: ") and str(bad) in res.stderr


def test_shipped_json_schema_is_current() -> None:
    import json

    from geoportal.config import json_schema

    shipped = json.loads((ROOT / "config" / "node.schema.json").read_text(encoding="utf-8"))
    assert shipped == json_schema(), "run: geoportal validate-config --schema > config/node.schema.json"
