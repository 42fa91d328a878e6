"""Federation in production: ``geoportal harvest`` on a production node loads what its children deliver
into the PostgreSQL repository the running node serves (not the build's SQLite file, which production no
longer reads), so the children's records are in the parent's CSW, OAI-PMH and /search at once, without
``geoportal deploy prepare`` being run again.

A hromada with a restricted and an officials-only dataset is served by ``geoportal serve`` and hands its
non-public records, with their access markers, to a parent presenting its harvest token; the production
node (the oblast) harvests it. Independent clients — OWSLib for CSW, Sickle for OAI-PMH (pages of four
records: resumption tokens are followed) — read the parent anonymously: every record the hromada shows
anyone is there, its restricted one never; the restricted record is in the repository all the same, with
its level (the parent's rule hides it, as on a built node)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
import requests
import yaml
from owslib.csw import CatalogueServiceWeb
from sickle import Sickle

from geoportal.errors import ServeError
from geoportal.serve import free_port, start_node, stop, wait_for
from tests.catalog.test_catalog_access import HIDDEN, PREFIX, SECRET_TITLE, restricted_config
from tests.conftest import ROOT

pytestmark = [pytest.mark.production, pytest.mark.slow, pytest.mark.timeout(900)]

CHILD = "ovrutska-hromada"
TOKEN = "harvest-token-of-the-production-test"


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The hromada, served, handing its non-public records to a parent with the harvest token."""
    root = tmp_path_factory.mktemp("child")
    config = restricted_config(root / f"{CHILD}.yaml")
    port = free_port()
    proc = start_node(config, root / CHILD, port, root / "child.log", {"GEOPORTAL_HARVEST_TOKENS": TOKEN})
    try:
        wait_for("127.0.0.1", port, "/", timeout=600, proc=proc)
    except ServeError:
        stop(proc, timeout=20)
        raise AssertionError((root / "child.log").read_text(errors="replace")[-3000:]) from None
    yield f"http://127.0.0.1:{port}"
    stop(proc, timeout=20)


def csw_records(base: str) -> dict[str, str]:
    """identifier → title of every record an anonymous CSW client is shown."""
    csw = CatalogueServiceWeb(base + "/csw", timeout=120)
    out: dict[str, str] = {}
    start = 1
    while True:
        csw.getrecords2(esn="brief", startposition=start, maxrecords=100)
        out.update({k: r.title for k, r in csw.records.items()})
        start = csw.results["nextrecord"]
        if not start or start > csw.results["matches"]:
            return out


def csw_ids(base: str) -> set[str]:
    return set(csw_records(base))


def oai_ids(base: str) -> list[str]:
    return [h.identifier for h in Sickle(base + "/csw?mode=oaipmh", timeout=120).ListIdentifiers(
        metadataPrefix="oai_dc")]


def harvest(production, child_url: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """``geoportal harvest`` as an operator runs it on the production node: its config with the hromada as
    its one child, the run's workspace."""
    state = production.state
    raw = yaml.safe_load(Path(state["config"]).read_text(encoding="utf-8"))
    raw["children"] = [{"id": CHILD, "url": child_url, "type": "geoportal"}]
    config = Path(state["run_dir"]) / "with-child-production.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "geoportal.cli", "harvest", str(config), "--workdir",
                          state["workdir"], "--json"], capture_output=True, text=True, cwd=ROOT, timeout=600,
                         env={**os.environ, "GEOPORTAL_HARVEST_TOKEN": TOKEN})
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def test_harvest_on_a_production_node_reaches_its_running_catalog(production, child) -> None:  # type: ignore[no-untyped-def]
    base = production.base_url
    titles = csw_records(child)
    public = set(titles)  # what the hromada shows anybody
    assert public and HIDDEN not in public and all(i.startswith(PREFIX) for i in public)
    assert not public & csw_ids(base)  # nothing of the child's yet
    oai_before = oai_ids(base)

    results = harvest(production, child)
    assert [(r["id"], r["error"]) for r in results] == [(CHILD, None)]
    assert results[0]["added"] == len(public) + 1  # its public records and the restricted one

    # the running node, read by independent clients: no prepare, no restart
    parent = csw_ids(base)
    assert public <= parent and HIDDEN not in parent
    oai = oai_ids(base)
    assert public <= set(oai) and HIDDEN not in oai and len(oai) == len(set(oai))
    assert set(oai) - set(oai_before) == public
    r = requests.get(base + "/csw", params={"service": "CSW", "version": "2.0.2", "request": "GetRecordById",
                                            "id": HIDDEN, "elementSetName": "full"}, timeout=60)
    assert r.status_code == 200 and HIDDEN not in r.text and SECRET_TITLE not in r.text
    r = requests.get(base + "/csw", params={"mode": "oaipmh", "verb": "GetRecord", "identifier": HIDDEN,
                                            "metadataPrefix": "oai_dc"}, timeout=60)
    assert "idDoesNotExist" in r.text and SECRET_TITLE not in r.text
    one = sorted(public)[0]
    r = requests.get(base + "/csw", params={"mode": "oaipmh", "verb": "GetRecord", "identifier": one,
                                            "metadataPrefix": "oai_dc"}, timeout=60)
    assert r.status_code == 200 and one in r.text and "idDoesNotExist" not in r.text
    hits = requests.get(base + "/search", params={"f": "json", "q": titles[one]}, timeout=60).text
    assert one in hits, hits[:1000]
    hits = requests.get(base + "/search", params={"f": "json", "q": "Заповідні урочища"}, timeout=60).text
    assert HIDDEN not in hits and SECRET_TITLE not in hits

    # they are in the PostgreSQL repository, with the child as their origin and the restricted one's level
    with psycopg.connect(production.state["catalog_dsn"]) as conn:
        rows = dict(conn.execute(
            "SELECT identifier, geoportal_level FROM records WHERE geoportal_variant = 'full' AND identifier "
            "LIKE %s", (PREFIX + "%",)).fetchall())
        sources = {r[0] for r in conn.execute("SELECT DISTINCT source FROM records WHERE identifier LIKE %s",
                                              (PREFIX + "%",))}
        no_geometry = conn.execute("SELECT count(*) FROM records WHERE identifier LIKE %s AND wkb_geometry IS NULL "
                                   "AND coalesce(wkt_geometry, '') <> ''", (PREFIX + "%",)).fetchone()[0]
    assert set(rows) == public | {HIDDEN} and rows[HIDDEN] == "restricted"
    assert sources == {child} and no_geometry == 0

    # a second run asks only for what changed: nothing
    again = harvest(production, child)
    assert again[0]["error"] is None and again[0]["added"] == again[0]["changed"] == again[0]["deleted"] == 0
    assert csw_ids(base) == parent
