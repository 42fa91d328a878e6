"""Across the network: a hromada's restricted record travels up with its access level (the parents hold a
harvest token) and is never visible anonymously at the raion or the oblast — through CSW, OAI-PMH, OGC API
Records, DCAT and search; the oblast shows it to the hromada's officials (the hromada's own rule, carried by
the record) and, by the oblast's own rule naming ``ovrutska-hromada/nature-sites``, to its own officials,
whom the hromada itself does not let in.

The four nodes of the sample network (two hromadas → raion → oblast), each served by ``geoportal serve``;
the callers with an identity are served by the test front over the oblast's and the hromada's workspaces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
import requests
import yaml
from lxml import etree

from catalog.federation import harvest
from catalog.network import NETWORK, network_configs
from geoportal.config import load_config
from geoportal.errors import ServeError
from geoportal.model import Workspace
from geoportal.serve import free_port_block, start_node, stop, wait_for
from tests.catalog.test_catalog_access import (HIDDEN, NODE_ORG, SECRET_EN, SECRET_TITLE, restricted_config,
                                               start_front)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
OBLAST_ORG = "UA18000000000041385"
PRINCIPALS = {"official-hromada": {"roles": ["official"], "organisation": NODE_ORG},
              "official-oblast": {"roles": ["official"], "organisation": OBLAST_ORG},
              "citizen": {"roles": ["citizen"]}}
CSW = "http://www.opengis.net/cat/csw/2.0.2"
OAI = "{http://www.openarchives.org/OAI/2.0/}"


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    root = tmp_path_factory.mktemp("netaccess")
    configs = network_configs(free_port_block(len(NETWORK)), root / "configs", NETWORK)
    hromada = configs["ovrutska-hromada"][0]
    restricted_config(hromada, hromada)
    oblast = configs["zhytomyr-oblast"][0]
    raw = yaml.safe_load(oblast.read_text(encoding="utf-8"))
    access = raw.setdefault("access", {})  # added to what the sample oblast already says
    access.setdefault("rules", []).append({"roles": ["official"], "organisations": [OBLAST_ORG],
                                           "dataset": "ovrutska-hromada/nature-sites", "effect": "allow",
                                           "note": "the oblast's officials see the hromada's protected sites"})
    access.setdefault("datasets", {})["nature-protection"] = {"organisations": [OBLAST_ORG], "catalog": "metadata"}
    for d in raw["datasets"]:  # the passport counts sites of a restricted layer: withheld from the public
        if d["id"] == "nature-protection":
            d["access"] = "restricted"
    oblast.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    token = "harvest-token-of-this-test"
    procs = {}
    mp = pytest.MonkeyPatch()
    mp.setenv("GEOPORTAL_HARVEST_TOKEN", token)
    try:
        for nid, (cfg, port) in reversed(list(configs.items())):
            procs[nid] = start_node(cfg, root / nid, port, root / f"{nid}.log",
                                    {"GEOPORTAL_HARVEST_TOKENS": token})
        for nid, (_, port) in configs.items():
            try:
                wait_for("127.0.0.1", port, "/", timeout=600, proc=procs[nid])
            except ServeError:
                raise AssertionError((root / f"{nid}.log").read_text(errors="replace")[-3000:]) from None
        for nid in ("korostenskyi-raion", "zhytomyr-oblast"):
            results = harvest(load_config(configs[nid][0]), Workspace(root / nid))
            assert all(r.ok for r in results), results
        yield {nid: f"http://127.0.0.1:{port}" for nid, (_, port) in configs.items()}, root
    finally:
        mp.undo()
        stop(*procs.values(), timeout=20)


def get_records(url: str, who: str | None = None, **extra: str) -> tuple[int, set[str]]:
    params = {"service": "CSW", "version": "2.0.2", "request": "GetRecords", "typeNames": "csw:Record",
              "resultType": "results", "elementSetName": "brief", "maxRecords": "500", **extra}
    r = requests.get(url + "/csw", params=params, headers={"Authorization": f"Bearer {who}"} if who else {},
                     timeout=60)
    root = etree.fromstring(r.content)
    results = root.find(f"{{{CSW}}}SearchResults")
    ids = {e.text for e in results.iter("{http://purl.org/dc/elements/1.1/}identifier")}
    return int(results.get("numberOfRecordsMatched")), ids


def oai_ids(url: str, who: str | None = None) -> list[str]:
    from sickle import Sickle

    s = Sickle(url + "/csw?mode=oaipmh", headers={"Authorization": f"Bearer {who}"} if who else {}, timeout=60)
    return [h.identifier for h in s.ListIdentifiers(metadataPrefix="oai_dc")]


def everything_anonymous_sees(url: str) -> tuple[str, str]:
    """Every answer an anonymous reader can get about the record: (answers naming its id in the request,
    which echo it; answers to searches)."""
    by_id = [requests.get(url + "/csw", params={"service": "CSW", "version": "2.0.2", "request": "GetRecordById",
                                                "id": HIDDEN, "elementSetName": "full"}, timeout=60).text,
             requests.get(url + "/csw", params={"mode": "oaipmh", "verb": "GetRecord", "identifier": HIDDEN,
                                                "metadataPrefix": "oai_dc"}, timeout=60).text,
             requests.get(f"{url}/ogcapi/collections/catalog/items/{HIDDEN}", params={"f": "json"},
                          timeout=60).text]
    found = [requests.get(url + "/ogcapi/collections/catalog/items", params={"f": "json", "q": "Заповідні"},
                          timeout=60).text,
             requests.get(url + "/dcat.jsonld", timeout=60).text,
             *(json.dumps(requests.get(url + "/search", params={"f": "json", "q": q}, timeout=60).json()["hits"],
                          ensure_ascii=False) for q in ("заповідні урочища", SECRET_EN, "zapovidni"))]
    return "\n".join(by_id), "\n".join(found)


def test_the_restricted_record_reached_the_oblast_with_its_level(network) -> None:  # type: ignore[no-untyped-def]
    urls, root = network
    import sqlite3

    with sqlite3.connect(root / "zhytomyr-oblast" / "catalog.db") as conn:
        rows = conn.execute("SELECT geoportal_variant, geoportal_level, geoportal_key FROM records "
                            "WHERE identifier = ?", (HIDDEN,)).fetchall()
    assert sorted(rows) == [("full", "restricted", "ovrutska-hromada/nature-sites"),
                            ("meta", "restricted", "ovrutska-hromada/nature-sites")]


@pytest.mark.parametrize("nid", ["korostenskyi-raion", "zhytomyr-oblast"])
def test_never_visible_anonymously_at_the_raion_or_the_oblast(network, nid: str) -> None:  # type: ignore[no-untyped-def]
    urls, _ = network
    n, ids = get_records(urls[nid])
    assert HIDDEN not in ids and n == len(ids) and n > 5
    assert HIDDEN not in oai_ids(urls[nid])
    by_id, found = everything_anonymous_sees(urls[nid])
    assert "idDoesNotExist" in by_id and "<csw:Record" not in by_id and "MD_Metadata" not in by_id
    assert HIDDEN not in found
    for text in (by_id, found):
        assert SECRET_TITLE not in text and "Protected tracts" not in text
    # the records the hromada shows anonymously did arrive
    assert f"{NODE_ORG}.ovrutska-hromada.hromada-boundary" in ids


def test_the_oblast_applies_the_hromadas_rule_and_its_own(network) -> None:  # type: ignore[no-untyped-def]
    urls, root = network
    proc, front = start_front(root / "zhytomyr-oblast", PRINCIPALS)
    try:
        _, anon = get_records(front)
        for who in ("official-hromada", "official-oblast"):
            n, ids = get_records(front, who)
            assert HIDDEN in ids - anon and anon <= ids and n == len(ids), who
            assert HIDDEN in oai_ids(front, who)
            hits = requests.get(front + "/search", params={"f": "json", "q": "заповідні урочища"},
                                headers={"Authorization": f"Bearer {who}"}, timeout=60).json()["hits"]
            assert HIDDEN in [h["id"] for h in hits], who
            items = requests.get(front + "/ogcapi/collections/catalog/items", params={"f": "json", "q": "Заповідні"},
                                 headers={"Authorization": f"Bearer {who}"}, timeout=60).json()["features"]
            assert [f["id"] for f in items] == [HIDDEN], who
        assert HIDDEN not in get_records(front, "citizen")[1]
    finally:
        stop(proc, timeout=20)
    # the oblast's rule is the oblast's: the hromada itself does not let the oblast's officials in
    proc, front = start_front(root / "ovrutska-hromada", PRINCIPALS)
    try:
        assert HIDDEN in get_records(front, "official-hromada")[1]
        assert HIDDEN not in get_records(front, "official-oblast")[1]
    finally:
        stop(proc, timeout=20)


def test_a_parent_without_the_token_never_receives_it(network, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from catalog.harvest.csw import NodeHarvester

    urls, _ = network
    listed = {r.identifier for r in NodeHarvester(urls["ovrutska-hromada"]).list_records()}
    assert HIDDEN not in listed and f"{NODE_ORG}.ovrutska-hromada.hromada-boundary" in listed
    with_token = {r.identifier for r in NodeHarvester(urls["ovrutska-hromada"],
                                                      token="harvest-token-of-this-test")
                  .list_records()}
    assert HIDDEN in with_token
    wrong = {r.identifier for r in NodeHarvester(urls["ovrutska-hromada"], token="guessed").list_records()}
    assert HIDDEN not in wrong


def test_passports_withhold_from_the_public_and_show_the_allowed(network) -> None:  # type: ignore[no-untyped-def]
    urls, root = network
    full = root / "zhytomyr-oblast" / "passport-full"
    code = next(p.stem for p in sorted(full.glob("UA*.json"))  # a hromada with a boundary: it has a count
                if json.loads(p.read_text(encoding="utf-8"))["indicators"]["nature_sites"]["value"] is not None)

    def indicator(url: str, who: str | None) -> dict:
        r = requests.get(f"{url}/passport/{code}.json", headers={"Authorization": f"Bearer {who}"} if who else {},
                         timeout=60)
        assert r.status_code == 200 and "private" in r.headers["Cache-Control"]
        return r.json()["indicators"]["nature_sites"]

    public = indicator(urls["zhytomyr-oblast"], None)
    assert public["value"] is None and public["withheld"]
    proc, front = start_front(root / "zhytomyr-oblast", PRINCIPALS)
    try:
        assert indicator(front, None) == public
        assert indicator(front, "official-hromada")["value"] is None  # not listed for the oblast's layer
        allowed = indicator(front, "official-oblast")
        assert allowed["value"] is not None and not allowed["withheld"]
        csv = requests.get(front + "/passport/passports.csv", headers={"Authorization": "Bearer official-oblast"},
                           timeout=60).text
        assert csv != requests.get(front + "/passport/passports.csv", timeout=60).text
        # the full passports are a read of their non-public sources: the audit log says who read them
        from access.audit import AuditLog

        reads = [e for e in AuditLog(root / "zhytomyr-oblast" / "audit.log").entries()
                 if e["action"] == "access.read" and e["detail"].get("service") == "passport"]
        assert reads and {e["actor"] for e in reads} == {"official-oblast"}
    finally:
        stop(proc, timeout=20)
