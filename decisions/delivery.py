"""Delivering the outbox: ``geoportal decision sync`` (and every ``geoportal harvest``).

Where a party is served: the node's ``decisions.peers``, then the nodes found by walking the network from the
node's parent and children (each node answers ``GET /decisions/node`` with its KATOTTH code and its own
parent/children links). A node that is down is simply not found this time: its messages stay pending and are
tried again at the next sync, with a wait that doubles after each failure (30 s … ``retry_max_seconds``). A
message to this node's own body is taken by its own inbox without the network. The receiver is idempotent by
message id, so a message delivered twice (a timeout after it was stored) changes nothing the second time.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import requests

from decisions.errors import DecisionError
from decisions.messages import SIGNATURE_HEADER, canonical, sign
from decisions.model import utcnow

log = logging.getLogger(__name__)
TIMEOUT = 10.0
MAX_NODES = 200


@dataclass
class SyncReport:
    delivered: list[str] = field(default_factory=list)
    pending: list[tuple[str, str]] = field(default_factory=list)  # (message id, why)
    refused: list[tuple[str, str]] = field(default_factory=list)
    silence: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.delivered)} delivered, {len(self.pending)} still pending, {len(self.refused)} refused, "
                f"{len(self.silence)} silence recorded")


def node_card(cfg: Any, base_url: str) -> dict[str, Any]:
    """What ``GET /decisions/node`` answers: who this node is and whom it links to."""
    return {"node": cfg.node.id, "katotth": cfg.node.katotth, "level": cfg.node.level.value, "url": base_url,
            "links": [link.url.rstrip("/") for link in ([cfg.parent] if cfg.parent else []) + list(cfg.children)]}


class Directory:
    """KATOTTH → base URL of the node serving it, found lazily (once per sync run)."""

    def __init__(self, cfg: Any, session: requests.Session):
        self.cfg, self.session = cfg, session
        self.known = {p.katotth: p.url.rstrip("/") for p in cfg.decisions.peers}
        self._walked = False

    def url_of(self, katotth: str) -> str | None:
        if katotth not in self.known and not self._walked:
            self._walk()
        return self.known.get(katotth)

    def _walk(self) -> None:
        self._walked = True
        start = [link.url.rstrip("/") for link in ([self.cfg.parent] if self.cfg.parent else []) + list(self.cfg.children)]
        start += list(self.known.values())
        queue, seen = deque(start), set(start)
        while queue and len(seen) <= MAX_NODES:
            url = queue.popleft()
            try:
                r = self.session.get(f"{url}/decisions/node", timeout=TIMEOUT)
                r.raise_for_status()
                card = r.json()
            except (requests.RequestException, ValueError) as e:
                log.info("node %s: %s is not reachable now (%s)", self.cfg.node.id, url, type(e).__name__)
                continue
            if isinstance(card.get("katotth"), str):
                self.known.setdefault(card["katotth"], url)
            for nxt in card.get("links") or []:
                if isinstance(nxt, str) and nxt.startswith(("http://", "https://")) and nxt.rstrip("/") not in seen:
                    seen.add(nxt.rstrip("/"))
                    queue.append(nxt.rstrip("/"))


def sync(cfg: Any, ws: Any, *, now: datetime | None = None, force: bool = False,
         progress: Callable[[str], None] = lambda m: None) -> SyncReport:
    """Record silence after deadlines, then try every due message of the outbox once."""
    from decisions.service import Register

    now = now or utcnow()
    reg = Register.for_node(cfg, ws)
    report = SyncReport(silence=reg.record_silence(now))
    due = reg.due(now, force)
    if not due:
        progress(f"decisions sync: nothing to deliver; {report.summary()}")
        return report
    with requests.Session() as session:
        directory = Directory(cfg, session)
        for m in due:
            target = m["to_body"]
            if target == cfg.node.katotth:
                _deliver_local(reg, cfg, m, now, report)
                continue
            url = m.get("url") if m["kind"] == "decision-answer" else None
            url = url or directory.url_of(target)
            if url is None:
                why = f"no node serving {target} is reachable now (walked the network from the parent/children)"
                reg.attempted(m["id"], url=None, error=why, now=now)
                report.pending.append((m["id"], why))
                continue
            _deliver(reg, cfg, ws, session, m, url, now, report)
    progress(f"decisions sync: {report.summary()}")
    return report


def _deliver_local(reg: Any, cfg: Any, m: dict[str, Any], now: datetime, report: SyncReport) -> None:
    try:
        reg.receive(m["body"], cfg.node.katotth, "this node", now)
    except DecisionError as e:
        reg.attempted(m["id"], url="local", error=str(e), final=True, now=now)
        report.refused.append((m["id"], str(e)))
        return
    reg.attempted(m["id"], url="local", error=None, now=now)
    report.delivered.append(m["id"])


def _deliver(reg: Any, cfg: Any, ws: Any, session: requests.Session, m: dict[str, Any], url: str, now: datetime,
             report: SyncReport) -> None:
    body = canonical(m["body"])
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(cfg, ws.root, body)}
    try:
        r = session.post(f"{url}/decisions/messages", data=body, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as e:
        why = f"{url} did not answer ({type(e).__name__}); tried again at the next sync"
        reg.attempted(m["id"], url=url, error=why, now=now)
        report.pending.append((m["id"], why))
        return
    if r.ok:
        reg.attempted(m["id"], url=url, error=None, now=now)
        report.delivered.append(m["id"])
        return
    try:
        why = f"{url} answered {r.status_code}: {r.json().get('description', '')}"
    except ValueError:
        why = f"{url} answered {r.status_code}"
    # 400/404/409/422: the message itself is wrong there — retrying sends the same; 401/403 (not trusted yet,
    # an admin may add us), 5xx and anything else: try again later
    final = r.status_code in (400, 404, 409, 422)
    reg.attempted(m["id"], url=url, error=why, final=final, now=now)
    (report.refused if final else report.pending).append((m["id"], why))


def sync_quietly(cfg: Any, ws: Any, progress: Callable[[str], None] = lambda m: None) -> SyncReport | None:
    """:func:`sync` as a step of another run (a harvest): a failure is reported, never raised — the messages
    stay in the outbox for the next run."""
    from geoportal.errors import GeoportalError

    try:
        return sync(cfg, ws, progress=progress)
    except (GeoportalError, OSError) as e:
        progress(f"decisions sync: not done this time ({e}); the outbox keeps the messages")
        return None
