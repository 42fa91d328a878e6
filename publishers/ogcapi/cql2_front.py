"""The WSGI front of pygeoapi: parameter checks, CQL2 on GET, and the media types OGC API asks for.

- Every GET is checked against the parameters its endpoint accepts (:mod:`publishers.ogcapi.guard`):
  an unknown parameter or a malformed value is a 400 with a one-line message, before pygeoapi (0.21
  ignores unknown parameters and answers an empty ``sortby=`` with a 500).
- ``filter-lang=cql2-text`` and ``cql2-json`` on GET: pygeoapi 0.21 accepts only ``cql-text`` (ECQL) on GET
  and CQL2-JSON as a POST body. The filter is parsed with pygeofilter (the parser family pygeoapi uses)
  and handed to pygeoapi as the CQL2-JSON POST it already understands. A filter that does not parse is
  answered 400 with the parser's message.
- Features and feature collections are labelled ``application/geo+json`` (pygeoapi says
  ``application/json``), HTML pages ``text/html; charset=utf-8`` (pygeoapi names no charset).
"""

from __future__ import annotations

import io
import json
import os
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, urlencode

import yaml

from publishers.ogcapi import guard

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
CQL2_LANGS = {"cql2-text", "cql2-json"}


def _error(start_response: Callable[..., Any], msg: str, status: str = "400 Bad Request",
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    code = "InvalidParameterValue" if status.startswith("400") else "InvalidRequest"
    body = json.dumps({"code": code, "type": code, "description": msg}, ensure_ascii=False).encode()
    # CORS as pygeoapi's own answers (server.cors): a web page elsewhere must be able to read the message
    start_response(status, [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body))),
                            ("Access-Control-Allow-Origin", "*"), *(extra or [])])
    return [body]


class Collections:
    """The collections of the served pygeoapi config and their queryable properties.

    The property names come from the collection's own provider (the same object pygeoapi queries), so a
    re-ingest that adds a column is seen on the next request.
    """

    def __init__(self, config_path: str | os.PathLike[str] | None):
        self.resources: dict[str, Any] = {}
        if config_path and os.path.exists(config_path):
            with open(config_path, encoding="utf-8") as f:
                self.resources = (yaml.safe_load(f) or {}).get("resources", {})

    def is_record(self, cid: str) -> bool:
        return self.resources.get(cid, {}).get("itemType") == "record"

    def fields(self, cid: str) -> list[str] | None:
        """The property names of a collection, or None when it is not known here (pygeoapi answers)."""
        res = self.resources.get(cid)
        if not res or not res.get("providers"):
            return None
        from pygeoapi.plugin import load_plugin

        try:
            provider = load_plugin("provider", res["providers"][0])
            return list(provider.get_fields())
        except Exception:  # noqa: BLE001 - a broken provider is pygeoapi's to report, not ours to guess
            return None


class Cql2Front:
    def __init__(self, app: WSGIApp, config_path: str | os.PathLike[str] | None = None):
        self.app = app
        self.collections = Collections(config_path or os.environ.get("PYGEOAPI_CONFIG"))
        from publishers.ogcapi import queryables
        from publishers.pygeoapi import restrict_conformance

        restrict_conformance()
        queryables.install(config_path or os.environ.get("PYGEOAPI_CONFIG"))

    def _check(self, path: str, params: list[tuple[str, str]]) -> str | None:
        """The 400 message for a GET on ``path`` with ``params``, or None."""
        parts = [p for p in path.split("/") if p]
        keys = [k for k, _ in params]
        if not parts or parts in (["conformance"], ["collections"]):
            return guard.unknown(keys, guard.PAGE_PARAMS)
        if parts == ["openapi"]:
            return guard.unknown(keys, guard.OPENAPI_PARAMS)
        if parts[0] != "collections" or parts[1] not in self.collections.resources:
            return None
        if len(parts) == 2 or parts[2:] == ["schema"]:
            return guard.unknown(keys, guard.PAGE_PARAMS)
        if parts[2:] == ["queryables"]:
            return guard.unknown(keys, guard.QUERYABLES_PARAMS)
        if parts[2] == "items" and len(parts) == 4:
            return guard.unknown(keys, guard.ITEM_PARAMS)
        if parts[2:] == ["items"]:
            fields = self.collections.fields(parts[1])
            if fields is None:
                return None
            return guard.check_items(params, fields, record=self.collections.is_record(parts[1]))
        return None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if method == "POST" and path.rstrip("/").endswith("/items") and not environ.get(
                "CONTENT_TYPE", "").startswith("application/query-cql-json"):
            # the collections are read-only; pygeoapi 0.21 answers such a POST with a 500
            return _error(start_response, "POST to items takes a CQL2-JSON filter (Content-Type: "
                          "application/query-cql-json); features cannot be created here, the collections are "
                          "read-only", "405 Method Not Allowed", [("Allow", "GET, HEAD, OPTIONS")])
        if method != "GET":
            return self.app(environ, start_response)
        params = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        msg = self._check(path, params)
        if msg:
            return _error(start_response, msg)
        start_response = _media_types(start_response, "/items" in path)
        lang = next((v for k, v in params if k == "filter-lang"), None)
        text = next((v for k, v in params if k == "filter"), None)
        if not path.rstrip("/").endswith("/items") or lang not in CQL2_LANGS or text is None:
            return self.app(environ, start_response)
        try:
            if lang == "cql2-text":
                from pygeofilter.backends.cql2_json import to_cql2
                from pygeofilter.parsers.cql2_text import parse

                body = to_cql2(parse(text)).encode("utf-8")
            else:
                body = json.dumps(json.loads(text)).encode("utf-8")
        except Exception as e:  # noqa: BLE001 - any parser failure is the client's filter
            return _error(start_response, f"filter is not valid {lang}: {e}")
        rest = [(k, v) for k, v in params if k not in ("filter", "filter-lang")]
        environ = dict(environ, REQUEST_METHOD="POST", QUERY_STRING=urlencode(rest),
                       CONTENT_TYPE="application/query-cql-json", CONTENT_LENGTH=str(len(body)),
                       **{"wsgi.input": io.BytesIO(body)})
        return self.app(environ, start_response)


def _media_types(start_response: Callable[..., Any], items: bool) -> Callable[..., Any]:
    """A start_response that names GeoJSON for items and the charset of HTML pages."""

    def wrapped(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        out = []
        for name, value in headers:
            if name.lower() == "content-type":
                base = value.split(";")[0].strip().lower()
                if base == "text/html":
                    value = "text/html; charset=utf-8"
                elif items and base == "application/json" and status.startswith("200"):
                    value = "application/geo+json"
            out.append((name, value))
        return start_response(status, out, exc_info) if exc_info else start_response(status, out)

    return wrapped
