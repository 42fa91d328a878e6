"""The place names the map viewer searches (``/map/places?q=``): the node's own named features.

Built with the node, as ``map/places.json`` in the workspace, from what the node publishes anyway, so the search
shows nothing that is not already public:

- every public vector dataset that declares a ``label:`` field (hromadas, geographic names, nature sites…):
  one place per named feature, with its bounding box;
- the settlements of the KATOTTH codifier (``reference.codifier``), placed on the hromada they belong to when
  the node's boundaries (``reference.boundaries``) hold that hromada — the codifier has no coordinates, so the
  map shows the hromada and says so, rather than inventing a point.

Matching is Ukrainian-aware with the analyser of the node's search (:mod:`search.analyse`): case-insensitive,
apostrophe variants and Latin look-alikes unified, and a Latin query is matched against the KMU 2010
transliteration (``ovruch`` finds Овруч; by stem, so it finds Овруцька громада too).
"""

from __future__ import annotations

import csv
import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from geoportal.config import Dataset, NodeConfig
from geoportal.model import StoredLayer, Workspace, write_atomic
from geoportal.ukrainian import clean_name
from ingest.text import field_name, transliterate
from search.analyse import words

log = logging.getLogger(__name__)

#: KATOTTH codifier categories of settlements, with the word a reader knows them by
SETTLEMENT_KINDS = {"M": ("місто", "city"), "T": ("селище", "settlement"), "C": ("село", "village"),
                    "X": ("селище", "settlement")}
MAX_Q = 100
MAX_RESULTS = 10


@dataclass(frozen=True)
class Place:
    """One named place: where to move the map (``bbox`` lon/lat) and what to call it."""

    name: str
    name_en: str  # the official transliteration, for the English page
    kind_uk: str
    kind_en: str
    bbox: tuple[float, float, float, float]
    rank: int = 1  # 0 settlements and territories first among equal matches, then features of datasets


def places_path(ws: Workspace) -> Path:
    return ws.root / "map" / "places.json"


def _label_column(ds: Dataset, layer: StoredLayer) -> str | None:
    """The column of the dataset's ``label:`` (given as the original header or as the column)."""
    if not ds.label:
        return None
    names = {f.name for f in layer.fields}
    col = ds.label if ds.label in names else field_name(ds.label)
    return col if col in names else None


def _features(ws: Workspace, ds: Dataset) -> Iterator[dict[str, Any]]:
    """The features of a dataset as published in its GeoJSON download (any storage backend made it)."""
    path = ws.downloads / f"{ds.id}.geojson"
    if not path.is_file():
        return iter(())
    return iter(json.loads(path.read_text(encoding="utf-8")).get("features") or [])


def _bounds(geometry: dict[str, Any] | None) -> tuple[float, float, float, float] | None:
    from shapely.geometry import shape

    if not geometry:
        return None
    try:
        b = shape(geometry).bounds
    except (ValueError, TypeError, AttributeError):
        return None
    return None if any(v != v for v in b) else (round(b[0], 5), round(b[1], 5), round(b[2], 5), round(b[3], 5))


def dataset_places(ws: Workspace, ds: Dataset, layer: StoredLayer) -> Iterator[Place]:
    col = _label_column(ds, layer)
    if col is None or layer.kind != "vector":
        return
    for f in _features(ws, ds):
        name = clean_name(str((f.get("properties") or {}).get(col) or ""))
        bbox = _bounds(f.get("geometry"))
        if name and bbox:
            yield Place(name, transliterate(name), clean_name(ds.title.uk), ds.title.en, bbox, rank=1)


def _hromada_boxes(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer]
                   ) -> dict[str, tuple[str, tuple[float, float, float, float]]]:
    """KATOTTH code of each hromada of the node's boundaries → (its name, its bbox)."""
    ds = next((d for d in cfg.public_datasets if d.id == cfg.reference.boundaries), None)
    layer = layers.get(ds.id) if ds else None
    if ds is None or layer is None:
        return {}
    col = _label_column(ds, layer)
    out = {}
    for f in _features(ws, ds):
        props = f.get("properties") or {}
        code, bbox = props.get("katotth_hromada"), _bounds(f.get("geometry"))
        if code and bbox:
            out[str(code)] = (clean_name(str(props.get(col) or "")) if col else "", bbox)
    return out


def settlement_places(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer]) -> Iterator[Place]:
    """Settlements of the codifier on the hromada that holds them (only hromadas the node has boundaries of)."""
    codifier = cfg.resolve(cfg.reference.codifier) if cfg.reference.codifier is not None else None
    if codifier is None or not codifier.is_file():
        return
    boxes = _hromada_boxes(cfg, ws, layers)
    if not boxes:
        return
    with open(codifier, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    for row in rows[1:]:
        if len(row) < 7 or row[5].strip() not in SETTLEMENT_KINDS or not row[3].strip():
            continue
        hromada = boxes.get(row[2].strip())
        if hromada is None:
            continue
        kind_uk, kind_en = SETTLEMENT_KINDS[row[5].strip()]
        where_uk = f"{hromada[0]} громада" if hromada[0] else "громада"
        where_en = f"{transliterate(hromada[0])} hromada" if hromada[0] else "hromada"
        name = clean_name(row[6])
        yield Place(name, transliterate(name), f"{kind_uk}, {where_uk}", f"{kind_en}, {where_en}", hromada[1], rank=0)


def build_places(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer]) -> list[Place]:
    out: list[Place] = list(settlement_places(cfg, ws, layers))
    for ds in cfg.public_datasets:
        layer = layers.get(ds.id)
        if layer is not None:
            out.extend(dataset_places(ws, ds, layer))
    return out


def write(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer]) -> Path:
    path = places_path(ws)
    places = build_places(cfg, ws, layers)
    write_atomic(path, json.dumps([asdict(p) for p in places], ensure_ascii=False, separators=(",", ":")))
    log.info("%s: %d places for the map viewer", cfg.node.id, len(places))
    return path


def load(path: Path) -> list[Place]:
    if not path.is_file():
        return []
    return [Place(**{**p, "bbox": tuple(p["bbox"])}) for p in json.loads(path.read_text(encoding="utf-8"))]


def _latin(word: str) -> str:
    """A word as lower-case ASCII letters and digits: Cyrillic by the KMU 2010 transliteration (as the search
    index does, :mod:`search.analyse`), so ``Овруч`` and ``ovruch`` are one word."""
    return re.sub(r"[^0-9a-z]", "", transliterate(word).lower())


def _stem(latin: str) -> str | None:
    """All but the last two letters (at least four): a place name and its adjective differ at the end
    (Овруч → Овруцька, ovruch → ovrutska); None for shorter words."""
    return latin[:max(4, len(latin) - 2)] if len(latin) >= 4 else None


@dataclass(frozen=True)
class _Key:
    """A place's words as the matcher compares them: lower-case Cyrillic and their transliterations."""

    words: tuple[str, ...]
    latin: tuple[str, ...]


def _key(text: str) -> _Key:
    ws = tuple(w.replace("'", "") for w in words(text))
    return _Key(ws, tuple(_latin(w) for w in ws))


class PlaceIndex:
    """The places of a node in memory (a few thousand: a scan per query takes a millisecond or two)."""

    def __init__(self, places: Iterable[Place]):
        self.places = list(places)
        self.keys = [_key(p.name) for p in self.places]

    def search(self, q: str, limit: int = MAX_RESULTS) -> list[Place]:
        """Places whose every query word starts one of their words (Cyrillic or transliterated); best first:
        whole-name matches, then whole words, then stems, settlements before other features."""
        query = _key(q[:MAX_Q])
        if not query.words:
            return []
        scored = []
        for i, key in enumerate(self.keys):
            score = _score(query, key)
            if score is not None:
                p = self.places[i]
                scored.append((score, p.rank, len(p.name), p.name, i))
        scored.sort()
        seen: set[tuple[str, object]] = set()
        out = []
        for *_, i in scored:
            p = self.places[i]
            # a river registered in two oblasts is one result, and so is a hromada in two datasets
            if (p.name, p.kind_uk) in seen or (p.name, p.bbox) in seen:
                continue
            seen.update({(p.name, p.kind_uk), (p.name, p.bbox)})
            out.append(p)
            if len(out) == limit:
                break
        return out


def _score(query: _Key, key: _Key) -> int | None:
    """0 the whole name, 1 every word whole, 2 word prefixes, 3 transliterated stems; None: no match."""
    if query.words == key.words or (query.latin == key.latin and query.latin):
        return 0
    worst = 0
    for qw, ql in zip(query.words, query.latin):
        cyr = any("\u0400" <= c <= "\u04ff" for c in qw)
        if (cyr and qw in key.words) or ql in key.latin:
            level = 1
        elif (cyr and any(w.startswith(qw) for w in key.words)) or any(w.startswith(ql) for w in key.latin):
            level = 2
        else:
            stem = _stem(ql)
            if stem is None or not any(w.startswith(stem) for w in key.latin):
                return None
            level = 3
        worst = max(worst, level)
    return worst
