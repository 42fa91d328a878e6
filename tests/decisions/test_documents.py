"""A decision's documents are kept, not only named: the CLI's ``--document`` / ``--text FILE`` store the bytes
content-addressed under ``<workspace>/decision-documents`` before the change commits, and the node serves them
read-only at ``/decisions/<id>/documents/<sha256>`` — linked from the decision's page and from its OGC API
item — with the type from the name, the original (Cyrillic) name in ``Content-Disposition`` (RFC 5987), the
hash checked on every read, 404 for what the decision does not hold. A fresh workspace of the sample node's
config; the web part through werkzeug's WSGI client against the real ``DecisionsWeb``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from werkzeug.test import Client

from decisions.comments_web import DecisionPages
from decisions.web import DecisionsWeb, content_disposition
from geoportal.cli import main
from tests.decisions.conftest import CONFIG, OVRUCH

OFFICIAL = f"Олена Коваль:official:{OVRUCH}"
HEAD = f"Голова громади:head:{OVRUCH}"
DRAFT = "проєкт рішення.pdf"
ADOPTED = "рішення № 12 від 05.06.2026.pdf"


def run(workdir: Path, *args: str, now: str, ok: bool = True):  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(main, ["decision", "--config", str(CONFIG), "--workdir", str(workdir), "--now", now,
                                    *args])
    if ok:
        assert res.exit_code == 0, res.output
    return res


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, bytes, bytes]:
    """A decision drafted with a document and adopted with its text, through the CLI."""
    base = tmp_path_factory.mktemp("docs")
    ws, files = base / "node", base / "files"
    files.mkdir()
    draft, text = b"%PDF-1.4 draft " + bytes(range(256)), b"%PDF-1.4 adopted text \xd0\xa0"
    (files / DRAFT).write_bytes(draft)
    (files / ADOPTED).write_bytes(text)
    did = run(ws, "create", "--as", OFFICIAL, "--title-uk", "Школа", "--kind", "council-decision", "--issuer", OVRUCH,
              "--geometry", "POINT (28.8 51.3)", "--document", str(files / DRAFT), now="2026-05-01T09:00:00Z"
              ).output.strip()
    run(ws, "transition", did, "consultation", "--as", OFFICIAL, "--reason", "r", "--until", "2026-05-10",
        now="2026-05-01T10:00:00Z")
    run(ws, "transition", did, "agreement", "--as", OFFICIAL, "--reason", "r", now="2026-05-11T10:00:00Z")
    # an official may not adopt: refused after the bytes were stored — an orphan file, never a record without one
    refused = run(ws, "transition", did, "adopted", "--as", OFFICIAL, "--reason", "r", "--text", str(files / ADOPTED),
                  now="2026-06-05T10:00:00Z", ok=False)
    assert refused.exit_code == 9
    run(ws, "transition", did, "adopted", "--as", HEAD, "--reason", "сесія", "--text", str(files / ADOPTED),
        now="2026-06-05T10:00:00Z")
    (ws / "node.json").write_text(json.dumps({"config": str(CONFIG), "base_url": "http://node.test"}), "utf-8")
    return ws, did, draft, text


def web(ws: Path) -> Client:
    return Client(DecisionsWeb(ws, DecisionPages(ws, "Decisions")))


def test_the_bytes_are_kept_by_their_hash(adopted: tuple[Path, str, bytes, bytes]) -> None:
    ws, did, draft, text = adopted
    shown = json.loads(run(ws, "show", did, "--json", now="2026-06-05T11:00:00Z").output)
    docs = {d["name"]: d for d in shown["documents"]}
    assert set(docs) == {DRAFT, ADOPTED} and docs[ADOPTED]["role"] == "adopted-text"
    for name, data in ((DRAFT, draft), (ADOPTED, text)):
        sha = hashlib.sha256(data).hexdigest()
        assert docs[name]["sha256"] == sha and docs[name]["size"] == len(data)
        assert (ws / "decision-documents" / sha[:2] / sha).read_bytes() == data
    assert not list((ws / "decision-documents").glob(".incoming.*"))  # nothing half-written left


def test_served_from_the_page_link(adopted: tuple[Path, str, bytes, bytes]) -> None:
    ws, did, _, text = adopted
    sha = hashlib.sha256(text).hexdigest()
    page = (ws / "decisions" / f"{did}.html").read_text(encoding="utf-8")
    href = f"{did}/documents/{sha}"
    assert f'href="{href}"' in page  # relative to /decisions/<id>.html: /decisions/<id>/documents/<sha>
    r = web(ws).get(f"/{href}")
    assert r.status_code == 200 and r.data == text
    assert r.headers["Content-Type"] == "application/pdf" and r.headers["Content-Length"] == str(len(text))
    disp = r.headers["Content-Disposition"]
    assert disp.startswith("inline; filename=") and unquote(disp.split("filename*=UTF-8''")[1]) == ADOPTED
    assert r.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in r.headers["Content-Security-Policy"]
    head = web(ws).head(f"/{href}")
    assert head.status_code == 200 and head.data == b""


def test_unknown_and_damaged_documents(adopted: tuple[Path, str, bytes, bytes], tmp_path: Path) -> None:
    ws, did, draft, _ = adopted
    c = web(ws)
    assert c.get(f"/{did}/documents/{'0' * 64}").status_code == 404
    assert "has no document" in c.get(f"/{did}/documents/{'0' * 64}").json["description"]
    assert c.get(f"/{did}/documents/not-a-hash").status_code == 404
    assert c.get(f"/D-1999-404/documents/{hashlib.sha256(draft).hexdigest()}").status_code == 404
    assert c.post(f"/{did}/documents/{hashlib.sha256(draft).hexdigest()}").status_code == 405
    # a copy of the workspace whose draft file changed on disk: never served as the document
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(ws, copy)
    sha = hashlib.sha256(draft).hexdigest()
    stored = copy / "decision-documents" / sha[:2] / sha
    stored.chmod(0o644)
    stored.write_bytes(draft[:-1] + b"!")
    r = web(copy).get(f"/{did}/documents/{sha}")
    assert r.status_code == 500 and "no longer matches its sha256" in r.json["description"]


def test_content_disposition_names() -> None:
    assert content_disposition("plan.pdf", True) == "inline; filename=\"plan.pdf\"; filename*=UTF-8''plan.pdf"
    cyr = content_disposition("рішення.docx", False)
    assert cyr.startswith('attachment; filename="document.docx"') and cyr.endswith(
        "filename*=UTF-8''%D1%80%D1%96%D1%88%D0%B5%D0%BD%D0%BD%D1%8F.docx")
    assert '"' not in content_disposition('a"b;c.pdf', True).split("filename=")[1][1:-1].split('";')[0]


def test_ogc_api_item_links_the_documents(adopted: tuple[Path, str, bytes, bytes]) -> None:
    """The Part 4 front adds one ``enclosure`` link per document to the item pygeoapi answers (a stand-in
    WSGI app answers here as pygeoapi does: the served-node check belongs with tests/decisions/test_api.py)."""
    from decisions.api import DecisionWrites

    ws, did, draft, text = adopted

    def pygeoapi_item(environ, start_response):  # type: ignore[no-untyped-def]
        body = json.dumps({"type": "Feature", "id": did, "properties": {"id": did},
                           "links": [{"rel": "self", "href": "x"}]}).encode()
        start_response("200 OK", [("Content-Type", "application/geo+json"), ("Content-Length", str(len(body)))])
        return [body]

    r = Client(DecisionWrites(pygeoapi_item, ws)).get(f"/collections/decisions/items/{did}", query_string="f=json")
    assert r.status_code == 200 and r.headers["ETag"]
    links = [x for x in r.json["links"] if x["rel"] == "enclosure"]
    sha = hashlib.sha256(text).hexdigest()
    assert {"rel": "enclosure", "type": "application/pdf", "title": f"{ADOPTED} (adopted-text)", "length": len(text),
            "href": f"http://node.test/decisions/{did}/documents/{sha}"} in links
    assert len(links) == 2 and r.json["links"][0]["rel"] == "self"
