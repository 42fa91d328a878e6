"""``/search``: the node's search as a WSGI application — an HTML page for people, ``?f=json`` for
programs. Bad parameters are a 400 with one line saying which and why; a node built before the index
existed answers 503 saying what to run. Each request opens the index read-only, so an index swapped in by
a build or harvest is seen by the next request.

Parameters (all optional; a facet parameter may repeat or list values with commas — values of one facet
are OR-ed, facets AND-ed):

    q             words, any case, any apostrophe, Cyrillic or transliterated (at most 500 characters)
    type, status, theme, node, organisation, level, territory, format, licence, access, updated
                  facet filters, with the values /search lists (updated: a year; status: a decision's
                  status or a project's stage, e.g. adopted, cancelled)
    bbox          minlon,minlat,maxlon,maxlat (WGS 84): documents whose extent intersects it
    hromada       a KATOTTH code: documents intersecting that hromada's extent (from its passport); the
                  page offers the hromadas the node has passports with boundaries for
    updated_from, updated_to      YYYY-MM-DD
    sort          relevance (default with q) | date
    limit, offset 1–100 (default 10), 0–10,000
    f             html (default) | json
"""

from __future__ import annotations

import functools
import html
import json
import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import parse_qs, urlencode

from catalog.catalog_view import PUBLIC_ONLY
from geoportal.portal import Login, Site, head, header, login_state
from search.index import FACETS
from search.query import Query, Result, SearchQueryError, parse, places, run

StartResponse = Callable[..., Any]
MAX_QUERY_STRING = 8192

FACET_TITLES = {"type": ("Тип", "Type"), "status": ("Стан", "Status"), "theme": ("Тема", "Theme"),
                "node": ("Вузол", "Node"), "organisation": ("Організація", "Organisation"),
                "level": ("Рівень", "Level"), "territory": ("Територія (КАТОТТГ)", "Territory (KATOTTH)"),
                "format": ("Формат", "Format"), "licence": ("Ліцензія", "Licence"),
                "access": ("Доступ", "Access"), "updated": ("Оновлено", "Updated")}
TYPE_TITLES = {"dataset": "набір даних / dataset", "service": "сервіс / service",
               "passport": "паспорт / passport", "decision": "рішення / decision", "project": "проєкт розвитку / project"}
#: the form fields of the search box itself; every other parameter rides along as a hidden field
OWN_FIELDS = ("q", "hromada", "offset", "f")


@functools.lru_cache(maxsize=1)
def status_titles() -> dict[str, str]:
    """A decision's status or a project's stage as a reader says it (the codes are what filters take)."""
    from decisions.model import STATUS_UK
    from decisions.page import STAGE_UK

    return {**STAGE_UK, **STATUS_UK}


def _respond(start_response: StartResponse, status: str, ctype: str, body: bytes) -> list[bytes]:
    # what is found depends on who asks: never kept by a shared cache
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))),
                            ("Cache-Control", "private, no-store"), ("Vary", "Authorization, Cookie")])
    return [body]


class SearchApp:
    """The search of one node, over its index file."""

    def __init__(self, index: Path, views: Any = None, site: Site | None = None):
        self.index, self.views = index, views
        self.site = site or Site("Геопортал", "Geoportal")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") not in ("", "/"):
            return self._error(start_response, "404 Not Found", "no such page: use /search?q=…", False)
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return self._error(start_response, "405 Method Not Allowed", "search answers GET only", False)
        raw = environ.get("QUERY_STRING", "")
        if len(raw) > MAX_QUERY_STRING:
            return self._error(start_response, "414 URI Too Long",
                               f"the query string is longer than {MAX_QUERY_STRING} bytes: shorten q", False)
        try:
            params = parse_qs(raw, keep_blank_values=False, errors="strict", max_num_fields=200)
        except (UnicodeDecodeError, ValueError) as e:
            return self._error(start_response, "400 Bad Request", f"the query string is not valid UTF-8 ({e})",
                               False)
        fmt = (params.pop("f", None) or ["html"])[0]
        if fmt not in ("html", "json"):
            return self._error(start_response, "400 Bad Request", f"parameter 'f': '{fmt[:20]}' is not html or json",
                               False)
        as_json = fmt == "json"
        if not self.index.exists():
            return self._error(start_response, "503 Service Unavailable",
                               "this node has no search index yet: run 'geoportal build' for it", as_json)
        try:
            query = parse(params)
            db = sqlite3.connect(f"{self.index.as_uri()}?mode=ro", uri=True)
            try:
                view = self.views.for_environ(environ, "landing") if self.views is not None else PUBLIC_ONLY
                result = run(db, query, view)
                known = places(db) if not as_json else []
            finally:
                db.close()
        except SearchQueryError as e:
            return self._error(start_response, "400 Bad Request", str(e), as_json)
        if as_json:
            body = json.dumps(self._json(query, result, params), ensure_ascii=False).encode("utf-8")
            return _respond(start_response, "200 OK", "application/json; charset=utf-8", body)
        script = environ.get("SCRIPT_NAME", "")
        root = script[: -len("search")] if script.endswith("/search") else "/"
        return _respond(start_response, "200 OK", "text/html; charset=utf-8",
                        render_html(query, result, params, site=self.site, root=root,
                                    login=login_state(environ), places=known).encode("utf-8"))

    @staticmethod
    def _error(start_response: StartResponse, status: str, message: str, as_json: bool) -> list[bytes]:
        if as_json:
            body = json.dumps({"code": status.split()[0], "description": message}, ensure_ascii=False)
            return _respond(start_response, status, "application/json; charset=utf-8", body.encode("utf-8"))
        page = f"<!doctype html><meta charset=utf-8><title>{html.escape(status)}</title><p>{html.escape(message)}"
        return _respond(start_response, status, "text/html; charset=utf-8", page.encode("utf-8"))

    @staticmethod
    def _json(query: Query, result: Result, params: dict[str, list[str]]) -> dict[str, Any]:
        links = []
        if query.offset + query.limit < result.total:
            links.append({"rel": "next", "type": "application/json",
                          "href": "?" + _with(params, offset=str(query.offset + query.limit), f="json")})
        if query.offset:
            links.append({"rel": "prev", "type": "application/json",
                          "href": "?" + _with(params, offset=str(max(0, query.offset - query.limit)), f="json")})
        return {"q": query.q, "total": result.total, "limit": query.limit, "offset": query.offset,
                "sort": query.sort, "hits": result.hits, "facets": result.facets, "links": links}


def _with(params: dict[str, list[str]], **changes: str | None) -> str:
    p = {k: list(v) for k, v in params.items()}
    for k, v in changes.items():
        if v is None:
            p.pop(k, None)
        else:
            p[k] = [v]
    return urlencode(p, doseq=True)


def _toggle(params: dict[str, list[str]], name: str, value: str) -> str:
    p = {k: list(v) for k, v in params.items() if k != "offset"}
    values = p.get(name, [])
    p[name] = [v for v in values if v != value] if value in values else [*values, value]
    return urlencode({k: v for k, v in p.items() if v}, doseq=True)


def hromada_picker(places: Sequence[tuple[str, str]], chosen: str | None) -> str:
    """``<select name=hromada>`` of the hromadas the node can filter by, labelled; none when it knows none."""
    if not places:
        return ""
    e = html.escape
    options = "".join(f'<option value="{e(code)}"{" selected" if code == chosen else ""}>{e(name)}</option>'
                      for code, name in places)
    return (f'<label for=hromada>Громада / Hromada</label><select id=hromada name=hromada>'
            f'<option value="">усі громади / all hromadas</option>{options}</select>')


def _facet_label(name: str, value: str) -> str:
    return f"{status_titles().get(value, value)} ({value})" if name == "status" else value


def kept_fields(params: dict[str, list[str]]) -> str:
    """The request's other parameters (facets, sort, bbox, dates) as hidden fields, so a new search from the
    box keeps them; the paging offset starts again."""
    e = html.escape
    return "".join(f'<input type=hidden name="{e(name)}" value="{e(v)}">'
                   for name, values in params.items() if name not in OWN_FIELDS for v in values)


def nothing_found(query: Query, result: Result, params: dict[str, list[str]]) -> str:
    """What to do when a search finds nothing: a person left with "found: 0" and an empty page does not know
    whether the words, a filter or the hromada picked are to blame. With filters, a link to the same words
    without them; otherwise a hint on spelling and a link to everything the node holds."""
    if result.total:
        return ""
    e = html.escape
    filtered = query.hromada or any(v for name, v in params.items() if name not in (*OWN_FIELDS, "sort"))
    if filtered:
        wider = _with({"q": [query.q]} if query.q else {})
        return (f'<p id=nothing class=hint>Нічого не знайдено з обраними фільтрами. <span lang=en>Nothing found '
                f'with these filters.</span> <a href="?{e(wider)}">Шукати без фільтрів / search without '
                'filters</a></p>')
    words = f" «{e(query.q)}»" if query.q else ""
    return (f'<p id=nothing class=hint>За запитом{words} нічого не знайдено: перевірте написання або спробуйте '
            'інше чи коротше слово. <span lang=en>Nothing found: check the spelling or try another, shorter '
            'word.</span> <a href="?">Переглянути все / browse everything</a></p>')


def render_html(query: Query, result: Result, params: dict[str, list[str]], *, site: Site | None = None,
                root: str = "/", login: Login | None = None, places: Sequence[tuple[str, str]] = ()) -> str:
    """The results page in the node's look (``root``: the node's root path): the box with the hromada picker
    (``places``: KATOTTH and name, from :func:`search.query.places`), the facets with their counts, one page
    of hits, paging."""
    e = html.escape
    facet_html = []
    for name in FACETS:
        values = result.facets.get(name) or []
        if not values:
            continue
        uk, en = FACET_TITLES[name]
        items = "".join(
            f'<li><a href="?{e(_toggle(params, name, v["value"]))}"'
            f'{" class=on" if v["value"] in params.get(name, []) else ""}>{e(_facet_label(name, v["value"]))}</a> '
            f'<span class=count>{v["count"]}</span></li>' for v in values)
        facet_html.append(f'<section class=facet data-facet="{name}"><h2>{e(uk)} / {e(en)}</h2><ul>{items}</ul></section>')
    hits = []
    for h in result.hits:
        links = " · ".join(f'<a href="{e(link["href"])}">{e(link["title"] or link["protocol"] or "link")}</a>'
                           for link in h["links"][:8])
        en = f'<div class=en lang=en>{e(h["title"]["en"])}</div>' if h["title"]["en"] else ""
        status = h.get("status")
        meta = " · ".join(e(str(x)) for x in (TYPE_TITLES.get(h["type"], h["type"]),
                                               status and status_titles().get(status, status), h["node"],
                                               h["updated"], h["licence"]) if x)
        summary = f'<div class=summary>{e(h["summary"])}</div>' if h.get("summary") else ""
        hits.append(f'<li class=hit data-id="{e(h["id"])}"><div class=title lang=uk>{e(h["title"]["uk"])}</div>{en}'
                    f'<div class=meta>{meta}</div>{summary}<div class=links>{links}</div></li>')
    pager = []
    if query.offset:
        pager.append(f'<a rel=prev href="?{e(_with(params, offset=str(max(0, query.offset - query.limit))))}">'
                     '← попередні / previous</a>')
    if query.offset + query.limit < result.total:
        pager.append(f'<a rel=next href="?{e(_with(params, offset=str(query.offset + query.limit)))}">'
                     'наступні / next →</a>')
    sort_other = "date" if query.sort == "relevance" else "relevance"
    site = site or Site("Геопортал", "Geoportal")
    empty = nothing_found(query, result, params)
    return f"""<!doctype html>
<html lang=uk><head><meta charset=utf-8><meta name=viewport content="width=device-width, initial-scale=1">
<title>Пошук / Search{': ' + e(query.q) if query.q else ''}</title>
{head(root)}
<style>.results{{display:grid;grid-template-columns:1fr;gap:1rem}}
.facet ul{{list-style:none;padding:0;margin:0 0 1rem}} .facet h2{{font-size:1rem;margin:.25rem 0}} .count{{color:var(--muted)}}
.on{{font-weight:bold}} .hit{{margin-bottom:1rem}} .title{{font-size:1.1rem}} .meta{{color:var(--muted)}}
form.big{{display:flex;gap:.5rem;flex-wrap:wrap}} form.big input[type=search]{{flex:1 1 16rem;font-size:1.1rem;padding:.35rem .5rem}}
form.big button,form.big select{{font:inherit;padding:.35rem .9rem}}
@media (min-width:760px){{.results{{grid-template-columns:16rem 1fr}} .results nav{{order:-1}}}}</style></head>
<body>{header(site, root, "search", login)}
<main id=main class=gp-main>
<h1>Пошук <span class=en lang=en>/ Search</span></h1>
<form class=big role=search method=get action=""><label for=q>Що шукати / Search for</label>
<input type=search id=q name=q value="{e(query.q)}" maxlength=500>
{hromada_picker(places, query.hromada)}{kept_fields(params)}
<button type=submit>Знайти / Find</button></form>
<p id=total>Знайдено / found: <strong>{result.total}</strong>
· <a href="?{e(_with(params, sort=sort_other, offset=None))}">сортувати за / sort by {sort_other}</a>
· <a href="?{e(_with(params, f='json'))}">JSON</a></p>
{empty}<div class=results><div><ol class=hits start="{query.offset + 1}">{''.join(hits)}</ol><p class=pager>{' '.join(pager)}</p></div>
<nav aria-label="Фасети / facets">{''.join(facet_html)}</nav></div>
</main></body></html>
"""
