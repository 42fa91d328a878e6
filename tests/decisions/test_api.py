"""OGC API Features Part 4 on the decision register, from outside: a served node (real pygeoapi behind the
writes front), the caller named per request by the test stand-in of the login front
(tests/decisions/principal_front.py), requests and OWSLib's OGC API Features client as the clients.

What a user checks: a draft created by POST is listed by pygeoapi's GET with its status; an anonymous write
is 401, a citizen's 403; a status change is a PATCH the lifecycle accepts (200) or refuses naming the
transition (409); a body with a wrong property is a 400 naming it; two officials editing the same version —
the second gets 412; DELETE removes a draft, and for anything past draft says 'cancel instead' (409); every
write is in the node's audit log, and the history holds who changed what.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
import yaml

from geoportal.serve import free_port, stop, wait_for
from tests.conftest import ROOT, ServedNode, derived_config
from tests.decisions.conftest import OLEVSK, OVRUCH, SLOVECHNE

pytestmark = pytest.mark.slow

OFFICIAL = f"koval|official|{OVRUCH}"
OFFICIAL2 = f"bondar|official|{OVRUCH}"
HEAD = f"holova|official|{OVRUCH}"
CITIZEN = "maria|citizen|"
OTHER = f"petrenko|official|{OLEVSK}"
AREA = {"type": "Polygon", "coordinates": [[[28.80, 51.30], [28.90, 51.30], [28.90, 51.36], [28.80, 51.36],
                                            [28.80, 51.30]]]}


def serve_with_principals(config: Path, workdir: Path) -> ServedNode:
    """The node served as ``geoportal serve`` does, with the test's principal header honoured."""
    port = free_port()
    log = workdir.parent / f"{workdir.name}-serve.log"
    with open(log, "ab") as fh:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("principal_front.py")), str(config), str(workdir),
                                 str(port)], stdout=fh, stderr=fh, start_new_session=True, cwd=ROOT)
    try:
        wait_for("127.0.0.1", port, "/", timeout=240, proc=proc)
    except Exception:
        stop(proc, timeout=20)
        raise RuntimeError(log.read_text()[-3000:])
    return ServedNode(f"http://127.0.0.1:{port}", workdir, config, proc)


def hromadas_only_config(path: Path, **extra: object) -> Path:
    full = yaml.safe_load((ROOT / "config/nodes/zhytomyr-oblast.yaml").read_text(encoding="utf-8"))
    datasets = [d for d in full["datasets"] if d["id"] == "hromadas"]
    for d in datasets:
        d["source"] = str((ROOT / "config/nodes" / d["source"]).resolve())
    config = derived_config(path, datasets=datasets, **extra)
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw.pop("passport", None)
    raw.pop("children", None)
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    base = tmp_path_factory.mktemp("decapi")
    config = hromadas_only_config(base / "node.yaml", decisions={"heads": ["holova"], "moderators": ["moder"]})
    served = serve_with_principals(config, base / "node")
    yield served
    stop(served.process, timeout=20)


def items_url(node: ServedNode, collection: str = "decisions") -> str:
    return f"{node.base_url}/ogcapi/collections/{collection}/items"


def call(method: str, url: str, who: str | None, body: object = None, **headers: str) -> requests.Response:
    hs = dict(headers)
    if who:
        hs["X-Test-Principal"] = who
    return requests.request(method, url, json=body, headers=hs, timeout=60)


def draft(title: str = "Зміна цільового призначення", **props: object) -> dict:
    return {"type": "Feature", "geometry": AREA, "properties": {
        "title_uk": title, "title_en": "Land-use change", "kind": "land-use-change", "issuer": OVRUCH,
        "parties": [SLOVECHNE], **props}}


def test_create_read_and_list(node: ServedNode) -> None:
    r = call("POST", items_url(node), OFFICIAL, draft("Школа на площі"))
    assert r.status_code == 201, r.text
    loc = r.headers["Location"]
    did = r.json()["id"]
    assert loc.endswith(f"/ogcapi/collections/decisions/items/{did}") and r.headers["ETag"]
    got = requests.get(loc, params={"f": "json"}, timeout=30)  # pygeoapi answers the read
    assert got.status_code == 200 and got.json()["properties"]["status"] == "draft"
    assert got.json()["properties"]["title_uk"] == "Школа на площі"
    assert got.headers["ETag"] == r.headers["ETag"]
    listed = requests.get(items_url(node), params={"f": "json", "filter": "status='draft'"}, timeout=30).json()
    assert did in {f["id"] for f in listed["features"]}


def test_who_may_write(node: ServedNode) -> None:
    r = call("POST", items_url(node), None, draft())
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    r = call("POST", items_url(node), CITIZEN, draft())
    assert r.status_code == 403 and "citizen" in r.json()["description"]
    r = call("POST", items_url(node), OTHER, draft())  # an official of another body
    assert r.status_code == 403 and OVRUCH in r.json()["description"]
    audit = [json.loads(x) for x in (node.workdir / "audit.log").read_text(encoding="utf-8").splitlines()]
    refused = [e for e in audit if e["action"] == "decisions.create" and e["outcome"] == "refused"]
    assert {e["actor"].split(" ")[0] for e in refused} >= {"anonymous", "maria", "petrenko"}


@pytest.mark.parametrize("props, field", [
    ({"kind": "palace"}, "properties.kind"),
    ({"issuer": "UA123"}, "properties.issuer"),
    ({"colour": "red"}, "properties.colour"),
    ({"title_uk": ""}, "properties.title_uk"),
    ({"parties": ["Slovechne"]}, "properties.parties.0"),
])
def test_bad_bodies_name_the_field(node: ServedNode, props: dict, field: str) -> None:
    r = call("POST", items_url(node), OFFICIAL, draft(**props))
    assert r.status_code == 400, r.text
    assert r.json()["description"].startswith(field)


def test_bad_requests_are_4xx(node: ServedNode) -> None:
    r = requests.post(items_url(node), data=b"{not json", headers={"X-Test-Principal": OFFICIAL,
                                                                   "Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 400 and "not JSON" in r.json()["description"]
    r = requests.post(items_url(node), data=b"<xml/>", headers={"X-Test-Principal": OFFICIAL,
                                                                "Content-Type": "text/xml"}, timeout=30)
    assert r.status_code == 415
    outside = dict(draft(), geometry={"type": "Point", "coordinates": [2.35, 48.85]})  # Paris
    r = call("POST", items_url(node), OFFICIAL, outside)
    assert r.status_code == 422 and "outside Ukraine" in r.json()["description"]
    r = call("PATCH", items_url(node) + "/D-1999-999", OFFICIAL, {"title_uk": "x"})
    assert r.status_code == 404
    r = call("PUT", items_url(node), OFFICIAL, draft())
    assert r.status_code == 405


def test_lifecycle_through_patch(node: ServedNode) -> None:
    url = call("POST", items_url(node), OFFICIAL, draft("Детальний план", parties=[])).headers["Location"]
    # an illegal move is refused naming the transition
    r = call("PATCH", url, OFFICIAL, {"status": "adopted", "reason": "поспіх"})
    assert r.status_code == 409
    assert "'draft'" in r.json()["description"] and "'adopted'" in r.json()["description"]
    r = call("PATCH", url, OFFICIAL, {"status": "consultation", "reason": "оприлюднено"})  # no --until
    assert r.status_code == 422 and "until" in r.json()["description"]
    r = call("PATCH", url, OFFICIAL, {"status": "consultation", "reason": "оприлюднено",
                                      "consultation_until": "2099-01-01"})
    assert r.status_code == 200 and r.json()["properties"]["status"] == "consultation"
    got = requests.get(url, params={"f": "json"}, timeout=30).json()
    assert got["properties"]["status"] == "consultation"  # the published layer follows at once
    # a consultation is not edited, and not deleted
    r = call("PATCH", url, OFFICIAL, {"title_uk": "інша назва"})
    assert r.status_code == 409 and "only a draft" in r.json()["description"]
    r = call("DELETE", url, OFFICIAL)
    assert r.status_code == 409 and "cancel" in r.json()["description"]
    # an official may not cancel; the head may
    r = call("PATCH", url, OFFICIAL, {"status": "cancelled", "reason": "відкликано"})
    assert r.status_code == 403
    r = call("PATCH", url, HEAD, {"status": "cancelled", "reason": "відкликано"})
    assert r.status_code == 200 and r.json()["properties"]["status"] == "cancelled"


def test_adoption_with_the_text_over_http(node: ServedNode, tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    from decisions.service import Register
    from geoportal.config import load_config
    from geoportal.model import Workspace

    url = call("POST", items_url(node), OFFICIAL, draft("Програма", parties=[])).headers["Location"]
    did = url.rsplit("/", 1)[1]
    # the consultation closes in a second (a date in the past is refused; the test does not wait days)
    reg = Register.for_node(load_config(node.config), Workspace(node.workdir))
    from decisions.model import Actor

    now = datetime.now(timezone.utc)
    reg.transition(Actor("koval", "official", OVRUCH), did, "consultation", reason="оприлюднено",
                   consultation_until=(now + timedelta(seconds=1)).isoformat(), now=now)
    import time

    time.sleep(2.1)  # times are whole seconds and the closing second is still open: past it for sure
    r = call("PATCH", url, OFFICIAL, {"status": "agreement", "reason": "обговорено"})
    assert r.status_code == 200, r.text
    text = b"%PDF-1.4 the adopted text"
    body = {"status": "adopted", "reason": "сесія ради",
            "adopted_text": {"name": "rishennia.pdf", "content_base64": base64.b64encode(text).decode()}}
    assert call("PATCH", url, OFFICIAL, body).status_code == 403  # adopting is the head's
    r = call("PATCH", url, HEAD, body)
    assert r.status_code == 200, r.text
    import hashlib

    got = requests.get(url, params={"f": "json"}, timeout=30).json()["properties"]
    assert got["status"] == "adopted" and got["adopted_text_sha256"] == hashlib.sha256(text).hexdigest()
    # the adopted text itself can be downloaded from the item's enclosure link, byte for byte
    links = requests.get(url, params={"f": "json"}, timeout=30).json()["links"]
    (enclosure,) = [ln for ln in links if ln["rel"] == "enclosure" and ln.get("title", "").startswith("rishennia.pdf")]
    doc = requests.get(urljoin(url, enclosure["href"]), timeout=30)
    assert doc.status_code == 200 and doc.content == text
    assert doc.headers["Content-Type"].startswith("application/pdf")


def test_two_officials_do_not_overwrite_each_other(node: ServedNode) -> None:
    r = call("POST", items_url(node), OFFICIAL, draft("Спільна чернетка"))
    url, tag = r.headers["Location"], r.headers["ETag"]
    first = call("PATCH", url, OFFICIAL, {"summary_uk": "версія Олени"}, **{"If-Match": tag})
    assert first.status_code == 200 and first.headers["ETag"] != tag
    second = call("PATCH", url, OFFICIAL2, {"summary_uk": "версія Богдана"}, **{"If-Match": tag})
    assert second.status_code == 412 and "read it again" in second.json()["description"]
    r = call("PUT", url, OFFICIAL2, draft("Спільна чернетка", summary_uk="версія Богдана"),
             **{"If-Match": first.headers["ETag"]})
    assert r.status_code == 200
    got = requests.get(url, params={"f": "json"}, timeout=30).json()["properties"]
    assert got["summary_uk"] == "версія Богдана"


def test_delete_a_draft_keeps_its_history(node: ServedNode) -> None:
    from decisions.service import Register
    from geoportal.config import load_config
    from geoportal.model import Workspace

    url = call("POST", items_url(node), OFFICIAL, draft("Помилкова чернетка")).headers["Location"]
    did = url.rsplit("/", 1)[1]
    assert call("DELETE", url, OFFICIAL).status_code == 204
    assert requests.get(url, params={"f": "json"}, timeout=30).status_code == 404
    reg = Register.for_node(load_config(node.config), Workspace(node.workdir))
    with reg.repo.transaction(write=False) as tx:
        hist = tx.history("decision", did)
    assert [h.action for h in hist][-1] == "delete" and hist[-1].actor["name"] == "koval"
    new = call("POST", items_url(node), OFFICIAL, draft("Наступна")).json()["id"]
    assert new != did  # an id is never given twice


def test_projects_part4_and_owslib(node: ServedNode) -> None:
    from owslib.ogcapi.features import Features

    did = call("POST", items_url(node), OFFICIAL, draft("Для проєкту")).json()["id"]
    body = {"type": "Feature", "geometry": None, "properties": {
        "title_uk": "Будівництво школи", "issuer": OVRUCH, "decisions": [did],
        "budget": [{"source": "державний бюджет", "planned": 1000000}]}}
    r = call("POST", items_url(node, "projects"), OFFICIAL, body)
    assert r.status_code == 201, r.text
    url = r.headers["Location"]
    r = call("PATCH", url, OFFICIAL, {"status": "procurement", "reason": "тендер"})
    assert r.status_code == 409 and "'idea'" in r.json()["description"]
    assert call("PATCH", url, OFFICIAL, {"status": "preparation", "reason": "готуємо"}).status_code == 200
    assert call("PATCH", url, OFFICIAL, {"status": "funding", "reason": "кошти"}).status_code == 200
    r = call("PATCH", url, OFFICIAL, {"status": "procurement", "reason": "тендер"})
    assert r.status_code == 422 and "tender" in r.json()["description"]
    r = call("PATCH", url, OFFICIAL, {"status": "procurement", "reason": "тендер", "tender_id": "UA-2026-01-01-000001-a"})
    assert r.status_code == 200 and r.json()["properties"]["tender_id"] == "UA-2026-01-01-000001-a"
    assert call("DELETE", url, OFFICIAL).status_code == 409
    # OWSLib reads what the writes made, and its create goes through the same front
    api = Features(node.base_url + "/ogcapi", headers={"X-Test-Principal": OFFICIAL})
    item = api.collection_item("projects", url.rsplit("/", 1)[1])
    assert item["properties"]["status"] == "procurement"
    api.collection_item_create("decisions", draft("Через OWSLib"))  # a dict: OWSLib sends it as JSON
    found = api.collection_items("decisions", filter="title_uk='Через OWSLib'", limit=5)
    assert [f["properties"]["status"] for f in found["features"]] == ["draft"]


def test_conformance_declares_part4(node: ServedNode) -> None:
    conf = requests.get(f"{node.base_url}/ogcapi/conformance", params={"f": "json"}, timeout=30).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update" in conf
    r = requests.options(items_url(node) + "/D-2026-001", timeout=30)
    assert "PATCH" in r.headers["Allow"]


def test_openapi_describes_the_writes(node: ServedNode) -> None:
    doc = requests.get(f"{node.base_url}/ogcapi/openapi", params={"f": "json"}, timeout=60).json()
    item = doc["paths"]["/collections/decisions/items/{featureId}"]
    assert {"get", "put", "patch", "delete"} <= set(item)
    assert "kind" in doc["paths"]["/collections/decisions/items"]["post"]["requestBody"]["content"][
        "application/geo+json"]["schema"]["properties"]["properties"]["properties"]
    assert item["patch"]["responses"]["412"] and item["delete"]["responses"]["204"]
    r = requests.get(f"{node.base_url}/ogcapi/openapi", params={"f": "html"}, timeout=60)  # the UI still loads
    assert r.status_code == 200
