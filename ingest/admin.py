"""Administrative linking: the KATOTTH codes of the hromada, raion and oblast each feature lies in.

In order of trust: the feature's position inside the node's hromada polygons (``reference.boundaries``);
a KOATUU code in the source (old council codes through the council → hromada table, other codes through
the official KOATUU → KATOTTH cross-walk); an old (pre-2020) raion name, when all its councils went to
one new raion; finally, inside the node's territory, the node's own oblast. The method is kept per
feature in ``admin_linked_by``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import shapely

from geoportal.errors import IngestError
from ingest import reference
from ingest.crs import crs_key, transform_xy
from ingest.ogrio import pyogrio
from ingest.readers.base import plain_path

if TYPE_CHECKING:
    from geoportal.config import NodeConfig

KATOTTH = reference.KATOTTH
COLUMNS = ("katotth_hromada", "katotth_raion", "katotth_oblast", "admin_linked_by")


def old_raion_key(name: str) -> str:
    """'р-н Радомишльський', 'Радомишльський район' → 'радомишльський'."""
    s = name.lower().replace("р-н", " ").replace("район", " ")
    return re.sub(r"[^\w-]+", " ", s).strip()


@dataclass
class AdminIndex:
    parents: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)  # code→(o,r,h)
    koatuu: dict[str, str] = field(default_factory=dict)  # KOATUU → KATOTTH
    old_raions: dict[str, str] = field(default_factory=dict)  # old raion key → new raion code
    polygons: np.ndarray | None = None  # hromada polygons, EPSG:4326
    polygon_codes: list[str] = field(default_factory=list)
    tree: shapely.STRtree | None = None
    territory: shapely.Geometry | None = None  # EPSG:4326
    territory_code: str | None = None

    def link(self, geoms: np.ndarray, crs: str, koatuu: list[str | None] | None,
             raion_names: list[str | None] | None) -> list[pa.Array]:
        n = len(geoms)
        out: list[list[str | None]] = [[None] * n for _ in COLUMNS]
        have = ~shapely.is_missing(geoms)
        pts = np.full(n, None, dtype=object)
        pts[have] = shapely.point_on_surface(geoms[have])
        if crs != "EPSG:4326" and have.any():
            xy = shapely.get_coordinates(pts[have])
            lon, lat = transform_xy(xy[:, 0], xy[:, 1], crs, "EPSG:4326")
            pts[have] = shapely.points(lon, lat)
        hit: dict[int, str] = {}
        if self.tree is not None and have.any():
            src, tgt = self.tree.query(pts[have], predicate="within")
            idx = np.flatnonzero(have)
            for s, t in zip(src, tgt):
                hit.setdefault(int(idx[s]), self.polygon_codes[int(t)])
        inside = np.zeros(n, dtype=bool)
        if self.territory is not None and have.any():
            inside[have] = shapely.contains_xy(self.territory, *shapely.get_coordinates(pts[have]).T)
        for i in range(n):
            code, how = hit.get(i), "position"
            if code is None and koatuu and koatuu[i]:
                k = re.sub(r"\D", "", str(koatuu[i]))
                code, how = self.koatuu.get(k.ljust(10, "0")[:10]), "koatuu"
            if code is None and raion_names and raion_names[i]:
                code, how = self.old_raions.get(old_raion_key(raion_names[i])), "old_raion_name"
            if code is None and inside[i] and self.territory_code:
                code, how = self.territory_code, "territory"
            if code is None:
                continue
            o, r, h = self.parents.get(code, (None, None, None))
            out[0][i], out[1][i], out[2][i], out[3][i] = h, r, o, how
        return [pa.array(col, pa.string()) for col in out]


def _codifier(idx: AdminIndex, path: Path) -> None:
    for r in reference.codifier(path):
        levels = [r[k] or None for k in reference.CODIFIER_KEYS[:5]]
        code = [c for c in levels if c][-1]
        idx.parents[code] = (levels[0], levels[1], levels[2])


def _crosswalk(idx: AdminIndex, path: Path) -> None:
    for katotth, koatuu in reference.crosswalk(path):
        idx.koatuu.setdefault(koatuu, katotth)


def _councils(idx: AdminIndex, path: Path) -> None:
    by_old: dict[str, set[str]] = {}
    for r in reference.councils(path):
        rada, hrom = r["rada_code"].strip(), r["hromada_code"].strip()
        idx.koatuu[rada] = hrom  # a council's own code beats the cross-walk's settlement code
        raion = idx.parents.get(hrom, (None, None, None))[1]
        if raion:
            by_old.setdefault(old_raion_key(r["rai_center"]), set()).add(raion)
    idx.old_raions = {k: next(iter(v)) for k, v in by_old.items() if len(v) == 1}


def _read_polygons(cfg: NodeConfig, dataset_id: str) -> tuple[np.ndarray, list[list[object]], list[str]]:
    ds = cfg.dataset(dataset_id)
    src = cfg.resolve(ds.source)
    try:
        with plain_path(src) as gpath:
            meta, _, wkb, data = pyogrio.raw.read(gpath, layer=ds.layer, where=ds.where)
    except Exception as e:
        raise IngestError(f"{src}: the reference layer '{dataset_id}' cannot be read ({e})") from e
    geoms = shapely.from_wkb(wkb)
    crs = meta.get("crs") or ds.assume_crs or "EPSG:4326"
    from pyproj import CRS
    key = crs_key(CRS.from_user_input(crs))
    if key != "EPSG:4326":
        from ingest.geometry import reproject
        geoms = reproject(geoms, key, "EPSG:4326")
    geoms = shapely.make_valid(geoms)
    return geoms, [list(c) for c in data], list(meta["fields"])


def territory_dataset(cfg: NodeConfig) -> str | None:
    """The dataset with the node's outline: ``reference.territory``, else '<level>-boundary'."""
    explicit = getattr(cfg.reference, "territory", None)
    if explicit:
        return str(explicit)
    guess = f"{cfg.node.level.value}-boundary"
    return guess if any(d.id == guess for d in cfg.datasets) else None


def load_territory(cfg: NodeConfig) -> shapely.Geometry | None:
    tid = territory_dataset(cfg)
    if tid is None:
        return None
    geoms, _, _ = _read_polygons(cfg, tid)
    return shapely.union_all(geoms)


def build_index(cfg: NodeConfig, territory: shapely.Geometry | None) -> AdminIndex:
    idx = AdminIndex(territory=territory)
    ref = cfg.reference
    if ref.codifier:
        _codifier(idx, cfg.resolve(ref.codifier))
    if ref.koatuu_crosswalk:
        _crosswalk(idx, cfg.resolve(ref.koatuu_crosswalk))
    if ref.councils:
        _councils(idx, cfg.resolve(ref.councils))
    if territory is not None:
        idx.territory_code = cfg.node.katotth
        shapely.prepare(territory)
    idx.parents.setdefault(cfg.node.katotth, (cfg.node.katotth, None, None) if cfg.node.level.value == "oblast"
                           else (None, None, None))
    if ref.boundaries:
        geoms, data, names = _read_polygons(cfg, ref.boundaries)
        col = next((c for c in data if len(c) and all(isinstance(v, str) and KATOTTH.match(v) for v in c)), None)
        if col is None:
            raise IngestError(f"reference.boundaries '{ref.boundaries}': no column with KATOTTH codes "
                              f"(fields: {', '.join(names)}); add one")
        idx.polygons, idx.polygon_codes = geoms, [str(v) for v in col]
        idx.tree = shapely.STRtree(geoms)
    return idx


def source_columns(titles: list[str]) -> tuple[int | None, int | None]:
    """Indices of a KOATUU-code column and an old-raion-name column among the source headers."""
    k = next((i for i, t in enumerate(titles) if re.search(r"koatuu|коатуу", t, re.I)), None)
    r = next((i for i, t in enumerate(titles) if t.strip().lower() in {"район", "raion", "district", "rayon"}), None)
    return k, r
