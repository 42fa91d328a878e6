"""One look for every page of a node: the shared header (node name, search box, navigation, login, language
switch), the skip link and the one small CSS/JS pair served at ``/assets/`` — used by the landing page, the
dataset pages, the search, the passports, the decision register, the investment map and pygeoapi's templates.

Static pages are built once and served from any address, so the header links relative to the node's root:
each page passes ``root``, the way from itself to ``/`` (``./`` for the landing page, ``../`` for a page in
``/passport/``); a dynamic page (the search) passes its absolute root. Who is logged in is only known per
request: a static page links to ``/login``; a dynamic one shows the user and a logout form carrying the
access front's CSRF token (:func:`login_state`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from geoportal.ukrainian import apostrophes

TEMPLATES = Path(__file__).resolve().parent / "templates"
ASSETS = Path(__file__).resolve().parent / "assets"

#: the navigation, in order: key, Ukrainian, English, path under the node's root
NAV: tuple[tuple[str, str, str, str], ...] = (
    ("datasets", "Дані", "Data", "#datasets"),
    ("map", "Карта", "Map", "map"),
    ("passport", "Паспорти", "Passports", "passport/"),
    ("decisions", "Рішення", "Decisions", "decisions/"),
    ("invest", "Інвестиції", "Investment", "invest/"),
    ("search", "Пошук", "Search", "search"),
)
#: where the access front (helper authweb) puts the request's CSRF guard and the form field it reads
CSRF_ENVIRON, CSRF_FIELD = "geoportal.csrf", "csrf_token"


@dataclass(frozen=True)
class Site:
    """What the header says about the node: its name in both languages."""

    name_uk: str
    name_en: str
    passport: bool = True  # whether the node publishes hromada passports (else no "Паспорти" in the menu)

    @classmethod
    def of_config(cls, cfg: Any) -> "Site":
        return cls(cfg.node.name.uk, cfg.node.name.en, cfg.passport is not None)

    def to_dict(self) -> dict[str, Any]:
        """What ``node.json`` keeps for the pages served without the config (the search)."""
        return {"name": {"uk": self.name_uk, "en": self.name_en}, "passport": self.passport}

    @classmethod
    def of_workspace(cls, root: Path) -> "Site":
        """The name written into ``node.json`` by the build (a node built before it had one: a neutral name)."""
        try:
            node = json.loads((root / "node.json").read_text(encoding="utf-8"))
            return cls(str(node["name"]["uk"]), str(node["name"]["en"]), bool(node.get("passport", True)))
        except (OSError, ValueError, KeyError, TypeError):
            return cls("Геопортал", "Geoportal")


@dataclass(frozen=True)
class Login:
    """Who the header greets: nobody (a link to /login) or a user with a logout form and its CSRF token."""

    name: str | None = None
    csrf: str | None = None


def login_state(environ: dict[str, Any]) -> Login:
    """The login state of one request, from the access front's principal and CSRF guard."""
    from access.web import principal_of

    p = principal_of(environ)
    if p.is_anonymous:
        return Login()
    guard = environ.get(CSRF_ENVIRON)
    return Login(p.name, getattr(guard, "token", None))


def environment(*folders: Path) -> Environment:
    """A Jinja environment over ``folders`` plus the shared templates (``{% import "_portal.html" as portal %}``);
    undefined names fail the build, so a typo never becomes an empty link."""
    env = Environment(loader=ChoiceLoader([FileSystemLoader([str(f) for f in folders]), FileSystemLoader(str(TEMPLATES))]),
                      autoescape=select_autoescape(["html"]), undefined=StrictUndefined)
    env.filters["uk"] = apostrophes
    env.globals["NAV"] = NAV
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    return env


@functools.lru_cache(maxsize=None)
def _macro(call: str) -> Any:
    """One compiled template per macro call, for pages written without Jinja (compiled once per process)."""
    return environment().from_string('{% import "_portal.html" as portal %}{{ portal.' + call + ' }}')


def header(site: Site, root: str, current: str = "", login: Login | None = None) -> Markup:
    """The shared header as HTML, for pages written without Jinja (the search, pygeoapi's frame)."""
    return Markup(_macro("header(site, root, current, login)").render(site=site, root=root, current=current,
                                                                     login=login or Login()))


def footer(site: Site, root: str) -> Markup:
    """The shared footer as HTML, for pages written without Jinja."""
    return Markup(_macro("footer(site, root)").render(site=site, root=root))


def head(root: str) -> Markup:
    """The ``<link>``/``<script>`` of the shared look, for pages written without Jinja."""
    return Markup(_macro("head(root)").render(root=root))
