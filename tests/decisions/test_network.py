"""A decision's whole life across the sample network, through HTTP and the CLI, on four real served nodes
(oblast, raion, Ovruch and Olevsk hromadas; each trusts the others' node keys through access.trusted_issuers):

Ovruch drafts a decision on a polygon with OGC API Part 4 (OWSLib's client), opens the consultation, a citizen
comments, agreement is asked of the raion and the neighbour Olevsk — whose node is DOWN when the requests are
sent; the request waits in the outbox and arrives after Olevsk is started again. The raion agrees through its
inbox (JSON), Olevsk objects with reasons through its inbox (the HTML form); the answers travel back signed;
the head adopts with the adopted text; implementation has a milestone that is overdue and shows at the oblast;
the decision is completed; the catalog chain is harvested and the oblast finds Ovruch's register with its
origin, whose OGC API lists the completed decision.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import yaml
from owslib.csw import CatalogueServiceWeb
from owslib.fes import PropertyIsLike
from owslib.ogcapi.features import Features

from catalog.network import harvest_chain
from tests.conftest import ROOT
from tests.decisions.network import Net, configure, start_all

pytestmark = pytest.mark.slow

OVRUCH, OLEVSK, RAION = "UA18060170000069581", "UA18060190000071101", "UA18060000000021754"
# inside the Ovruch hromada, west of the town
AREA = {"type": "Polygon", "coordinates": [[[28.70, 51.28], [28.78, 51.28], [28.78, 51.33], [28.70, 51.33],
                                            [28.70, 51.28]]]}


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    root = tmp_path_factory.mktemp("decnet")
    n = Net(root, configure(root, {"heads": ["holova"]}))
    start_all(n)
    try:
        yield n
    finally:
        n.stop_all()


def independent_overlay(area: dict) -> str:
    """The hromada the area lies in, read straight from the source shapefile with GDAL (not the node)."""
    import pyogrio.raw
    import shapely
    from shapely.geometry import shape

    _, _, wkb, fields = pyogrio.raw.read(ROOT / "data/boundaries/hromadas_30km_russia_belarus.shp",
                                         columns=["ADMIN_3", "COD_3"])
    hit = shapely.intersects(shapely.from_wkb(wkb), shape(area))
    assert list(fields[1][hit]) == [OVRUCH]
    # the source mixes Latin look-alikes into Cyrillic names (Овpуцькa); the node's ingest repairs them
    return str(fields[0][hit][0]).translate(str.maketrans("paoceixyPAOCEIXHKMTB", "раосеіхуРАОСЕІХНКМТВ"))


def who(name: str, role: str, org: str = "") -> dict[str, str]:
    return {"X-Test-Principal": f"{name}|{role}|{org}"}


def patch(url: str, headers: dict[str, str], body: dict) -> requests.Response:
    r = requests.patch(url, json=body, headers=headers, timeout=120)
    assert r.status_code == 200, r.text
    return r


def iso(t: datetime) -> str:
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def test_decision_lifecycle_across_the_network(net: Net) -> None:
    ovruch = net.url("ovrutska-hromada")
    official, head = who("koval", "official", OVRUCH), who("holova", "official", OVRUCH)
    items = f"{ovruch}/ogcapi/collections/decisions/items"

    # 1. drafted on a polygon through OGC API Part 4 (OWSLib), parties: the raion and the neighbour hromada
    api = Features(f"{ovruch}/ogcapi", headers=official)
    api.collection_item_create("decisions", {"type": "Feature", "geometry": AREA, "properties": {
        "title_uk": "Зміна цільового призначення земель під сонячну станцію", "title_en": "Land-use change: solar",
        "kind": "land-use-change", "issuer": OVRUCH, "parties": [RAION, OLEVSK]}})
    found = api.collection_items("decisions", filter="status='draft'", limit=10)["features"]
    assert len(found) == 1
    did = found[0]["id"]
    url = f"{items}/{did}"

    # 2. consultation: a citizen comments while it is open (~1 s after it opens: ten leave a slow machine
    #    room), and the justification is computed from Ovruch's own layers
    until = datetime.now(timezone.utc) + timedelta(seconds=10)
    patch(url, official, {"status": "consultation", "reason": "оприлюднено", "consultation_until": iso(until)})
    net.cli("ovrutska-hromada", "comment", did, "А де буде під'їзна дорога?", "--as", "Марія:citizen")
    shown = json.loads(net.cli("ovrutska-hromada", "show", did, "--json"))
    touched = {x["dataset"] for x in shown["justification"]["layers"]}
    assert "hromada-boundary" in touched
    labels = [f["label"] for x in shown["justification"]["layers"] if x["dataset"] == "hromada-boundary"
              for f in x["features"]]
    assert labels == [independent_overlay(AREA)], labels
    assert requests.get(url, params={"f": "json"}, timeout=60).json()["properties"]["comments_visible"] == 1

    # 3. agreement, with Olevsk's node down when the requests go out
    time.sleep(max(0.0, (until - datetime.now(timezone.utc)).total_seconds()) + 1)
    deadline = datetime.now(timezone.utc) + timedelta(hours=2)
    patch(url, official, {"status": "agreement", "reason": "обговорення завершено", "agreement_deadline": iso(deadline)})
    net.stop("olevska-hromada")
    report = json.loads(net.cli("ovrutska-hromada", "sync", "--json"))
    assert len(report["delivered"]) == 1 and len(report["pending"]) == 1
    out = {m["to"]: m for m in json.loads(net.cli("ovrutska-hromada", "outbox", "--json"))}
    assert out[RAION]["state"] == "delivered" and out[OLEVSK]["state"] == "pending"
    assert "no node serving" in out[OLEVSK]["last_error"]
    net.start("olevska-hromada")
    net.wait("olevska-hromada")
    report = json.loads(net.cli("ovrutska-hromada", "sync", "--force", "--json"))
    assert len(report["delivered"]) == 1 and not report["pending"]
    report = json.loads(net.cli("ovrutska-hromada", "sync", "--force", "--json"))  # nothing sent twice
    assert report["delivered"] == [] and report["pending"] == []

    # 4. the parties answer in their inboxes; the answers travel back
    raion, olevsk = net.url("korostenskyi-raion"), net.url("olevska-hromada")
    assert requests.get(f"{raion}/decisions/inbox", params={"f": "json"}, timeout=60).status_code == 401
    assert requests.get(f"{raion}/decisions/inbox", params={"f": "json"}, timeout=60,
                        headers=who("koval", "official", OVRUCH)).status_code == 403
    inbox = requests.get(f"{raion}/decisions/inbox", params={"f": "json"}, timeout=60,
                         headers=who("sydorenko", "official", RAION)).json()["requests"]
    inbox = [m for m in inbox if m["body"]["decision"]["id"] == did]
    assert [m["state"] for m in inbox] == ["open"]
    r = requests.post(f"{raion}/decisions/inbox/{inbox[0]['id']}", json={"answer": "agree"}, timeout=60,
                      headers=who("sydorenko", "official", RAION))
    assert r.status_code == 201, r.text
    page = requests.get(f"{olevsk}/decisions/inbox", timeout=60, headers=who("petrenko", "official", OLEVSK))
    assert page.status_code == 200 and "Зміна цільового призначення" in page.text and 'method="post"' in page.text
    msg = requests.get(f"{olevsk}/decisions/inbox", params={"f": "json"}, timeout=60,
                       headers=who("petrenko", "official", OLEVSK)).json()["requests"][0]["id"]
    form = {"answer": "object", "reasons": "межує з заказником"}
    r = requests.post(f"{olevsk}/decisions/inbox/{msg}", data=form, timeout=60, allow_redirects=False,
                      headers={**who("petrenko", "official", OLEVSK), "Origin": "http://evil.example"})
    assert r.status_code == 403 and "CSRF" in r.text  # another site's page cannot answer with the official's login
    browser = requests.Session()  # the inbox page's form carries the token of the browser's (pre-)session
    page = browser.get(f"{olevsk}/decisions/inbox", timeout=60, headers=who("petrenko", "official", OLEVSK)).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = browser.post(f"{olevsk}/decisions/inbox/{msg}", data={**form, "csrf_token": token}, timeout=60,
                     allow_redirects=False, headers=who("petrenko", "official", OLEVSK))
    assert r.status_code == 303, r.text
    net.cli("korostenskyi-raion", "sync")
    net.cli("olevska-hromada", "sync")
    props = requests.get(url, params={"f": "json"}, timeout=60).json()["properties"]
    assert (props["parties_agreed"], props["parties_objected"]) == (1, 1)
    answers = {a["party"]: a for a in json.loads(net.cli("ovrutska-hromada", "answers", did))}
    assert answers[OLEVSK]["answer"] == "object" and answers[OLEVSK]["reasons"] == "межує з заказником"
    assert answers[OLEVSK]["by"] == "petrenko@olevska-hromada"

    # 5. adopted by the head with the text, implemented with a milestone that is overdue
    text = base64.b64encode(b"%PDF-1.4 rishennia").decode()
    patch(url, head, {"status": "adopted", "reason": "сесія ради", "adopted_text": {"name": "rishennia.pdf",
                                                                                      "content_base64": text}})
    patch(url, official, {"status": "implementation", "reason": "розпочато"})
    net.cli("ovrutska-hromada", "milestone", "add", did, "--title", "Відведення ділянки", "--due", "2026-01-15",
            "--responsible", OVRUCH, "--as", f"koval:official:{OVRUCH}")
    assert requests.get(url, params={"f": "json"}, timeout=60).json()["properties"]["milestones_overdue"] == 1
    overdue = json.loads(net.cli("zhytomyr-oblast", "overdue", "--network", "--json"))
    assert [(r["id"], r["issuer"]) for r in overdue if "id" in r] == [(did, OVRUCH)]
    assert not [r for r in overdue if "error" in r]

    # 6. completed, then harvested upward: the oblast finds Ovruch's register with its origin
    net.cli("ovrutska-hromada", "milestone", "report", did, "1", "--progress", "100", "--text", "відведено",
            "--as", f"koval:official:{OVRUCH}")
    patch(url, official, {"status": "completed", "reason": "виконано"})
    harvest_chain(net.configs, net.root, progress=lambda m: None)
    csw = CatalogueServiceWeb(f"{net.url('zhytomyr-oblast')}/csw", timeout=60)
    csw.getrecords2(constraints=[PropertyIsLike("csw:AnyText", "%Реєстр управлінських рішень%")], esn="full",
                    maxrecords=50)
    rid = f"{OVRUCH}.ovrutska-hromada.decisions"
    assert rid in csw.records, sorted(csw.records)
    assert csw.records[rid].source == ovruch  # the origin, not the raion in between
    done = requests.get(f"{csw.records[rid].source}/ogcapi/collections/decisions/items",
                        params={"f": "json", "filter": "status='completed'"}, timeout=60).json()["features"]
    assert [f["id"] for f in done] == [did]


def test_nodes_accept_messages_only_from_trusted_nodes(net: Net, tmp_path: Path) -> None:
    from decisions.messages import SIGNATURE_HEADER, canonical, sign
    from geoportal.config import load_config

    raion = net.url("korostenskyi-raion")
    doc = {"type": "agreement-request", "version": 1, "id": "urn:uuid:00000000-0000-4000-8000-000000000001",
           "party": RAION, "sent_at": "2026-11-25T00:00:00Z",
           "from": {"node": "ovrutska-hromada", "katotth": OVRUCH, "url": net.url("ovrutska-hromada")},
           "decision": {"id": "D-2026-900", "title": {"uk": "x", "en": ""}, "issuer": OVRUCH}}
    body = canonical(doc)
    r = requests.post(f"{raion}/decisions/messages", data=body, timeout=60)
    assert r.status_code == 403 and SIGNATURE_HEADER in r.json()["description"]
    # a node the raion does not list in access.trusted_issuers (its own key, a made-up id)
    stranger = yaml.safe_load(net.configs["ovrutska-hromada"][0].read_text(encoding="utf-8"))
    stranger["node"]["id"] = "stranger"
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(stranger, allow_unicode=True), encoding="utf-8")
    forged = sign(load_config(tmp_path / "s.yaml"), tmp_path / "stranger", body)
    r = requests.post(f"{raion}/decisions/messages", data=body, headers={SIGNATURE_HEADER: forged}, timeout=60)
    assert r.status_code == 403 and "does not trust" in r.json()["description"]
    # a trusted node's signature over another body
    ovruch_cfg = load_config(net.configs["ovrutska-hromada"][0])
    good = sign(ovruch_cfg, net.root / "ovrutska-hromada", body)
    r = requests.post(f"{raion}/decisions/messages", data=body.replace(b'"x"', b'"y"'),
                      headers={SIGNATURE_HEADER: good}, timeout=60)
    assert r.status_code == 403 and "altered" in r.json()["description"]
    # the same, whole: accepted once, and a second delivery changes nothing
    r = requests.post(f"{raion}/decisions/messages", data=body, headers={SIGNATURE_HEADER: good}, timeout=60)
    assert r.status_code == 200 and r.json()["state"] == "open"
    r = requests.post(f"{raion}/decisions/messages", data=body, headers={SIGNATURE_HEADER: good}, timeout=60)
    assert r.status_code == 200 and r.json()["state"].startswith("already received")
    # a trusted node may not speak for another body
    lie = canonical({**doc, "id": "urn:uuid:00000000-0000-4000-8000-000000000002",
                     "from": {"node": "olevska-hromada", "katotth": OLEVSK, "url": "http://x"}})
    r = requests.post(f"{raion}/decisions/messages", data=lie,
                      headers={SIGNATURE_HEADER: sign(ovruch_cfg, net.root / "ovrutska-hromada", lie)}, timeout=60)
    assert r.status_code == 403 and "signed by" in r.json()["description"]
