"""Several pygeoapi APIs in one process: one per access view, over one Flask application.

pygeoapi 0.21's Flask app (``pygeoapi.flask_app``) builds one ``API`` object from ``PYGEOAPI_CONFIG`` at
import and every route hands that module-level ``api_`` to the API function (``execute_from_flask``). The
API object holds everything a view changes — the config's collections and their providers — while the
routes, templates and static files are the same for every view. So ``execute_from_flask`` is replaced,
once, by one that hands pygeoapi the API of the request's view (a context variable set around the call),
and the node's own API otherwise: the anonymous path runs exactly as before, and a view costs one ``API``
object (its config and providers), not a second Flask app or process.
"""

from __future__ import annotations

import contextvars
import os
from pathlib import Path
from typing import Any, Callable, Iterable

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_CURRENT: contextvars.ContextVar[Any] = contextvars.ContextVar("geoportal_pygeoapi_api", default=None)
_installed = False


def install() -> None:
    """Make pygeoapi's routes run on the API of the request's view (once per process).

    Every route of ``pygeoapi.flask_app`` hands its work to the module's ``execute_from_flask``, which is
    the only reader of ``api_``: it is replaced by one that names the current view's API (or the node's
    own) as ``alternative_api``, so pygeoapi works on the API object itself. (A proxy standing for ``api_``
    cost a context-variable lookup on each of the dozens of attribute reads a request makes of it.)"""
    global _installed
    if _installed:
        return
    import pygeoapi.flask_app as flask_app

    node_api = flask_app.api_
    execute = flask_app.execute_from_flask

    def execute_from_flask(api_function: Any, request: Any, *args: Any, skip_valid_check: bool = False,
                           alternative_api: Any = None) -> Any:
        if alternative_api is None:
            api = _CURRENT.get()
            alternative_api = node_api if api is None else api
        return execute(api_function, request, *args, skip_valid_check=skip_valid_check,
                       alternative_api=alternative_api)

    flask_app.execute_from_flask = execute_from_flask
    _installed = True


class ViewAPI:
    """The OGC API of one view: its own pygeoapi ``API`` behind the node's Flask app and CQL2 front."""

    def __init__(self, config_path: Path):
        import yaml
        from pygeoapi.api import API
        from pygeoapi.flask_app import APP
        from pygeoapi.openapi import load_openapi_document

        from publishers.ogcapi.cql2_front import Cql2Front
        from publishers.ogcapi.queryables import titles_of

        install()
        with open(config_path, encoding="utf-8") as f:
            config = yaml.safe_load(f)
        self.api = API(config, load_openapi_document())  # the node's OpenAPI document (PYGEOAPI_OPENAPI)
        self.titles = titles_of(config)
        self.flask = APP.wsgi_app
        self.app = Cql2Front(self._call, os.fspath(config_path))

    def _call(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from publishers.ogcapi.queryables import TITLES

        token = _CURRENT.set(self.api)
        titles = TITLES.set(self.titles)
        try:  # pygeoapi builds its answers in memory: read them while this view is the current one
            body = self.flask(environ, start_response)
            try:
                return list(body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()  # Flask's request teardown
        finally:
            TITLES.reset(titles)
            _CURRENT.reset(token)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.app(environ, start_response)
