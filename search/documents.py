"""What the search indexes: a registry of document types, each a function ``(cfg, ws) -> Iterable[Doc]``.

* ``record`` — every record of the node's pycsw catalog (table ``records``, the full variant of each, read
  from the repository pycsw serves: ``catalog.db``, or the PostgreSQL catalog in production — see
  :mod:`catalog.repository`): the node's own datasets, whatever their level, and services and, at a parent, everything
  harvested from below, its origin node kept (the ``source`` column, see ``catalog.federation``); each
  with its level and dataset key, so that :mod:`search.access` decides per caller, never the index;
* ``passport`` — the hromada passports the node computed (``passport/<KATOTTH>.json``);
* ``decision``, ``project`` — the node's decision register (:mod:`search.registers`), cancelled ones too;
* ``network`` — at a parent, the decisions and projects of the nodes below, with their origin node, as the
  last harvest fetched them (:mod:`search.network`).

A new type is one function (here or in a module of its own) and one line in :data:`DOC_SOURCES`.
"""

from __future__ import annotations

import html
import json
import logging
import re
from pathlib import Path
from typing import Callable, Iterable, Iterator

from catalog.repository import IDENTIFICATION_XML, CatalogRepository, SqliteRepository
from geoportal.config import NodeConfig
from geoportal.model import Workspace
from metadata.records import LICENCES, record_id
from search.doc import Doc, level_of
from search.network import children_registers
from search.registers import decisions, projects

__all__ = ["DOC_SOURCES", "Doc", "level_of"]

KATOTTH = re.compile(r"\bUA\d{17}\b")
BBOX = re.compile(r"-?\d+(?:\.\d+)?")
log = logging.getLogger(__name__)


FORMAT_BY_PROTOCOL = {"OGC:WMS": "WMS", "OGC:WFS": "WFS", "OGC API - Features": "OGC API Features",
                      "OGC:CSW": "CSW"}
FORMAT_BY_SUFFIX = {".gpkg": "GeoPackage", ".geojson": "GeoJSON", ".csv": "CSV", ".shp.zip": "Shapefile",
                    ".tif": "GeoTIFF", ".geojson.zip": "GeoJSON", ".csv.zip": "CSV"}


def parse_links(raw: str | None) -> list[dict[str, str]]:
    """pycsw's ``links`` column: ``name,description,protocol,url`` joined by ``^`` (descriptions may hold
    commas, so the last two fields are split from the right)."""
    out = []
    for item in (raw or "").split("^"):
        head, _, url = item.rpartition(",")
        head, _, protocol = head.rpartition(",")
        name, _, desc = head.partition(",")
        if url.startswith(("http://", "https://")):
            out.append({"href": url, "title": desc or name, "protocol": protocol})
    return out


def formats_of(links: list[dict[str, str]]) -> list[str]:
    out: list[str] = []
    for link in links:
        fmt = FORMAT_BY_PROTOCOL.get(link["protocol"])
        if fmt is None:
            path = link["href"].split("?")[0].lower()
            fmt = next((f for s, f in sorted(FORMAT_BY_SUFFIX.items(), key=lambda x: -len(x[0]))
                        if path.endswith(s)), None)
        if fmt and fmt not in out:
            out.append(fmt)
    return out


def bbox_of(wkt: str | None) -> tuple[float, float, float, float] | None:
    nums = [float(n) for n in BBOX.findall(wkt or "")]
    if len(nums) < 4:
        return None
    xs, ys = nums[0::2], nums[1::2]
    return (min(xs), min(ys), max(xs), max(ys))


def _localised(part: str, tag: str) -> str:
    """The first translation (``gmd:LocalisedCharacterString``) inside the first ``tag`` element of an
    ISO 19139 fragment, by string search: records run to 50 kB and parsing each costs more than all the
    rest of indexing it. Records written with other namespace prefixes simply have no English title here
    (their text is still indexed)."""
    start = part.find(f"<{tag}")
    while start >= 0 and part[start + len(tag) + 1] not in " >\t\n":  # <gmd:title…, not <gmd:titleX
        start = part.find(f"<{tag}", start + 1)
    end = part.find(f"</{tag}>", start)
    if start < 0 or end < 0:
        return ""
    i = part.find("<gmd:LocalisedCharacterString", start, end)
    if i < 0:
        return ""
    i = part.find(">", i) + 1
    j = part.find("</gmd:LocalisedCharacterString>", i, end)
    return html.unescape(part[i:j]).strip() if j > i else ""


def _origin_node(cfg: NodeConfig, source: str, key: str | None = None) -> str:
    """The node a record comes from, by its id where it can be known: this node, a child by its URL, or —
    for a record harvested from further below (a hromada's, at the oblast) — the node named in its dataset
    key (``<origin node id>/<dataset id>``, catalog.access_marker); else the URL it was harvested from."""
    if source in ("", "local"):
        return cfg.node.id
    for child in cfg.children:
        if child.url.rstrip("/") == source.rstrip("/"):
            return child.id
    if key and "/" in key:
        return key.split("/", 1)[0]
    return source


RECORD_COLUMNS = ("identifier", "type", "title", "abstract", "keywords", "organization", "topicategory",
                  "date_modified", "date", "otherconstraints", "accessconstraints", "wkt_geometry", "links",
                  "source", IDENTIFICATION_XML, "conditionapplyingtoaccessanduse", "geoportal_key",
                  "geoportal_level")


def catalog_records(cfg: NodeConfig, ws: Workspace, catalog: CatalogRepository | None = None) -> Iterator[Doc]:
    """Every record of the node's catalog, local and harvested, read from ``catalog`` (default: the build's
    ``catalog.db``)."""
    catalog = catalog or SqliteRepository(ws.catalog_db)
    if not catalog.exists():
        return
    local = {record_id(cfg, ds.id): ds for ds in cfg.datasets}
    # only the identification part of the XML comes into Python: that is where the English title is
    for (ident, typ, title, abstract, keywords, org, topic, modified, date, other, _acc, wkt, links,
         source, xml, conditions, key, level) in catalog.known_records(RECORD_COLUMNS):
        part = xml or ""
        title_en, abstract_en = _localised(part, "gmd:title"), _localised(part, "gmd:abstract")
        link_list = parse_links(links)
        ds = local.get(ident) if source in (None, "", "local") else None
        codes = list(dict.fromkeys(KATOTTH.findall(_words(keywords))))
        licence = (ds.licence if ds is not None else "") or next(
            (lic for lic in LICENCES if lic in f"{other or ''} {conditions or ''}"), "")
        yield Doc(
            id=ident, type=typ or "dataset", title_uk=title or ident, title_en=title_en,
            text=" ".join(filter(None, [abstract, abstract_en, _words(keywords), org])),
            node=_origin_node(cfg, source or "local", key),
            level=level_of(codes[-1]) if codes else "",
            theme=topic or (ds.theme if ds is not None else "") or "",
            organisation=org or "", territory=codes, formats=formats_of(link_list), licence=licence or "",
            access=level, key=key or "",
            updated=(modified or date or "")[:10], bbox=bbox_of(wkt), links=link_list)


def passports(cfg: NodeConfig, ws: Workspace) -> Iterator[Doc]:
    """One document per hromada passport the node computed, with the hromada's bounding box."""
    folder = ws.root / "passport"
    boxes = _passport_boxes(folder / "passports.gpkg")
    for path in sorted(folder.glob("UA*.json")):
        p = json.loads(path.read_text(encoding="utf-8"))
        code, name = p["katotth"], p.get("name", {})
        raion = p.get("raion", {}).get("uk", "")
        indicators = [" ".join(filter(None, (i.get("title", {}).get("uk"), i.get("title", {}).get("en"))))
                      for i in p.get("indicators", {}).values()]
        yield Doc(
            id=f"passport:{code}", type="passport",
            title_uk=f"Паспорт громади: {name.get('uk', code)} громада",
            title_en=f"Passport: {name.get('en', code)}",
            text=" ".join([f"{raion} район", "паспорт громади ресурсний потенціал", *indicators]),
            node=cfg.node.id, level=level_of(code) or "hromada", theme="society", place=name.get("uk", code),
            organisation=cfg.node.contact.organisation.uk, territory=[code], formats=["HTML", "JSON"],
            access="public", updated=str(p.get("computed_at", ""))[:10], bbox=boxes.get(code),
            links=[{"href": f"/passport/{code}.html", "title": "HTML", "protocol": "WWW:LINK"},
                   {"href": f"/passport/{code}.json", "title": "JSON", "protocol": "WWW:LINK"}])


def _passport_boxes(gpkg: Path) -> dict[str, tuple[float, float, float, float]]:
    """KATOTTH → bounding box of the hromada, from the passports layer (empty when there is none)."""
    if not gpkg.exists():
        return {}
    import math

    import pyogrio

    layer = "hromada-passports"
    try:
        if "katotth" not in list(pyogrio.read_info(gpkg, layer=layer)["fields"]):
            return {}
        meta, table = pyogrio.read_arrow(gpkg, layer=layer, columns=["katotth"], read_geometry=False,
                                         return_fids=True)
        fids, bounds = pyogrio.read_bounds(gpkg, layer=layer)
    except Exception as e:  # noqa: BLE001 - no boxes is a smaller search, not a failed build
        log.warning("search: no hromada boxes from %s: %s", gpkg, e)
        return {}
    fid_col = meta["fid_column"] or "fid"
    code_of = dict(zip(table.column(fid_col).to_pylist(), table.column("katotth").to_pylist()))
    out = {}
    for fid, b in zip(fids.tolist(), bounds.T.tolist()):
        if code_of.get(fid) and not any(math.isnan(v) for v in b):
            out[code_of[fid]] = (b[0], b[1], b[2], b[3])
    return out


DOC_SOURCES: dict[str, Callable[[NodeConfig, Workspace], Iterable[Doc]]] = {
    "record": catalog_records,
    "passport": passports,
    "decision": decisions,
    "project": projects,
    "network": children_registers,
}


def _words(keywords: str | None) -> str:
    """The keywords a reader may search for: the access marker's machine keywords are not words."""
    return ",".join(k for k in (keywords or "").split(",") if not k.strip().startswith("geoportal:"))
