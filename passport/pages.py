"""The passport portal pages beside each hromada's page: the map of every indicator (a choropleth with its
legend and the ranking "of N"), the comparison of 2–4 hromadas, and the data they share.

Static like the rest of ``/passport/`` (links are relative, the folder is served from any address)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment

from passport.choropleth import Area, classify, svg
from passport.compute import Result
from passport.config import PassportConfig


def map_page(indicator_id: str, first: str) -> str:
    """The file of an indicator's map; the first indicator's map is the passports' index page."""
    return "index.html" if indicator_id == first else f"map-{indicator_id}.html"


def _ranking(docs: list[dict[str, Any]], ind_id: str, number: Any, decimals: int) -> list[dict[str, Any]]:
    rows = []
    for d in docs:
        v = d["indicators"][ind_id]
        text = "приховано / withheld" if v["withheld"] else number(v["value"], decimals)
        rows.append({"code": d["katotth"], "name": d["name"]["uk"], "rank": v["rank"], "value": v["value"], "text": text})
    return sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["name"]))


def write_maps(env: Environment, docs: list[dict[str, Any]], res: Result, pcfg: PassportConfig,
               context: dict[str, Any]) -> dict[str, str]:
    """One page per indicator (file name → HTML): choropleth, legend, ranking, the comparison form."""
    number = env.filters["num"]
    geoms = {h.katotth: h.geometry for h in res.hromadas}
    first = pcfg.indicators[0].id
    pages = {}
    for ind in pcfg.indicators:
        values = {d["katotth"]: (None if d["indicators"][ind.id]["withheld"] else d["indicators"][ind.id]["value"])
                  for d in docs}
        classes = classify(list(values.values()))
        areas = [Area(code=d["katotth"], name=d["name"]["uk"], geometry=geoms.get(d["katotth"]),
                      value=values[d["katotth"]],
                      text=f"{number(values[d['katotth']], ind.decimals)} {ind.unit.uk}".strip(),
                      href=f"{d['katotth']}.html") for d in docs]
        title = f"{env.filters['uk'](ind.title.uk)}: карта громад / {ind.title.en}: map of the hromadas"
        drawn = [a for a in areas if a.geometry is not None]
        of_text = next((d["indicators"][ind.id]["of_text"] for d in docs), {"uk": "", "en": ""})
        pages[map_page(ind.id, first)] = env.get_template("index.html").render(
            **context, ind=ind, svg=svg(areas, classes, title), classes=classes,
            no_value=sum(1 for a in drawn if a.value is None), without_boundary=len(areas) - len(drawn),
            ranking=_ranking(docs, ind.id, number, ind.decimals), of_text=of_text,
            map_page=lambda i: map_page(i, first))
    return pages


def compare_data(docs: list[dict[str, Any]], pcfg: PassportConfig, number: Any) -> dict[str, Any]:
    """What the comparison page's script reads: each hromada's values with their text and rank."""
    inds = []
    for ind in pcfg.indicators:
        of = next((d["indicators"][ind.id]["of"] for d in docs), 0)
        inds.append({"id": ind.id, "title": ind.title.uk.replace("'", "’"), "unit": ind.unit.uk, "of": of})
    hromadas = []
    for d in docs:
        values = {}
        for ind in pcfg.indicators:
            v = d["indicators"][ind.id]
            value = None if v["withheld"] else v["value"]
            values[ind.id] = {"value": value, "text": number(value, ind.decimals), "rank": v["rank"],
                              "withheld": v["withheld"]}
        hromadas.append({"code": d["katotth"], "name": d["name"]["uk"], "values": values})
    return {"indicators": inds, "hromadas": hromadas}
