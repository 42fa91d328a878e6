"""Atom feeds (RFC 4287) of the register: ``feed.atom`` for the whole node and ``<KATOTTH>.atom`` for each
issuing hromada, newest change first (the newest :data:`MAX_ENTRIES`), one entry per decision with its status, so a resident or a parent node
follows decisions with any feed reader instead of polling pages.

Ids are stable across rebuilds and ports (``urn:uuid:`` derived from the node and the decision), so a reader
does not see an old decision as new when the node moves; links are absolute (from the node's base URL).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from lxml import etree

from decisions.model import KIND_UK, STATUS_UK, Decision
from geoportal.model import write_atomic

ATOM = "http://www.w3.org/2005/Atom"
#: a feed is the window of the newest changes (a reader polls it); the whole register is the OGC API collection
MAX_ENTRIES = 500
NS = uuid.UUID("6f1c4f1e-7a52-4c86-9a0e-2f5b1c0d2e11")  # this project's namespace for feed/entry ids


def feed_id(node: str, scope: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NS, f'{node}/feed/{scope}')}"


def entry_id(node: str, decision: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NS, f'{node}/decision/{decision}')}"


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    e = etree.SubElement(parent, f"{{{ATOM}}}{tag}", {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        e.text = text
    return e


def render(decisions: list[Decision], *, node: str, scope: str, title: str, author: str, base_url: str,
           self_href: str, built_at: str) -> bytes:
    """One feed. ``updated`` is the newest change in it (the build time when it has no entry)."""
    ordered = sorted(decisions, key=lambda d: (d.updated_at, d.id), reverse=True)[:MAX_ENTRIES]
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "uk")
    _el(feed, "id", feed_id(node, scope))
    _el(feed, "title", title)
    _el(feed, "updated", ordered[0].updated_at if ordered else built_at)
    _el(_el(feed, "author"), "name", author)
    _el(feed, "link", rel="self", type="application/atom+xml", href=self_href)
    _el(feed, "link", rel="alternate", type="text/html", href=f"{base_url}/decisions/")
    for d in ordered:
        e = _el(feed, "entry")
        _el(e, "id", entry_id(node, d.id))
        _el(e, "title", f"{d.id}: {d.title.uk} [{STATUS_UK.get(d.status, d.status)}]")
        _el(e, "updated", d.updated_at)
        _el(e, "published", d.created_at)
        _el(e, "link", rel="alternate", type="text/html", href=f"{base_url}/decisions/{d.id}.html")
        _el(e, "category", term=d.status, label=STATUS_UK.get(d.status, d.status),
            scheme=f"{base_url}/decisions/#status")
        _el(e, "category", term=d.kind, label=KIND_UK.get(d.kind, d.kind), scheme=f"{base_url}/decisions/#kind")
        summary = f"Стан: {STATUS_UK.get(d.status, d.status)} ({d.status}). {d.summary.uk}".strip()
        _el(e, "summary", summary, type="text")
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_feeds(decisions: list[Decision], folder: Path, *, node: str, node_name: str, base_url: str,
                names: dict[str, str], built_at: str) -> list[Path]:
    """``feed.atom`` and one ``<KATOTTH>.atom`` per issuer in the register; the feed of a code that issues
    nothing in this register (a workspace reused for another register) is removed rather than left stale."""
    out = [folder / "feed.atom"]
    write_atomic(out[0], render(decisions, node=node, scope="all", title=f"Рішення: {node_name}", author=node_name,
                                base_url=base_url, self_href=f"{base_url}/decisions/feed.atom",
                                built_at=built_at).decode("utf-8"))
    by_issuer: dict[str, list[Decision]] = {}
    for d in decisions:
        by_issuer.setdefault(d.issuer, []).append(d)
    issuers = sorted(by_issuer)
    for code in issuers:
        p = folder / f"{code}.atom"
        name = names.get(code, code)
        write_atomic(p, render(by_issuer[code], node=node, scope=code,
                               title=f"Рішення: {name}", author=name, base_url=base_url,
                               self_href=f"{base_url}/decisions/{code}.atom", built_at=built_at).decode("utf-8"))
        out.append(p)
    for old in folder.glob("UA*.atom"):
        if old.stem not in issuers:
            old.unlink()
    return out
