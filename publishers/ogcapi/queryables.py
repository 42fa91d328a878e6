"""Queryables that a person can read: each property's ``title`` is the original field name of the source
(``Реєстраційний номер``), not the transliterated column (``reiestratsiinyi_nomer``).

pygeoapi 0.21 writes ``"title": <column>`` for every queryable and has no setting for it. The queryables
document passes through two functions of its ``itemtypes`` module on the way out (``to_json`` for JSON,
``render_j2_template`` for HTML); :func:`install` wraps those two, in the serving process, so that a
queryables document gets the titles the publisher put in each collection's provider block
(``field_titles``). Nothing else passing through them is touched.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import yaml

_installed = False


def _titles(config_path: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    with open(config_path, encoding="utf-8") as f:
        resources = (yaml.safe_load(f) or {}).get("resources") or {}
    out: dict[str, dict[str, str]] = {}
    for cid, res in resources.items():
        for prov in res.get("providers") or []:
            if prov.get("field_titles"):
                out[cid] = {str(name): str(title) for name, title in prov["field_titles"]}
    return out


def titled(data: Any, titles: dict[str, dict[str, str]]) -> Any:
    """A queryables document (recognised by its ``$id``) with the titles of its collection filled in."""
    if not isinstance(data, dict) or not isinstance(data.get("properties"), dict):
        return data
    ident = str(data.get("$id", "")).split("?", 1)[0].rstrip("/")
    parts = ident.split("/")
    if len(parts) < 3 or parts[-1] != "queryables" or parts[-3] != "collections":
        return data
    known = titles.get(parts[-2], {})
    for name, prop in data["properties"].items():
        if isinstance(prop, dict) and name in known:
            prop["title"] = known[name]
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
        return to_json(titled(data, titles), *args, **kwargs)

    def render_titled(config: Any, tpl_config: Any, template: Any, data: Any, *args: Any, **kwargs: Any) -> str:
        return render(config, tpl_config, template, titled(data, titles), *args, **kwargs)

    itemtypes.to_json = to_json_titled
    itemtypes.render_j2_template = render_titled
    _installed = True
