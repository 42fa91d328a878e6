"""At a parent, the decisions and projects of the nodes below it, with the node each comes from.

A child's register is not in the catalog the parent harvests (only the two register *datasets* are), so the
parent asks each child's own search for them: ``GET <child>/search?f=json&type=decision,project`` (public
documents only, as any anonymous caller sees them). A child that is itself a parent answers with its
children's too, each with its origin node — so an oblast reaches every hromada through its raions, the
same way the catalog harvest does, without walking the network.

This is network work, so it is done by :func:`refresh` at **harvest** time (``catalog.federation.harvest``
calls it), never by a build: a build of a parent stays offline and as fast as before. What each child
answered is kept in ``<workspace>/search-network/<child id>.json`` (written aside, then renamed), and the
document source :func:`children_registers` reads only those files. A child that does not answer, answers an
error or something that is not a search answer is skipped and logged, and its earlier answer is kept —
as the harvest keeps a failing child's earlier records — so one dead node never empties the parent's search.
"""

from __future__ import annotations

import json
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urljoin

from geoportal.config import Link, NodeConfig
from geoportal.model import Workspace, write_atomic
from search.doc import Doc

log = logging.getLogger(__name__)

TYPES = ("decision", "project")
PAGE = 100  # the most one search request returns (search.query.MAX_LIMIT)
MAX_PER_CHILD = 10_000  # the deepest a search pages (search.query.MAX_OFFSET)
WORKERS = 4  # children asked at once: waiting on the network, not the CPU
CONNECT_TIMEOUT = 5.0


class ChildSearchError(Exception):
    """A child's search answered something other than a search answer (its message says what)."""


def cache_folder(ws: Workspace) -> Path:
    return ws.root / "search-network"


def _children(cfg: NodeConfig) -> list[Link]:
    return [c for c in cfg.children if c.type == "geoportal"]  # a CSW child has no /search


def refresh(cfg: NodeConfig, ws: Workspace, *, timeout: float = 20.0) -> bool:
    """Ask every child (type ``geoportal``) for its decisions and projects; keep what each answered.
    Returns whether any child's answer changed (the index then needs a rebuild). Never raises for a child:
    one that fails is logged and keeps its earlier answer."""
    children = _children(cfg)
    if not children:
        return False
    folder = cache_folder(ws)
    folder.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max(1, min(WORKERS, len(children)))) as pool:
        answers = list(pool.map(lambda c: _fetch_quietly(cfg, c, timeout), children))
    changed = False
    for child, hits in zip(children, answers):
        if hits is None:
            continue
        path = folder / f"{child.id}.json"
        old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if old.get("url") == child.url and old.get("hits") == hits:
            continue
        write_atomic(path, json.dumps({"url": child.url, "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                       time.gmtime()),
                                       "hits": hits}, ensure_ascii=False))
        changed = True
        log.info("search of %s: %d decisions and projects of child %s (%s)", cfg.node.id, len(hits), child.id,
                 child.url)
    return changed


def _fetch_quietly(cfg: NodeConfig, child: Link, timeout: float) -> list[dict[str, Any]] | None:
    import requests

    try:
        return fetch(child.url, timeout=timeout)
    except (requests.RequestException, ValueError, ChildSearchError) as e:
        log.warning("search of %s: the decisions of child %s (%s) were not fetched this time (%s: %s); "
                    "its earlier ones are kept", cfg.node.id, child.id, child.url, type(e).__name__,
                    str(e)[:200])
        return None


def fetch(base_url: str, *, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Every public decision and project a node's search finds, as hits with absolute links (newest first,
    at most MAX_PER_CHILD). Raises requests' errors, ValueError for JSON that is not JSON and
    :class:`ChildSearchError` for JSON that is not a search answer."""
    import requests

    base = base_url.rstrip("/") + "/"
    out: list[dict[str, Any]] = []
    with requests.Session() as session:
        offset, total = 0, 1
        while offset < min(total, MAX_PER_CHILD):
            r = session.get(urljoin(base, "search"), timeout=(CONNECT_TIMEOUT, timeout),
                            params={"f": "json", "type": ",".join(TYPES), "sort": "date", "limit": PAGE,
                                    "offset": offset})
            r.raise_for_status()
            answer = r.json()
            if not isinstance(answer, dict) or not isinstance(answer.get("hits"), list) \
                    or not isinstance(answer.get("total"), int):
                raise ChildSearchError(f"{r.url}: not a search answer (no 'hits' and 'total')")
            total = answer["total"]
            out += [h for h in (_checked(hit, base) for hit in answer["hits"]) if h is not None]
            if not answer["hits"]:
                break
            offset += PAGE
    return out


def _checked(hit: Any, base: str) -> dict[str, Any] | None:
    """A hit as the parent keeps it (links absolute), or None when it is not one this module understands."""
    if not (isinstance(hit, dict) and isinstance(hit.get("id"), str) and hit.get("type") in TYPES
            and isinstance(hit.get("title"), dict) and isinstance(hit["title"].get("uk"), str)
            and isinstance(hit.get("node"), str)):
        return None
    box = hit.get("bbox")
    if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) and math.isfinite(v)
                                                             for v in box)):
        box = None
    links = []
    for link in hit.get("links") or []:
        if isinstance(link, dict) and isinstance(link.get("href"), str):
            href = urljoin(base, link["href"])
            if href.startswith(("http://", "https://")):
                links.append({"href": href, "title": str(link.get("title") or ""),
                              "protocol": str(link.get("protocol") or "")})
    text = lambda k: _str(hit.get(k))  # noqa: E731
    return {"id": hit["id"], "type": hit["type"], "title": {"uk": hit["title"]["uk"],
                                                             "en": _str(hit["title"].get("en"))},
            "summary": text("summary"), "node": hit["node"], "level": text("level"), "theme": text("theme"),
            "organisation": text("organisation"), "status": text("status"), "updated": text("updated"),
            "territory": [t for t in hit.get("territory") or [] if isinstance(t, str)],
            "formats": [f for f in hit.get("formats") or [] if isinstance(f, str)],
            "licence": text("licence"),
            "bbox": box, "links": links}


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def children_registers(cfg: NodeConfig, ws: Workspace) -> Iterator[Doc]:
    """The decisions and projects the children answered at the last harvest (none before the first)."""
    from decisions.model import STATUS_UK
    from decisions.page import STAGE_UK

    folder = cache_folder(ws)
    for child in _children(cfg):
        path = folder / f"{child.id}.json"
        if not path.exists():
            continue
        for h in json.loads(path.read_text(encoding="utf-8")).get("hits", []):
            words = STATUS_UK if h["type"] == "decision" else STAGE_UK
            yield Doc(
                id=h["id"], type=h["type"], title_uk=h["title"]["uk"], title_en=h["title"]["en"],
                summary=h["summary"], text=" ".join(filter(None, [h["status"], words.get(h["status"], "")])),
                node=h["node"], level=h["level"], theme=h["theme"], organisation=h["organisation"],
                territory=h["territory"], formats=h["formats"], licence=h["licence"], access="public",
                key=f"{h['node']}/{'decisions' if h['type'] == 'decision' else 'projects'}",
                updated=h["updated"], bbox=tuple(h["bbox"]) if h["bbox"] else None,  # type: ignore[arg-type]
                status=h["status"], links=h["links"])
