"""Faults under load: a few client threads loop over requests whose answers are known, while a gunicorn
worker, the MapServer FastCGI processes and the PostGIS replica are killed with SIGKILL. Every request
must be answered (a client may retry, as real clients do, when it got no answer, a 502/504 or a 503 with
Retry-After) and no answer may be wrong (a 200 unlike the answer before the fault, any other status —
MapServer's exception report with HTTP 200 included); a CSW-T insert and
a decision written during the fault are there afterwards. The topology heals: gunicorn replaces its
worker, the launcher restarts FastCGI and the replica, which streams again."""

from __future__ import annotations

import contextlib
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
from typing import Callable, Iterator

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
    status, _, body = fetch_with_headers(url, data, headers, timeout)
    return status, body


def fetch_with_headers(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
                       timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except (OSError, http.client.HTTPException):  # refused, reset, timed out, cut short: the client tries again
        return 0, {}, b""


#: what a client may repeat: no answer at all (refused, reset, cut short), a gateway's 502/504, and a 503
#: that says when (Retry-After). Anything else that is not a right 200 is a wrong answer: a 200 exception
#: report passes for the map, a 4xx tells the client its request was wrong and not to repeat it.
RETRYABLE = {0, 502, 503, 504}


@dataclass
class Check:
    name: str
    path: str
    right: Callable[[bytes], bool]


@dataclass
class Load:
    """Client threads looping over the checks; a retryable failure (:data:`RETRYABLE`) is tried again (up to
    ``tries`` times); a 200 with a wrong body, a 503 without Retry-After or any other status is a wrong
    answer."""

    base: str
    checks: list[Check]
    threads: int = 4
    tries: int = 40
    ok: int = 0
    retried: int = 0
    statuses: dict[int, int] = field(default_factory=dict)  # the retryable failures seen, by status
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
                status, headers, body = fetch_with_headers(self.base + c.path)
                if status == 200:
                    with self._lock:
                        if c.right(body):
                            self.ok += 1
                        else:
                            self.wrong.append(f"{c.name}: 200 {body[:300]!r}")
                    break
                if status not in RETRYABLE or (status == 503 and not headers.get("Retry-After")):
                    with self._lock:
                        self.wrong.append(f"{c.name}: {status} {headers.get('Retry-After')} {body[:300]!r}")
                    break
                with self._lock:
                    self.retried += 1
                    self.statuses[status] = self.statuses.get(status, 0) + 1
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
    """Killed twice, under load and with four clients asking for maps only: MapServer runs several queries
    per request on one connection, and a replica dying between two of them is what MapServer reports as an
    exception with HTTP 200. The node asks MapServer again, or answers 503 with Retry-After; a client never
    gets the report."""
    state = production.state
    killed = [state["replica_pid"]]
    title = f"Рішення під час збою {uuid.uuid4().hex[:8]}"
    maps = [c for c in known if c.name in ("wms getmap", "wfs hits")]
    failovers_before = mapserver_failovers(production)

    def streaming() -> bool:
        rows = replication_status(state["primary"]["dsn"])
        return [r["state"] for r in rows] == ["streaming"] and rows[0]["lag_bytes"] == 0

    # four clients asking only for maps keep MapServer requests in flight when the replica dies
    with Load(production.base_url, known, threads=2) as load, Load(production.base_url, maps) as map_load:
        time.sleep(1)
        with map_requests_held_on_the_replica(state) as sessions:
            kill_replica(killed[0], sessions)
            time.sleep(0.5)
        decision_create(production, title)  # a write while the reads fail over to the primary
        inserted = csw_insert(production.base_url, production.node.workdir)
        wait("the replica started again", lambda: production.state["replica_pid"] not in (None, *killed), 90)
        wait("the replica streaming again", streaming, timeout=90)
        time.sleep(1)
        killed.append(production.state["replica_pid"])
        with map_requests_held_on_the_replica(state) as sessions:
            kill_replica(killed[1], sessions)
            time.sleep(0.5)
        time.sleep(3)
    load.assert_sound()
    map_load.assert_sound()
    # how often the node asked MapServer again (its log), and what the clients were answered
    lost = mapserver_failovers(production) - failovers_before
    print(f"replica killed twice: {load.ok + map_load.ok} right answers, retried {load.statuses} and "
          f"{map_load.statuses}; MapServer lost its database under {lost} requests")
    assert lost >= 2, "no map request was under way when the replica died: the test did not test the failover"
    assert title in decision_titles(production)
    assert csw_has(production.base_url, inserted)

    # the supervisor's restart first (the primary may still list the killed walreceiver as streaming for a
    # moment), then the new replica streaming and caught up
    wait("the replica started again", lambda: production.state["replica_pid"] not in (None, *killed), 90)
    wait("the replica streaming and caught up again", streaming, timeout=90)
    import psycopg

    with psycopg.connect(state["replica"]["dsn"]) as conn:  # the write made during the fault is on the replica
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
    assert title in decision_titles(production)


@contextlib.contextmanager
def map_requests_held_on_the_replica(state: dict, table: str = "hromadas") -> Iterator[list[int]]:
    """Until the block ends, MapServer's requests on the replica wait in the middle of their work, and the
    block is given the pids of their sessions: the primary holds an ACCESS EXCLUSIVE lock on ``table``,
    which the replica replays (a standby applies the primary's exclusive locks), so MapServer's query of
    the layer's features waits on it. Entered once at least one MapServer session (no application name)
    waits there; the lock is let go on leaving.

    Killing the replica — its postmaster and these sessions — inside the block is a replica dying under
    a map request every time, otherwise a rare moment (MapServer's connection is new for each request and
    most of a request is drawing). The sessions are killed too because a backend orphaned while it waits
    for a lock takes the lock when the replica's startup process dies and finishes its query."""
    import psycopg
    from psycopg import sql

    waiting = ("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name = '' "
               "AND wait_event_type = 'Lock'")
    with psycopg.connect(state["primary"]["dsn"], application_name="geoportal-fault-test") as lock:
        lock.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table)))
        with psycopg.connect(state["primary"]["dsn"], autocommit=True) as other:
            # the lock's WAL record is sent to the replica once flushed, which the commit of a transaction
            # with an id does at once (a read-only load commits nothing that would)
            other.execute("SELECT pg_current_xact_id()")
        with psycopg.connect(state["replica"]["dsn"], autocommit=True, application_name="geoportal-fault-test") \
                as replica:
            pids: list[int] = []
            wait("a MapServer request waiting on the replica",
                 lambda: bool(pids.extend(r[0] for r in replica.execute(waiting)) or pids), timeout=30)
        try:
            yield pids
        finally:
            lock.rollback()


def kill_replica(postmaster: int, sessions: list[int]) -> None:
    """SIGKILL to the replica's postmaster, then to the sessions named (see map_requests_held_on_the_replica)."""
    for pid in (postmaster, *sessions):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def mapserver_failovers(production) -> int:  # type: ignore[no-untyped-def]
    """How many times the node found MapServer without its database and asked again (its log says so;
    MapServer's own error file is written in 4 kB blocks, and not at all by a process killed)."""
    log = production.run_dir / "logs" / "node.log"
    return log.read_text(errors="replace").count("could not read its database") if log.exists() else 0
