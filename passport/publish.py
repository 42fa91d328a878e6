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
import logging
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from geoportal.model import write_atomic
from geoportal.ukrainian import HROMADAS, HROMADAS_OF, apostrophes, counted, plural_form, unit_after
from geoportal.portal import Site, environment
from passport import pdf
from passport.compute import Result
from passport.pages import compare_data, write_maps
from passport.config import PassportConfig
from passport.store import LAYER, history, write_passports

__all__ = ["LAYER", "history", "passport_documents", "publish"]
log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: bumped when the published pages or documents change shape (2: ranks say out of how many and why,
#: Ukrainian plurals, service links; 3: the node's look, a map per indicator, comparison, PDF), so existing
#: nodes republish their passports once
PAGES = 3


def _needs_boundary(ind_id: str, pcfg: PassportConfig) -> bool:
    """Whether an indicator can only be computed for a hromada whose boundary is loaded (it is measured on
    the polygon, cuts a layer by it, or divides by such an indicator)."""
    ind = next(i for i in pcfg.indicators if i.id == ind_id)
    if ind.aggregate == "ratio":
        return any(_needs_boundary(x, pcfg) for x in (ind.numerator, ind.denominator) if x)
    return ind.table is None


def _rank_of(n: int, total: int, boundary: bool) -> dict[str, str]:
    """What a rank is out of, and why it may be fewer than all hromadas: "з 6 громад, для яких є межі"."""
    of_uk = f"з {n} {plural_form(n, *HROMADAS_OF)}"
    of_en = f"of {n} hromada{'' if n == 1 else 's'}"
    if n == total:
        return {"uk": of_uk, "en": of_en}
    if boundary:
        return {"uk": f"{of_uk}, для яких є межі", "en": f"{of_en} with boundaries"}
    return {"uk": f"{of_uk}, для яких є дані", "en": f"{of_en} with data"}


def _stats(res: Result, pcfg: PassportConfig) -> dict[str, dict[str, Any]]:
    """Per indicator: territory average and each hromada's rank (1 = highest) among the hromadas that have a
    value, and what that rank is out of (``of`` and the words for it)."""
    out: dict[str, dict[str, Any]] = {}
    for ind in pcfg.indicators:
        vals = {c: v.value for c, v in res.values[ind.id].items() if v.value is not None}
        order = sorted(vals, key=lambda c: -vals[c])
        ranks: dict[str, int] = {}
        for i, c in enumerate(order):  # equal values share a rank
            ranks[c] = ranks[order[i - 1]] if i and vals[order[i - 1]] == vals[c] else i + 1
        out[ind.id] = {"average": (sum(vals.values()) / len(vals)) if vals else None, "ranks": ranks,
                       "of": len(vals),
                       "of_text": _rank_of(len(vals), len(res.hromadas), _needs_boundary(ind.id, pcfg))}
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
                "title": {"uk": apostrophes(ind.title.uk), "en": ind.title.en},
                "value": value,
                "unit": {"uk": ind.unit.uk, "en": ind.unit.en},
                "average": None if st["average"] is None else round(st["average"], ind.decimals),
                "rank": st["ranks"].get(h.katotth), "of": st["of"], "of_text": st["of_text"],
                "withheld": ind.id in res.withheld,
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
    return (f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="межі громади / boundary of the hromada"><path d="{" ".join(paths)}" '
            'fill="#c7e9c0" fill-rule="evenodd" stroke="#238b45" stroke-width="1.5"/></svg>')


def number(v: float | None, decimals: int = 2) -> str:
    """1234567.891 → '1 234 567.89' (a space groups thousands, as Ukrainian readers expect); None → '—'."""
    if v is None:
        return "—"
    r = round(float(v), decimals)
    text = f"{r:,.{decimals}f}" if not float(r).is_integer() else f"{int(r):,}"
    return text.replace(",", "\u202f")


def _add_history(docs: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Each indicator's earlier computations, oldest first, so a reader follows it over time."""
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault((r["katotth"], r["indicator"]), []).append(
            {"computed_at": r["computed_at"], "value": r["value"], "source_version": r["source_version"]})
    for d in docs:
        for ind_id, ind in d["indicators"].items():
            ind["history"] = by.get((d["katotth"], ind_id), [])
            now = ind["history"][-1]["value"] if ind["history"] else None
            ind["previous"] = next((h for h in reversed(ind["history"]) if h["value"] != now), None)


def publish(res: Result, pcfg: PassportConfig, out: Path, services: dict[str, str] | None = None,
            site: Site | None = None) -> Path:
    """Write the GeoPackage, JSON, CSV and HTML (a page per hromada, a map per indicator, the comparison) of the
    passports into ``out``; returns the GeoPackage. The printable PDF of a page is made when first asked for
    (:func:`passport.pdf.printed`): any of the previous version is removed here.

    ``services``: label → URL of the services that publish the passports (relative to ``/passport/``, from
    :mod:`geoportal.links`), listed on the index page; ``site``: the node named in the pages' header."""
    out.mkdir(parents=True, exist_ok=True)
    docs = passport_documents(res, pcfg)
    gpkg = out / "passports.gpkg"
    write_passports(gpkg, res, pcfg)
    _add_history(docs, history(gpkg))
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
    # strict: a name the document does not have fails the build instead of printing an empty or repr'd value
    env = environment(TEMPLATES)
    env.filters["num"] = number
    env.filters["unit"] = lambda unit, value: unit_after(value, unit)
    env.filters["hromadas"] = lambda n: counted(n, *HROMADAS)
    no_pdf = pdf.available()
    if no_pdf:
        log.warning("passport: no PDFs: %s", no_pdf)
    context = {"site": site or Site("Геопортал", "Geoportal"), "docs": docs, "indicators": pcfg.indicators,
               "services": services or {}, "pdf": no_pdf is None}
    page = env.get_template("passport.html")
    for d, h in zip(docs, res.hromadas):
        write_atomic(out / f"{d['katotth']}.html", page.render(**context, p=d, svg=_svg(h.geometry)))
        # printed when first asked for (passport.pdf.printed); the previous version's is never served
        (out / f"{d['katotth']}.pdf").unlink(missing_ok=True)
    for name, html in write_maps(env, docs, res, pcfg, context).items():
        write_atomic(out / name, html)
    write_atomic(out / "compare.html", env.get_template("compare.html").render(
        **context, data=compare_data(docs, pcfg, number)))
    return gpkg
