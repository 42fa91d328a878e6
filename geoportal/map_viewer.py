"""The map viewer at ``/map``: the node's WMS layers over its own offline basemap, in a browser.

What is decided where:

- at build (:func:`write`): the viewer's settings from the node config — the node's extent, the layers of the
  offline basemap (``/tiles/…``, MapServer's tile mode over the node's outline and hromadas), the names of the
  themes — and the place names (:mod:`geoportal.map_places`), as ``map/viewer.json`` and ``map/places.json``;
- in the browser (``web/map/map.js``, bundled from OpenLayers by ``make web``): the layer list, read from the
  node's WMS GetCapabilities as the caller sees it (same-origin, so the caller's credentials go with it and the
  access front decides), grouped by theme; legends (GetLegendGraphic), identify (GetFeatureInfo as the node's
  HTML with the original field titles), opacity, place search, the share link (state in the URL hash), PNG
  export;
- per request (:class:`MapViewer`): the page in Ukrainian, or English with ``?lang=en``; ``/map/places?q=``;
  the bundle's files under ``/map/static/``.

Everything the page loads comes from the node itself, so it works with no internet.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from geoportal import map_places
from geoportal.config import NodeConfig
from geoportal.links import wms_layer
from geoportal.model import Endpoints, StoredLayer, Workspace, write_atomic
from geoportal.static_files import plain

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: where ``make web`` (``npm run build``) puts the bundle of web/map/
DIST = ROOT / "web" / "dist"
BUNDLE = ("map.js", "map.css")

StartResponse = Callable[..., Any]
Environ = dict[str, Any]

#: names of the node's themes (a dataset's ``theme:``, the WMS group layers); an unknown theme shows its id
THEMES: dict[str, dict[str, str]] = {
    "administrative": {"uk": "Адміністративний устрій", "en": "Administrative units"},
    "units": {"uk": "Адміністративний устрій", "en": "Administrative units"},
    "environment": {"uk": "Довкілля", "en": "Environment"},
    "names": {"uk": "Географічні назви", "en": "Geographical names"},
    "sites": {"uk": "Об’єкти та ділянки", "en": "Sites"},
    "passport": {"uk": "Паспорти громад", "en": "Hromada passports"},
    "decisions": {"uk": "Рішення та проєкти", "en": "Decisions and projects"},
    "planning": {"uk": "Планування та рішення", "en": "Planning and decisions"},
    "other": {"uk": "Інше", "en": "Other"},
}

#: the page's words; the ones under "js" are handed to the script
STRINGS: dict[str, dict[str, str]] = {
    "uk": {
        "title": "Карта", "home": "Головна", "layers": "Шари", "toggle": "Шари та пошук",
        "search_label": "Пошук місця (назва, також латиницею)", "search": "Знайти",
        "basemap": "Основа: межі області та громад (з цього вузла)", "share": "Посилання на цю карту",
        "copy": "Копіювати посилання", "export": "Зберегти як PNG", "identify": "Що тут? (центр карти)",
        "results": "Знайдені місця", "info": "Відомості про об’єкти", "close": "Закрити",
        "map": "Карта: стрілки зсувають, + і − змінюють масштаб; клацніть об’єкт, щоб побачити його відомості",
        "lang_other": "English", "skip": "Перейти до карти", "site_search": "Пошук даних",
    },
    "en": {
        "title": "Map", "home": "Home", "layers": "Layers", "toggle": "Layers and search",
        "search_label": "Find a place (name, also in Latin letters)", "search": "Find",
        "basemap": "Base map: oblast and hromada boundaries (from this node)", "share": "Link to this map",
        "copy": "Copy link", "export": "Save as PNG", "identify": "What is here? (map centre)",
        "results": "Places found", "info": "About the features", "close": "Close",
        "map": "Map: arrow keys pan, + and − zoom; click a feature to see its attributes",
        "lang_other": "Українська", "skip": "Skip to the map", "site_search": "Search data",
    },
}
JS_STRINGS = {
    "uk": {"opacity": "Непрозорість", "legend": "Умовні позначення", "none": "Нічого не знайдено",
           "nothing_here": "Тут немає об’єктів увімкнених шарів", "loading": "Завантаження…",
           "no_layers": "Сервіс WMS не відповів: шари недоступні", "copied": "Посилання скопійовано",
           "moved": "Карту переміщено до", "found": "Знайдено", "error": "Помилка запиту",
           "exported": "Зображення карти готове", "download": "Завантажити map.png"},
    "en": {"opacity": "Opacity", "legend": "Legend", "none": "Nothing found",
           "nothing_here": "No features of the layers shown here", "loading": "Loading…",
           "no_layers": "The WMS service did not answer: no layers", "copied": "Link copied",
           "moved": "Map moved to", "found": "Found", "error": "Request failed",
           "exported": "The map image is ready", "download": "Download map.png"},
}


def viewer_path(ws: Workspace) -> Path:
    return ws.root / "map" / "viewer.json"


def basemap_layers(cfg: NodeConfig) -> list[str]:
    """The WMS layers drawn as the offline basemap: the node's outline and its hromadas (the same as under
    pygeoapi's maps, :func:`publishers.pygeoapi.basemap`)."""
    from publishers.pygeoapi import basemap_datasets

    return [n for n in (wms_layer(d) for d in basemap_datasets(cfg)) if n]


def settings(cfg: NodeConfig, layers: dict[str, StoredLayer]) -> dict[str, Any]:
    """What the page needs from the node config (nothing here lists the layers: the WMS does)."""
    base = basemap_layers(cfg)
    shown = [layers[d.id].bbox for d in cfg.public_datasets if d.id in layers and wms_layer(d)]
    territory = cfg.reference.territory or f"{cfg.node.level.value}-boundary"
    box = layers[territory].bbox if territory in layers else (
        [min(b[0] for b in shown), min(b[1] for b in shown), max(b[2] for b in shown), max(b[3] for b in shown)]
        if shown else [22.1, 44.3, 40.3, 52.4])
    credits = sorted({d.attribution for d in cfg.public_datasets if wms_layer(d) in base and d.attribution})
    # MapServer answers GetCapabilities in Ukrainian only (its LANGUAGE needs INSPIRE capabilities): the
    # English page takes the English titles of the public layers from here; the list itself is the WMS's
    titles_en = {d.id: d.title.en for d in cfg.public_datasets if wms_layer(d) and d.title.en}
    return {"node": {"uk": cfg.node.name.uk, "en": cfg.node.name.en}, "extent": [round(v, 5) for v in box],
            "titles_en": titles_en,
            "basemap": ",".join(base), "attribution": " · ".join([cfg.node.name.uk, *credits])}


def write(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints) -> Path:
    """The viewer's settings and place names, written with the node's pages."""
    path = viewer_path(ws)
    write_atomic(path, json.dumps(settings(cfg, layers), ensure_ascii=False, indent=1))
    map_places.write(cfg, ws, layers)
    return path


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined)


class MapViewer:
    """``/map`` (the page), ``/map/places?q=`` (JSON), ``/map/static/<bundle file>``."""

    def __init__(self, ws: Workspace, dist: Path = DIST):
        self.ws = ws
        self.dist = dist
        self._places: map_places.PlaceIndex | None = None
        self._template = _env().get_template("map.html")

    @property
    def places(self) -> map_places.PlaceIndex:
        if self._places is None:  # read on first use: a node whose map nobody opens pays nothing
            self._places = map_places.PlaceIndex(map_places.load(map_places.places_path(self.ws)))
        return self._places

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return plain(start_response, "405 Method Not Allowed", "the map viewer answers GET only",
                         [("Allow", "GET, HEAD")])
        params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        root = environ.get("SCRIPT_NAME", "").rstrip("/")  # /map, or /prefix/map behind a proxy
        if path in ("", "/"):
            return self._page(start_response, root, params)
        if path == "/places":
            return self._search(start_response, params)
        if path.startswith("/static/") and path[len("/static/"):] in BUNDLE:
            return self._static(start_response, path[len("/static/"):])
        return plain(start_response, "404 Not Found",
                     f"no such path in the map viewer: {root}{path} (try {root}/ or {root}/places?q=Овруч)")

    def _page(self, start_response: StartResponse, root: str, params: dict[str, list[str]]) -> list[bytes]:
        lang = (params.get("lang") or ["uk"])[0]
        if lang not in STRINGS:
            return plain(start_response, "400 Bad Request", f"lang='{lang[:20]}': the map is in 'uk' (default) or 'en'")
        if not all((self.dist / f).is_file() for f in BUNDLE):
            return plain(start_response, "503 Service Unavailable",
                         f"the map viewer's script is not built ({self.dist}): run 'make web'")
        try:
            cfg = json.loads(viewer_path(self.ws).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return plain(start_response, "503 Service Unavailable",
                         "the map viewer's settings are not built: run 'geoportal build' for this node")
        node_root = root[: -len("/map")] if root.endswith("/map") else ""
        page_cfg = {
            "lang": lang, "ows": f"{node_root}/ows", "places": f"{root}/places",
            "tiles": f"{node_root}/tiles/{cfg['basemap']}/{{z}}/{{x}}/{{y}}.png" if cfg["basemap"] else None,
            "extent": cfg["extent"], "attribution": cfg["attribution"], "node": cfg["node"][lang],
            "themes": {k: v[lang] for k, v in THEMES.items()}, "t": JS_STRINGS[lang],
            "titles": cfg.get("titles_en", {}) if lang == "en" else {},
        }
        body = self._template.render(lang=lang, t=STRINGS[lang], node=cfg["node"][lang], root=root,
                                     home=f"{node_root}/", static=f"{root}/static", config=page_cfg,
                                     other=f"{root}/" + ("" if lang == "en" else "?lang=en")).encode("utf-8")
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
                                  ("Content-Language", lang)])
        return [body]

    def _search(self, start_response: StartResponse, params: dict[str, list[str]]) -> list[bytes]:
        q = params.get("q") or []
        if len(q) != 1 or not q[0].strip():
            return _json(start_response, "400 Bad Request",
                         {"error": "give one place name as q, e.g. /map/places?q=Овруч (Latin letters work too)"})
        if len(q[0]) > map_places.MAX_Q:
            return _json(start_response, "400 Bad Request",
                         {"error": f"q is longer than {map_places.MAX_Q} characters: give a place name"})
        hits = self.places.search(q[0])
        return _json(start_response, "200 OK", {"query": q[0], "places": [
            {"name": p.name, "name_en": p.name_en, "kind": {"uk": p.kind_uk, "en": p.kind_en}, "bbox": list(p.bbox)}
            for p in hits]})

    def _static(self, start_response: StartResponse, name: str) -> Iterable[bytes]:
        path = self.dist / name
        if not path.is_file():
            return plain(start_response, "404 Not Found", f"{name} is not built: run 'make web'")
        body = path.read_bytes()
        ctype = (mimetypes.guess_type(name)[0] or "application/octet-stream") + "; charset=utf-8"
        start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body))),
                                  ("Cache-Control", "max-age=3600")])
        return [body]


def _json(start_response: StartResponse, status: str, doc: dict[str, Any]) -> list[bytes]:
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    start_response(status, [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
