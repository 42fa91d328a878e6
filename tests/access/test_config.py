"""The ``access:`` section is validated with the node config: each mistake named by its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from geoportal.config import load_config
from geoportal.errors import ConfigError

from .conftest import OVRUCH, write_node


def _error(tmp_path: Path, access: str) -> str:
    with pytest.raises(ConfigError) as ei:
        load_config(write_node(tmp_path, access=access))
    return str(ei.value)


def test_sample_section_loads(tmp_path: Path) -> None:
    cfg = load_config(write_node(tmp_path))
    assert cfg.access is not None and len(cfg.access.rules) == 6
    assert cfg.access.datasets["cadastre"].organisations == [OVRUCH]


@pytest.mark.parametrize(
    "access,expected",
    [
        (
            "access:\n  datasets:\n    cadastre: {organisations: [UA1804]}\n",
            ["access.datasets.cadastre.organisations", "'UA1804' is not a KATOTTH code"],
        ),
        (
            "access:\n  rules:\n    - {dataset: cadastre, effect: limit}\n",
            ["access.rules[0]: effect 'limit' needs a 'limit:'"],
        ),
        (
            "access:\n  rules:\n    - {dataset: cadastre, effect: allow, limit: {filter: \"owner = 'x'\"}}\n",
            ["access.rules[0]: effect 'allow' takes no 'limit:'"],
        ),
        (
            "access:\n  rules:\n    - {dataset: cadastre, effect: limit,\n"
            "       limit: {filter: \"owner ==== 'x' AND\"}}\n",
            ["access.rules[0].limit.filter", "not a CQL2 text filter"],
        ),
        (
            "access:\n  rules:\n    - {dataset: cadastre, effect: limit,\n"
            "       limit: {area: 'POLYGON((0 0, 1 1))'}}\n",
            ["access.rules[0].limit.area", "WKT"],
        ),
        (
            "access:\n  rules:\n    - {dataset: cadastre, service: tms, effect: deny}\n",
            ["access.rules[0].service", "unknown service 'tms'"],
        ),
        (
            "access:\n  rules:\n    - {dataset: cadastre, effect: maybe}\n",
            ["access.rules[0].effect", "'allow', 'deny' or 'limit'"],
        ),
        (
            "access:\n  rules:\n    - {dataset: parcels, effect: deny}\n",
            ["access.rules[0].dataset: no dataset 'parcels'", "known: roads, plans, cadastre, wells"],
        ),
        (
            "access:\n  datasets:\n    roads: {roles: [official]}\n",
            ["access.datasets.roads: the dataset is public", "access: restricted"],
        ),
        (
            "access:\n  datasets:\n    cadastre: {roles: [boss]}\n",
            [
                "access.datasets.cadastre.roles[0]",
                "'anonymous', 'citizen', 'official', 'custodian' or 'admin'",
            ],
        ),
        (
            "access:\n  trusted_issuers:\n    - {id: oblast-node}\n",
            ["access.trusted_issuers[0]", "needs 'jwks_url' or 'jwks_file'"],
        ),
        (
            "access:\n  login: {max_failures: 0}\n  colour: red\n",
            ["access.login.max_failures", "access.colour: unknown key"],
        ),
    ],
)
def test_mistakes_are_named_by_key_path(tmp_path: Path, access: str, expected: list[str]) -> None:
    msg = _error(tmp_path, access)
    assert str(tmp_path) in msg
    for part in expected:
        assert part in msg, msg


def test_a_node_without_the_section_is_unchanged(tmp_path: Path) -> None:
    cfg = load_config(write_node(tmp_path, access=""))
    assert cfg.access is None


def test_the_readme_example_is_valid(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in readme.split("```yaml\n")[1:] if b.startswith("access:")).split("```")[0]
    cfg = load_config(write_node(tmp_path, access=block))
    assert (
        cfg.access is not None
        and cfg.access.trusted_issuers[0].jwks_location == "https://geo.zht.example/.well-known/jwks.json"
    )


def test_a_derived_config_still_finds_the_issuers_jwks_file(tmp_path: Path) -> None:
    import yaml

    from geoportal.config import absolutize

    access = "access:\n  trusted_issuers:\n    - {id: urn:geoportal:oblast, jwks_file: keys/oblast.jwks}\n"
    config = write_node(tmp_path / "node", access=access)
    raw = absolutize(yaml.safe_load(config.read_text(encoding="utf-8")), config.parent)
    elsewhere = tmp_path / "derived" / "node.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    cfg = load_config(elsewhere)
    assert cfg.access is not None
    jwks_file = cfg.access.trusted_issuers[0].jwks_file
    assert jwks_file is not None and cfg.resolve(jwks_file) == tmp_path / "node" / "keys" / "oblast.jwks"
