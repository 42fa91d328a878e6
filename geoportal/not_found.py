"""The answer to a path the node does not have.

A program (QGIS, curl, a harvester) gets one line of plain text naming the path and where to go instead; a
person whose browser asks for HTML gets the same in a page with the portal's header and navigation, so a
mistyped or outdated link (``/passports/`` for ``/passport/``) leaves them one click from where they meant
to go instead of at a bare line of text. Both answers are 404."""

from __future__ import annotations

import html
from typing import Any, Iterable

from geoportal.access_request import wants_html
from geoportal.portal import Login, Site, head, header, login_state
from geoportal.static_files import plain

#: where to go instead, in the plain answer and the page (path under the node's root, Ukrainian, English)
PLACES: tuple[tuple[str, str, str], ...] = (
    ("", "Головна", "Home"),
    ("map", "Карта", "Map"),
    ("search", "Пошук", "Search"),
    ("ogcapi/", "OGC API Features", "OGC API Features"),
    ("ows?SERVICE=WMS&REQUEST=GetCapabilities", "WMS / WFS", "WMS / WFS"),
    ("csw?service=CSW&request=GetCapabilities", "CSW", "CSW"),
    ("downloads/", "Завантаження", "Downloads"),
)


def not_found(environ: dict[str, Any], start_response: Any, site: Site, path: str) -> Iterable[bytes]:
    """The 404 of ``path``: a page for a browser, a line of text for anything else."""
    root = environ.get("SCRIPT_NAME", "") + "/"
    if not wants_html(environ):
        where = ", ".join(root + p.split("?")[0] for p, _, _ in PLACES)
        return plain(start_response, "404 Not Found", f"no such path: {path} (try {where})")
    body = page(site, root, path, login_state(environ)).encode("utf-8")
    start_response("404 Not Found", [("Content-Type", "text/html; charset=utf-8"),
                                     ("Content-Length", str(len(body)))])
    return [body]


def page(site: Site, root: str, path: str, login: Login) -> str:
    """The page of a missing path: what was asked, and the node's main places as links."""
    e = html.escape
    links = "".join(f'<li><a href="{e(root + p)}">{e(uk)}</a> <span class=en lang=en>/ {e(en)}</span></li>'
                    for p, uk, en in PLACES)
    return f"""<!doctype html>
<html lang=uk><head><meta charset=utf-8><meta name=viewport content="width=device-width, initial-scale=1">
<title>Сторінку не знайдено / Page not found</title>
{head(root)}</head>
<body>{header(site, root, "", login)}
<main id=main class=gp-main>
<h1>Сторінку не знайдено <span class=en lang=en>/ Page not found</span></h1>
<p>На цьому вузлі немає сторінки <code>{e(path)}</code>: можливо, посилання застаріло або адресу введено з
помилкою. <span class=en lang=en>This node has no page at that address: the link may be outdated or
mistyped.</span></p>
<p>Знайти потрібне можна через <a href="{e(root)}search">пошук</a> <span class=en lang=en>/ search</span>
або тут <span class=en lang=en>/ or here</span>:</p>
<ul id=places>{links}</ul>
</main></body></html>
"""
