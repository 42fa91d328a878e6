"""OGC API pages that a person can read: queryables and attribute tables name each property by the
source's original field name (``Реєстраційний номер``), not the transliterated column
(``reiestratsiinyi_nomer``), which stays the key a program uses.

pygeoapi 0.21 writes ``"title": <column>`` for every queryable and heads its HTML tables with the column,
and has no setting for either. These documents pass through two functions of its ``itemtypes`` module on
the way out (``to_json`` for JSON, ``render_j2_template`` for HTML); :func:`install` wraps those two, in the
serving process: a queryables document gets the titles the publisher put in each collection's provider
block (``field_titles``), and the items and item pages get them as ``field_titles`` for the node's
templates (``publishers.pygeoapi.vendor_templates``) to show. Nothing else passing through is touched.
"""

from __future__ import annotations

import contextvars
import os
from typing import Any, Callable

import yaml

_installed = False


#: the titles of the collections of the request's access view (publishers/ogcapi/instances.py);
#: None: the node's own
TITLES: contextvars.ContextVar[dict[str, dict[str, str]] | None] = contextvars.ContextVar(
    "geoportal_field_titles", default=None)


def _titles(config_path: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    with open(config_path, encoding="utf-8") as f:
        return titles_of(yaml.safe_load(f) or {})


def titles_of(config: dict[str, Any]) -> dict[str, dict[str, str]]:
    """collection → column → original title, from a pygeoapi config."""
    resources = config.get("resources") or {}
    out: dict[str, dict[str, str]] = {}
    for cid, res in resources.items():
        for prov in res.get("providers") or []:
            if prov.get("field_titles"):
                out[cid] = {str(name): str(title) for name, title in prov["field_titles"]}
    return out


def _collection_of(url: str, after: str | None = None) -> str | None:
    """The collection id in a URL ``…/collections/{id}[/after]``."""
    parts = url.split("?", 1)[0].rstrip("/").split("/")
    if after is not None:
        if len(parts) < 3 or parts[-1] != after:
            return None
        parts = parts[:-1]
    return parts[-1] if len(parts) >= 2 and parts[-2] == "collections" else None


def titled(data: Any, titles: dict[str, dict[str, str]]) -> Any:
    """A queryables document (recognised by its ``$id``) with the titles of its collection filled in; an
    items or item page (recognised by its collection path or link) with ``field_titles`` added."""
    if not isinstance(data, dict):
        return data
    if isinstance(data.get("properties"), dict) and "$id" in data:
        known = titles.get(_collection_of(str(data["$id"]), "queryables") or "", {})
        for name, prop in data["properties"].items():
            if isinstance(prop, dict) and name in known:
                prop["title"] = known[name]
        return data
    cid = _collection_of(str(data.get("dataset_path", "")))
    if cid is None:
        cid = next((_collection_of(str(link.get("href", ""))) for link in data.get("links") or []
                    if isinstance(link, dict) and link.get("rel") == "collection"), None)
    if cid in titles:
        data["field_titles"] = titles[cid]
    return data


def install(config_path: str | os.PathLike[str] | None) -> None:
    """Wrap pygeoapi's two output functions once per process (no-op without a config)."""
    global _installed
    if _installed or not config_path:
        return
    from pygeoapi.api import itemtypes

    titles = _titles(config_path)
    to_json: Callable[..., str] = itemtypes.to_json
    render: Callable[..., str] = itemtypes.render_j2_template

    def to_json_titled(data: Any, *args: Any, **kwargs: Any) -> str:
        return to_json(titled(data, TITLES.get() or titles), *args, **kwargs)

    def render_titled(config: Any, tpl_config: Any, template: Any, data: Any, *args: Any, **kwargs: Any) -> str:
        return render(config, tpl_config, template, titled(data, TITLES.get() or titles), *args, **kwargs)

    itemtypes.to_json = to_json_titled
    itemtypes.render_j2_template = render_titled
    _installed = True
