"""Faults under load: a few client threads loop over requests whose answers are known, while a gunicorn
worker, the MapServer FastCGI processes and the PostGIS replica are killed with SIGKILL. Every request
must be answered (a client may retry, as real clients do) and no answer may be wrong; a CSW-T insert and
a decision written during the fault are there afterwards. The topology heals: gunicorn replaces its
worker, the launcher restarts FastCGI and the replica, which streams again."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from geoportal.deploy.postgres import replication_status
from tests.conftest import ROOT
from tests.geoportal.conftest import descendants
from tests.production.conftest import TOKEN

CSW = "http://www.opengis.net/cat/csw/2.0.2"
GETMAP = ("/ows?service=WMS&version=1.3.0&request=GetMap&layers=hromadas&styles=&crs=EPSG:4326"
          "&bbox=49.5,27.5,51.7,29.9&width=200&height=200&format=image/png")

# the first test also waits for the topology to start (a build, two clusters): minutes on a busy machine
pytestmark = [pytest.mark.production, pytest.mark.slow, pytest.mark.timeout(900)]


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
          timeout: float = 30) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, http.client.HTTPException):  # refused, reset, timed out, cut short: the client tries again
        return 0, b""


@dataclass
class Check:
    name: str
    path: str
    right: Callable[[bytes], bool]


@dataclass
class Load:
    """Client threads looping over the checks; a failed request is tried again (up to ``tries`` times),
    a 200 with a wrong body is a wrong answer."""

    base: str
    checks: list[Check]
    threads: int = 4
    tries: int = 40
    ok: int = 0
    retried: int = 0
    wrong: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _loop(self, offset: int) -> None:
        i = offset
        while not self._stop.is_set():
            c = self.checks[i % len(self.checks)]
            i += 1
            for attempt in range(self.tries):
                status, body = fetch(self.base + c.path)
                if status == 200:
                    with self._lock:
                        if c.right(body):
                            self.ok += 1
                        else:
                            self.wrong.append(f"{c.name}: {body[:200]!r}")
                    break
                with self._lock:
                    self.retried += 1
                time.sleep(0.25)
            else:
                with self._lock:
                    self.unanswered.append(c.name)

    def __enter__(self) -> "Load":
        self._threads = [threading.Thread(target=self._loop, args=(n,), daemon=True) for n in range(self.threads)]
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)

    def assert_sound(self) -> None:
        assert not self.wrong, f"wrong answers: {self.wrong[:5]}"
        assert not self.unanswered, f"unanswered after {self.tries} tries: {self.unanswered[:5]}"
        assert self.ok > 10, f"only {self.ok} answers under load"


@pytest.fixture(scope="module")
def known(production) -> list[Check]:  # type: ignore[no-untyped-def]
    """The answers before any fault: what every later answer must equal."""
    base = production.base_url
    status, png = fetch(base + GETMAP)
    assert status == 200 and png[:4] == b"\x89PNG"
    status, items = fetch(base + "/ogcapi/collections/hromadas/items?f=json&limit=20")
    ids = sorted(f["id"] for f in json.loads(items)["features"])
    assert status == 200 and len(ids) == 6
    gpkg = (production.node.workdir / "downloads" / "nature-protection.gpkg").read_bytes()

    def same_ids(body: bytes) -> bool:
        return sorted(f["id"] for f in json.loads(body)["features"]) == ids

    return [
        Check("wms getmap", GETMAP, lambda b: b == png),
        Check("ogcapi items", "/ogcapi/collections/hromadas/items?f=json&limit=20", same_ids),
        Check("wfs hits", "/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=gp:nature-protection"
                          "&resultType=hits", lambda b: b'numberMatched="161"' in b),
        Check("download", "/downloads/nature-protection.gpkg", lambda b: b == gpkg),
        Check("csw", "/csw?service=CSW&version=2.0.2&request=GetRecords&typeNames=csw:Record&elementSetName=brief"
                     "&resultType=hits",
              lambda b: b"numberOfRecordsMatched=" in b),
    ]


def csw_insert(base: str, workdir: Path) -> str:
    """Insert a copy of one of the node's records under a new identifier through the CSW-T gate."""
    rec = sorted((workdir / "records").glob("*.xml"))[0].read_text(encoding="utf-8")
    old = rec.split("<gmd:fileIdentifier>", 1)[1].split("</gco:CharacterString>", 1)[0].split(">")[-1]
    new = f"fault-{uuid.uuid4()}"
    rec = rec.replace(old, new)
    if rec.startswith("<?xml"):
        rec = rec.split("?>", 1)[1]
    doc = (f'<csw:Transaction xmlns:csw="{CSW}" service="CSW" version="2.0.2"><csw:Insert>{rec}</csw:Insert>'
           "</csw:Transaction>").encode("utf-8")
    for _ in range(40):
        status, body = fetch(base + "/csw", doc, {"Content-Type": "application/xml",
                                                  "Authorization": f"Bearer {TOKEN}"}, timeout=60)
        if status == 200 and b"totalInserted>1<" in body:
            return new
        if status == 200 and b"ExceptionReport" in body and csw_has(base, new):  # a retry of an applied insert
            return new
        time.sleep(0.25)
    raise AssertionError(f"the CSW-T insert was never answered: {status} {body[:300]!r}")


def csw_has(base: str, identifier: str) -> bool:
    status, body = fetch(f"{base}/csw?service=CSW&version=2.0.2&request=GetRecordById&id={identifier}"
                         "&elementSetName=brief")
    return status == 200 and identifier.encode() in body


def decision_create(production, title: str) -> None:  # type: ignore[no-untyped-def]
    state = production.state
    out = subprocess.run([sys.executable, "-m", "geoportal.cli", "decision", "--config", state["config"], "--workdir",
                          state["workdir"], "create", "--as", "Олена Коваль:official:UA18000000000041385",
                          "--title-uk", title, "--kind", "other", "--issuer", "UA18000000000041385", "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


def decision_titles(production) -> set[str]:  # type: ignore[no-untyped-def]
    status, body = fetch(production.base_url + "/ogcapi/collections/decisions/items?f=json&limit=1000")
    assert status == 200, body[:300]
    return {f["properties"]["title_uk"] for f in json.loads(body)["features"]}


def wait(what: str, ok: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ok():
            return
        time.sleep(0.3)
    raise AssertionError(f"not {what} after {timeout:.0f} s")


def test_a_gunicorn_worker_killed(production, known) -> None:  # type: ignore[no-untyped-def]
    master = production.state["pids"]["node"]
    workers = sorted(descendants(master))
    assert len(workers) == 2, workers
    with Load(production.base_url, known) as load:
        time.sleep(1)
        os.kill(workers[0], signal.SIGKILL)
        inserted = csw_insert(production.base_url, production.node.workdir)
        time.sleep(1)
        os.kill(workers[1], signal.SIGKILL)
        time.sleep(3)
    load.assert_sound()
    wait("two new workers", lambda: len(descendants(master)) == 2 and not set(workers) & descendants(master))
    assert csw_has(production.base_url, inserted)


def test_the_mapserver_fastcgi_processes_killed(production, known) -> None:  # type: ignore[no-untyped-def]
    before = {n: p for n, p in production.state["pids"].items() if n.startswith("mapserv-")}
    assert len(before) == 2
    with Load(production.base_url, known) as load:
        time.sleep(1)
        os.kill(before["mapserv-1"], signal.SIGKILL)
        wait("mapserv-1 started again", lambda: production.state["pids"]["mapserv-1"] != before["mapserv-1"])
        time.sleep(1)
        for name in before:  # both at once: nginx has no FastCGI process left until the launcher acts
            os.kill(production.state["pids"][name], signal.SIGKILL)
        time.sleep(3)
    load.assert_sound()
    after = production.state
    assert all(after["pids"][n] != p for n, p in before.items())
    assert after["restarts"]["mapserv-1"] >= 2 and after["restarts"]["mapserv-2"] >= 1


def test_the_replica_killed(production, known) -> None:  # type: ignore[no-untyped-def]
    state = production.state
    replica = state["replica_pid"]
    title = f"Рішення під час збою {uuid.uuid4().hex[:8]}"
    with Load(production.base_url, known) as load:
        time.sleep(1)
        os.kill(replica, signal.SIGKILL)
        decision_create(production, title)  # a write while the reads fail over to the primary
        inserted = csw_insert(production.base_url, production.node.workdir)
        time.sleep(2)
    load.assert_sound()
    assert title in decision_titles(production)
    assert csw_has(production.base_url, inserted)

    def streaming() -> bool:
        rows = replication_status(state["primary"]["dsn"])
        return [r["state"] for r in rows] == ["streaming"] and rows[0]["lag_bytes"] == 0

    wait("the replica streaming and caught up again", streaming, timeout=90)
    assert production.state["replica_pid"] not in (None, replica)
    import psycopg

    with psycopg.connect(state["replica"]["dsn"]) as conn:  # the write made during the fault is on the replica
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
    assert title in decision_titles(production)
