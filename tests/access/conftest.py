"""Node configs with an ``access:`` section, written to disk and loaded like any node's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from geoportal.config import NodeConfig, load_config

OVRUCH = "UA18060170000069581"  # Ovruch hromada
OLEVSK = "UA18060190000071101"  # Olevsk hromada
OBLAST = "UA18000000000041385"  # Zhytomyr oblast

DATASETS = """
datasets:
  - {id: roads, source: src.geojson, title: {uk: Дороги, en: Roads}, abstract: {uk: Д, en: R}}
  - {id: plans, source: src.geojson, access: officials, title: {uk: Плани, en: Plans},
     abstract: {uk: П, en: P}}
  - {id: cadastre, source: src.geojson, access: restricted, title: {uk: Кадастр, en: Cadastre},
     abstract: {uk: К, en: C}}
  - {id: wells, source: src.geojson, access: restricted, title: {uk: Свердловини, en: Wells},
     abstract: {uk: С, en: W}}
"""

ACCESS = f"""
access:
  audience: zhytomyr-network
  datasets:
    cadastre:
      organisations: [{OVRUCH}]
      catalog: metadata
      log: true
    wells: {{roles: [custodian], users: [inspector]}}
  rules:
    - {{roles: [official], dataset: cadastre, effect: limit,
       limit: {{area: organisation, hide_attributes: [owner]}},
       note: officials see their own hromada}}
    - {{roles: [official], organisations: [{OVRUCH}], dataset: cadastre, service: wfs, effect: deny,
       note: no bulk download}}
    - {{roles: [citizen], dataset: roads, service: downloads, effect: limit,
       limit: {{filter: "category <> 'military'"}}}}
    - {{roles: [anonymous, citizen], dataset: plans, service: csw, effect: limit,
       limit: {{catalog: metadata}}}}
    - {{users: [auditor], dataset: cadastre, effect: allow}}
    - {{roles: [citizen, official], dataset: roads, service: wms, operation: GetFeatureInfo, effect: deny}}
"""


def write_node(
    folder: Path,
    node_id: str = "ovruch",
    level: str = "hromada",
    katotth: str = OVRUCH,
    url: str | None = None,
    access: str = ACCESS,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "src.geojson").write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    url_line = f"  url: {url}\n" if url else ""
    path = folder / f"{node_id}.yaml"
    path.write_text(
        f"""
node:
  id: {node_id}
  level: {level}
  katotth: {katotth}
{url_line}  name: {{uk: Вузол, en: Node}}
  contact: {{organisation: {{uk: Рада, en: Council}}, email: geo@example.org}}
{DATASETS}{access}""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def node_config(tmp_path: Path) -> Callable[..., NodeConfig]:
    def make(**kw: object) -> NodeConfig:
        return load_config(write_node(tmp_path / str(kw.get("node_id", "ovruch")), **kw))  # type: ignore[arg-type]

    return make
