"""CQL2 for every collection: ``filter-lang=cql2-text`` and ``cql2-json`` on GET, in front of pygeoapi.

pygeoapi 0.21 accepts only ``cql-text`` (ECQL) on GET and CQL2-JSON as a POST body. This WSGI middleware
parses a CQL2 filter with pygeofilter (the same parser family pygeoapi uses), and hands it to pygeoapi as
the CQL2-JSON POST it already understands; the other query parameters are left as they are. A filter
that does not parse is answered 400 with the parser's message, as an OGC API exception.
"""

from __future__ import annotations

import io
import json
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, urlencode

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
CQL2_LANGS = {"cql2-text", "cql2-json"}


def _error(start_response: Callable[..., Any], msg: str) -> list[bytes]:
    body = json.dumps({"code": "InvalidParameterValue", "description": msg}, ensure_ascii=False).encode()
    start_response("400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class Cql2Front:
    def __init__(self, app: WSGIApp):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or not environ.get("PATH_INFO", "").rstrip("/").endswith("/items"):
            return self.app(environ, start_response)
        params = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        lang = next((v for k, v in params if k == "filter-lang"), None)
        text = next((v for k, v in params if k == "filter"), None)
        if lang not in CQL2_LANGS or text is None:
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
