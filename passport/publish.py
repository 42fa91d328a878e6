"""Passports published: a GeoPackage layer ``hromada-passports`` (item id = KATOTTH code) with every
computation kept in ``passport_history``, a JSON per hromada, a CSV of the whole territory and a
mobile-friendly HTML page per hromada (Ukrainian with English, a map, oblast average and rank).

Everything is written aside and moved into place; the history of earlier computations is carried into
each new file, so an indicator can be followed over time.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import shapely
from jinja2 import Environment, FileSystemLoader, select_autoescape

from geoportal.model import write_atomic
from passport.compute import Result
from passport.config import PassportConfig

TEMPLATES = Path(__file__).resolve().parent / "templates"
LAYER = "hromada-passports"
HISTORY_COLUMNS = ("computed_at", "signature", "engine", "katotth", "indicator", "value", "unit", "source",
                   "source_version", "source_loaded_at")


def _stats(res: Result, pcfg: PassportConfig) -> dict[str, dict[str, Any]]:
    """Per indicator: territory average and each hromada's rank (1 = highest)."""
    out: dict[str, dict[str, Any]] = {}
    for ind in pcfg.indicators:
        vals = {c: v.value for c, v in res.values[ind.id].items() if v.value is not None}
        order = sorted(vals, key=lambda c: -vals[c])
        ranks: dict[str, int] = {}
        for i, c in enumerate(order):  # equal values share a rank
            ranks[c] = ranks[order[i - 1]] if i and vals[order[i - 1]] == vals[c] else i + 1
        out[ind.id] = {"average": (sum(vals.values()) / len(vals)) if vals else None, "ranks": ranks, "of": len(vals)}
    return out


def passport_documents(res: Result, pcfg: PassportConfig) -> list[dict[str, Any]]:
    stats = _stats(res, pcfg)
    docs = []
    for h in res.hromadas:
        inds = {}
        for ind in pcfg.indicators:
            v = res.values[ind.id][h.katotth]
            st = stats[ind.id]
            value = None if v.value is None else round(v.value, ind.decimals)
            if value is not None and float(value).is_integer():
                value = int(value)  # counts and people are whole numbers
            inds[ind.id] = {
                "title": {"uk": ind.title.uk, "en": ind.title.en},
                "value": value,
                "unit": {"uk": ind.unit.uk, "en": ind.unit.en},
                "average": None if st["average"] is None else round(st["average"], ind.decimals),
                "rank": st["ranks"].get(h.katotth), "of": st["of"],
                "provenance": {"source": v.source, "version": v.version, "loaded_at": v.loaded_at},
            }
        docs.append({"katotth": h.katotth, "name": {"uk": h.name_uk, "en": h.name_en},
                     "raion": {"katotth": h.raion_katotth, "uk": h.raion_uk},
                     "computed_at": res.computed_at, "engine": res.engine, "indicators": inds,
                     "geometry": None if h.geometry is None else json.loads(shapely.to_geojson(h.geometry))})
    return docs


def _svg(geom: Any, width: int = 320, height: int = 220) -> str:
    """An inline SVG of the boundary (plate carrée scaled by cos(lat)): a map that needs no tiles."""
    if geom is None:
        return ""
    minx, miny, maxx, maxy = geom.bounds
    k = float(np.cos(np.radians((miny + maxy) / 2)))
    sx = (maxx - minx) * k or 1e-9
    sy = (maxy - miny) or 1e-9
    scale = min((width - 10) / sx, (height - 10) / sy)

    def ring(coords: np.ndarray) -> str:
        pts = " ".join(f"{5 + (x - minx) * k * scale:.1f},{5 + (maxy - y) * scale:.1f}" for x, y in coords[:, :2])
        return f"M{pts}Z"

    paths = []
    for poly in getattr(geom, "geoms", [geom]):
        paths.append(ring(np.asarray(poly.exterior.coords)))
        paths.extend(ring(np.asarray(i.coords)) for i in poly.interiors)
    return (f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="map"><path d="{" ".join(paths)}" '
            'fill="#c7e9c0" fill-rule="evenodd" stroke="#238b45" stroke-width="1.5"/></svg>')


def _write_gpkg(path: Path, docs: list[dict[str, Any]], res: Result, pcfg: PassportConfig) -> None:
    """The passports as a GeoPackage layer, history carried over from the previous file."""
    previous: list[tuple[Any, ...]] = []
    if path.exists():
        with sqlite3.connect(path) as db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'passport_history'").fetchone():
                previous = db.execute(f"SELECT {', '.join(HISTORY_COLUMNS)} FROM passport_history").fetchall()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".passports.", suffix=".gpkg")
    os.close(fd)
    os.unlink(tmp)
    geoms = [None if h.geometry is None else shapely.to_wkb(shapely.multipolygons([h.geometry])
                                                              if h.geometry.geom_type == "Polygon" else h.geometry)
             for h in res.hromadas]
    fields = ["katotth", "name_uk", "name_en", "raion", "computed_at"] + [i.id for i in pcfg.indicators]
    data = [np.array([d["katotth"] for d in docs], dtype=object), np.array([d["name"]["uk"] for d in docs], dtype=object),
            np.array([d["name"]["en"] for d in docs], dtype=object), np.array([d["raion"]["uk"] for d in docs], dtype=object),
            np.array([res.computed_at] * len(docs), dtype=object)]
    for ind in pcfg.indicators:
        data.append(np.array([np.nan if d["indicators"][ind.id]["value"] is None else d["indicators"][ind.id]["value"]
                              for d in docs], dtype=float))
    pyogrio.raw.write(tmp, np.array(geoms, dtype=object), field_data=data, fields=fields, layer=LAYER, driver="GPKG",
                      geometry_type="MultiPolygon", crs="EPSG:4326", encoding="UTF-8",
                      dataset_options={"VERSION": "1.3"}, layer_options={"SPATIAL_INDEX": "YES", "FID": "fid",
                                                                         "GEOMETRY_NAME": "geom"})
    rows = previous + [(res.computed_at, res.signature, res.engine, h.katotth, ind.id, v.value, ind.unit.uk,
                        v.source, v.version, v.loaded_at)
                       for ind in pcfg.indicators for h in res.hromadas for v in [res.values[ind.id][h.katotth]]]
    with sqlite3.connect(tmp) as db:
        db.execute(f"CREATE TABLE passport_history ({', '.join(c + ' TEXT' if c != 'value' else c + ' REAL' for c in HISTORY_COLUMNS)})")
        db.executemany(f"INSERT INTO passport_history VALUES ({', '.join('?' for _ in HISTORY_COLUMNS)})", rows)
        db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES "
                   "('passport_history', 'attributes', 'passport_history', 'every computation of every indicator')")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def publish(res: Result, pcfg: PassportConfig, out: Path) -> Path:
    """Write the GeoPackage, JSON, CSV and HTML of the passports into ``out``; returns the GeoPackage."""
    out.mkdir(parents=True, exist_ok=True)
    docs = passport_documents(res, pcfg)
    gpkg = out / "passports.gpkg"
    _write_gpkg(gpkg, docs, res, pcfg)
    for d in docs:
        write_atomic(out / f"{d['katotth']}.json", json.dumps(d, ensure_ascii=False, indent=1))
    write_atomic(out / "passports.json", json.dumps([{k: v for k, v in d.items() if k != "geometry"} for d in docs],
                                                    ensure_ascii=False, indent=1))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["katotth", "hromada", "hromada_en", "raion"] + [f"{i.id} ({i.unit.uk})" for i in pcfg.indicators]
               + ["computed_at"])
    for d in docs:
        w.writerow([d["katotth"], d["name"]["uk"], d["name"]["en"], d["raion"]["uk"]]
                   + ["" if d["indicators"][i.id]["value"] is None else d["indicators"][i.id]["value"]
                      for i in pcfg.indicators] + [d["computed_at"]])
    write_atomic(out / "passports.csv", "\ufeff" + buf.getvalue())  # BOM: spreadsheet programs read Cyrillic
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    page = env.get_template("passport.html")
    for d, h in zip(docs, res.hromadas):
        write_atomic(out / f"{d['katotth']}.html", page.render(p=d, svg=_svg(h.geometry), indicators=pcfg.indicators))
    write_atomic(out / "index.html", env.get_template("index.html").render(docs=docs, indicators=pcfg.indicators))
    return gpkg


def history(gpkg: Path, katotth: str | None = None, indicator: str | None = None) -> list[dict[str, Any]]:
    """Every kept value, oldest first (for following an indicator over time)."""
    if not gpkg.exists():
        return []
    q = f"SELECT {', '.join(HISTORY_COLUMNS)} FROM passport_history WHERE (? IS NULL OR katotth = ?) " \
        "AND (? IS NULL OR indicator = ?) ORDER BY computed_at"
    with sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True) as db:
        return [dict(zip(HISTORY_COLUMNS, r)) for r in db.execute(q, (katotth, katotth, indicator, indicator))]


def copy_tree(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
