"""OGC API Features Part 4 writes on the collections ``decisions`` and ``projects``: a WSGI front before
pygeoapi. pygeoapi's own transactions would write the published layer as rows; they know nothing of the
lifecycle, the permissions or the history, so every write here goes through the register's actions
(decisions/service.py — the same ones the CLI calls) and the published layers are rewritten after it.
Reads (GET) still go to pygeoapi; a GET of one item gets the ``ETag`` of the register's value.

    POST   …/collections/decisions/items          a new draft                         → 201, Location, ETag
    PUT    …/collections/decisions/items/{id}     replace a draft's properties         → 200, ETag
    PATCH  …/collections/decisions/items/{id}     edit a draft, or move its status     → 200, ETag
    DELETE …/collections/decisions/items/{id}     remove a draft (else 409: cancel)    → 204
    (the same on …/projects/items: an 'idea' is what a draft is to a decision)

Who: :func:`access.web.principal_of` (anonymous → 401), as an :class:`~decisions.model.Actor` through
:func:`decisions.permissions.actor_of`; what they may do: :mod:`decisions.permissions`. ``If-Match`` with the
ETag a client read refuses a change made meanwhile by someone else (412). Bodies are checked against the JSON
schemas in ``decisions/schema`` (400 naming the property). Every write, allowed or refused, is one line of
the node's audit log.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable

import jsonschema

from decisions.errors import (DeadlineError, DecisionError, Forbidden, IllegalTransition, NotFound, NotLoggedIn,
                              PreconditionFailed)
from decisions.model import Actor, Budget, Document, Text

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
SCHEMAS = Path(__file__).resolve().parent / "schema"
MAX_BODY = 20 * 1024 * 1024  # an adopted text in base64 fits
ITEM = re.compile(r"^/collections/(decisions|projects)/items(?:/([^/]+))?/?$")
#: what this front makes true of the API (declared in /conformance only on nodes that serve it)
PART4 = ("http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
         "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
         "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features")
STATUS_TEXT = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
               403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
               411: "Length Required", 412: "Precondition Failed", 413: "Content Too Large",
               415: "Unsupported Media Type", 422: "Unprocessable Content", 503: "Service Unavailable"}


class BadRequest(DecisionError):
    """The request itself is wrong (not JSON, a property the schema does not know, …): 400."""


class _Status(BadRequest):
    """A request-level refusal with its own status (413, 415)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def http_status(e: Exception) -> int:
    """The one place a register error becomes an HTTP status."""
    from geoportal.errors import StoreError

    if isinstance(e, _Status):
        return e.code
    for cls, code in ((BadRequest, 400), (NotLoggedIn, 401), (Forbidden, 403), (NotFound, 404), (PreconditionFailed, 412),
                      (IllegalTransition, 409), (DeadlineError, 409), (DecisionError, 422), (StoreError, 503)):
        if isinstance(e, cls):
            return code
    return 500


def schema_errors(kind: str, props: dict[str, Any], required: tuple[str, ...] = ()) -> None:
    """Raise :class:`BadRequest` naming the first property that does not fit the schema."""
    schema = _schema(kind)
    v = jsonschema.Draft202012Validator(schema)
    errs = sorted(v.iter_errors(props), key=lambda e: list(e.path))
    if errs:
        e = errs[0]
        where = ".".join(str(p) for p in e.path)
        if e.validator == "additionalProperties":
            extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
            raise BadRequest(f"properties.{where + '.' if where else ''}{extra[0] if extra else '?'}: not a property "
                             f"of a {kind} (known: {', '.join(sorted(e.schema.get('properties', {})))})")
        raise BadRequest(f"properties.{where or '(body)'}: {e.message}")
    missing = [k for k in required if k not in props]
    if missing:
        raise BadRequest(f"properties.{missing[0]}: required for a new {kind}")


_SCHEMA_CACHE: dict[str, dict[str, Any]] = {}


def _schema(kind: str) -> dict[str, Any]:
    if kind not in _SCHEMA_CACHE:
        _SCHEMA_CACHE[kind] = json.loads((SCHEMAS / f"{kind}-write.json").read_text(encoding="utf-8"))
    return _SCHEMA_CACHE[kind]


def feature_body(body: Any) -> tuple[dict[str, Any], Any, bool]:
    """(properties, geometry, geometry given?) of a request body: a GeoJSON Feature, or for PATCH also a bare
    object of properties (JSON merge patch)."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object: a GeoJSON Feature {\"type\": \"Feature\", \"geometry\": …, "
                         "\"properties\": {…}}")
    if body.get("type") == "Feature" or "properties" in body:
        extra = sorted(set(body) - {"type", "geometry", "properties", "id", "links"})
        if extra:
            raise BadRequest(f"{extra[0]}: not a member of a Feature (give type, geometry, properties)")
        props = body.get("properties") or {}
        if not isinstance(props, dict):
            raise BadRequest("properties: must be an object")
        return props, body.get("geometry"), "geometry" in body
    return dict(body), None, False


def adopted_document(v: dict[str, Any] | None, reg: Any) -> Document | None:
    """The adopted text of a PATCH, its bytes kept in the register's document store (before the move is
    committed: a refused move leaves an unreferenced file, never a recorded text without its bytes)."""
    if v is None:
        return None
    try:
        data = base64.b64decode(v["content_base64"], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("properties.adopted_text.content_base64: not base64") from None
    if not Path(v["name"]).name:
        raise BadRequest("properties.adopted_text.name: give the file's name (e.g. rishennia.pdf)")
    return reg.keep_document(v["name"], data, "adopted-text")


class DecisionWrites:
    """The WSGI front of the OGC API (mounted at ``/ogcapi``) for the register's two collections."""

    def __init__(self, app: WSGIApp, workspace_root: Path):
        self.app = app
        self.root = Path(workspace_root)
        self._lock = threading.Lock()  # one write at a time per process; the repository locks across processes

    @cached_property
    def cfg(self) -> Any:
        from geoportal.config import load_config

        node = json.loads((self.root / "node.json").read_text(encoding="utf-8"))
        return load_config(Path(node["config"]))

    def register(self) -> Any:
        from decisions.service import Register
        from geoportal.model import Workspace

        return Register.for_node(self.cfg, Workspace(self.root))

    # -- WSGI ------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "")
        m = ITEM.match(path)
        if path.rstrip("/") == "/conformance" and method == "GET":
            return self._amend_json(environ, start_response, _with_part4)
        if path.rstrip("/") == "/openapi" and method == "GET":
            return self._amend_json(environ, start_response, _with_write_paths)
        if m is None:
            return self.app(environ, start_response)
        collection, item = m.group(1), m.group(2)
        if method in ("GET", "HEAD"):
            return self._get(environ, start_response, collection, item)
        if method == "OPTIONS":
            allow = "GET, HEAD, PUT, PATCH, DELETE, OPTIONS" if item else "GET, HEAD, POST, OPTIONS"
            return _reply(start_response, 204, None, [("Allow", allow)])
        allowed = {None: ("POST",), "item": ("PUT", "PATCH", "DELETE")}["item" if item else None]
        if method not in allowed:
            return _reply(start_response, 405, {"code": "MethodNotAllowed", "description":
                          f"{method} is not allowed on {path}; use {', '.join(allowed)}"},
                          [("Allow", ", ".join(("GET", *allowed)))])
        return self._write(environ, start_response, method, collection, item)

    def _get(self, environ: dict[str, Any], start_response: Callable[..., Any], collection: str,
             item: str | None) -> Iterable[bytes]:
        """pygeoapi answers; one item's answer also carries the register's ETag (what If-Match compares)."""
        if not item:
            return self.app(environ, start_response)
        from decisions.versions import etag

        try:
            reg = self.register()
            value = reg.get(item) if collection == "decisions" else reg.get_project(item)
            tag = etag(value)
        except DecisionError:
            value, tag = None, None  # not in the register: pygeoapi answers its 404

        def start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            if tag and status.startswith("200"):
                headers = [*headers, ("ETag", tag)]
            return start_response(status, headers, *exc)
        documents = getattr(value, "documents", None)
        if documents and environ.get("REQUEST_METHOD", "GET").upper() == "GET":
            from decisions.nodeurl import node_base_url
            from geoportal.model import Workspace

            base = node_base_url(self.cfg, Workspace(self.root))
            return self._amend_json(environ, start, lambda doc: _with_document_links(doc, value, base))
        return self.app(environ, start)

    def _amend_json(self, environ: dict[str, Any], start_response: Callable[..., Any],
                    amend: Callable[[dict[str, Any]], None]) -> Iterable[bytes]:
        """pygeoapi's JSON answer with what this front adds (the HTML pages are left as they are)."""
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda b: None
        body = b"".join(self.app(environ, start))
        ctype = dict((k.lower(), v) for k, v in captured.get("headers", [])).get("content-type", "")
        if captured.get("status", "").startswith("200") and "json" in ctype:
            doc = json.loads(body)
            amend(doc)
            body = json.dumps(doc, ensure_ascii=False).encode()
        headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() != "content-length"]
        start_response(captured.get("status", "500 Internal Server Error"),
                       [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _write(self, environ: dict[str, Any], start_response: Callable[..., Any], method: str, collection: str,
               item: str | None) -> Iterable[bytes]:
        from access.web import principal_of
        from decisions.permissions import actor_of

        principal = principal_of(environ)
        address = environ.get("REMOTE_ADDR")
        op = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}[method]
        what = f"{collection}/{item}" if item else collection
        actor = actor_of(principal, self.cfg.decisions.heads, self.cfg.decisions.moderators)
        if actor is None:
            self._audit(op, principal.describe(), address, collection, item, "refused", "not logged in")
            return _reply(start_response, 401, {"code": "NotAuthorized", "description":
                          f"{op} of {what} needs a login: send 'Authorization: Bearer <token>' (or log in)"},
                          [("WWW-Authenticate", 'Bearer realm="geoportal"')])
        try:
            body = None if method == "DELETE" else _read_json(environ)
            with self._lock:
                status, doc, headers = getattr(self, f"_{collection}")(method, item, body, actor,
                                                                       environ.get("HTTP_IF_MATCH"), environ)
                self._publish()
        except Exception as e:  # noqa: BLE001 - mapped to a status below; unknown ones are logged and re-raised
            code = http_status(e)
            if code == 500:
                raise
            self._audit(op, principal.describe(), address, collection, item, "refused", str(e))
            extra = [("WWW-Authenticate", 'Bearer realm="geoportal"')] if code == 401 else []
            name = STATUS_TEXT.get(code, "Error").replace(" ", "") if isinstance(e, _Status) else type(e).__name__
            return _reply(start_response, code, {"code": name, "description": str(e)}, extra)
        self._audit(op, principal.describe(), address, collection, doc.get("id") if doc else item, "ok", None)
        return _reply(start_response, status, doc, headers)

    def _publish(self) -> None:
        from decisions.publish import publish_register
        from geoportal.model import Workspace

        publish_register(self.cfg, Workspace(self.root))

    def _audit(self, op: str, who: str, address: str | None, collection: str, item: str | None, outcome: str,
               why: str | None) -> None:
        from access.audit import AuditLog

        detail = {"item": item} if item else {}
        if why:
            detail["reason"] = why[:500]
        try:
            AuditLog(self.root / "audit.log").append(f"{collection}.{op}", actor=who, address=address,
                                                     dataset=collection, outcome=outcome, **detail)
        except Exception as e:  # noqa: BLE001 - the write itself is committed; a broken log is reported loudly
            log.error("node %s: the audit log refused an entry (%s)", self.root.name, e)

    # -- decisions -------------------------------------------------------------------------------------
    def _decisions(self, method: str, item: str | None, body: Any, actor: Actor, if_match: str | None,
                   environ: dict[str, Any]) -> tuple[int, dict[str, Any] | None, list[tuple[str, str]]]:
        reg = self.register()
        if method == "DELETE":
            reg.delete(actor, item, if_match=if_match)
            return 204, None, []
        props, geometry, has_geometry = feature_body(body)
        schema_errors("decision", props, ("title_uk", "kind", "issuer") if method in ("POST", "PUT") else ())
        geo = _geometry_args(props, geometry, has_geometry)
        if method == "POST":
            if "status" in props and props["status"] != "draft":
                raise BadRequest("properties.status: a new decision is a draft; move it with PATCH afterwards")
            d = reg.create(actor, title=Text(props["title_uk"], props.get("title_en", "")),
                           summary=Text(props.get("summary_uk", ""), props.get("summary_en", "")), kind=props["kind"],
                           issuer=props["issuer"], parties=props.get("parties", []), cites=props.get("cites", []),
                           reason=props.get("reason") or "drafted", **geo)
            return 201, _decision_doc(d), [("Location", _url(environ, d.id)), *_etag(d)]
        cur = reg.get(item)
        if method == "PUT":
            if props["issuer"] != cur.issuer:
                raise DecisionError(f"properties.issuer: decision {item} is issued by {cur.issuer}; the issuer of a "
                                    "decision does not change")
            if props.get("status", cur.status) != cur.status:
                raise BadRequest("properties.status: PUT replaces a draft's content; change the status with PATCH")
            d = reg.edit(actor, item, reason=props.get("reason") or "replaced",
                         title=Text(props["title_uk"], props.get("title_en", "")),
                         summary=Text(props.get("summary_uk", ""), props.get("summary_en", "")), kind=props["kind"],
                         parties=props.get("parties", []), cites=props.get("cites", []), if_match=if_match, **geo)
            return 200, _decision_doc(d), _etag(d)
        # PATCH
        if "status" in props:
            extra = sorted(set(props) - {"status", "reason", "consultation_until", "agreement_deadline",
                                         "adopted_text"})
            if extra or has_geometry:
                raise BadRequest(f"properties.{extra[0] if extra else 'geometry'}: a status change is a PATCH of "
                                 "'status' (with reason and what the new state needs) alone; send edits separately")
            d = reg.transition(actor, item, props["status"], reason=props.get("reason", ""),
                               consultation_until=props.get("consultation_until"),
                               agreement_deadline=props.get("agreement_deadline"),
                               adopted_text=adopted_document(props.get("adopted_text"), reg), if_match=if_match)
            return 200, _decision_doc(d), _etag(d)
        if "issuer" in props and props["issuer"] != cur.issuer:
            raise DecisionError(f"properties.issuer: decision {item} is issued by {cur.issuer}; the issuer does "
                                "not change")
        for k in ("consultation_until", "agreement_deadline", "adopted_text"):
            if k in props:
                raise BadRequest(f"properties.{k}: goes with a status change (PATCH 'status' with it)")
        title = summary = None
        if {"title_uk", "title_en"} & set(props):
            title = Text(props.get("title_uk", cur.title.uk), props.get("title_en", cur.title.en))
        if {"summary_uk", "summary_en"} & set(props):
            summary = Text(props.get("summary_uk", cur.summary.uk), props.get("summary_en", cur.summary.en))
        d = reg.edit(actor, item, reason=props.get("reason") or "edited", title=title, summary=summary,
                     kind=props.get("kind"), parties=props.get("parties"), cites=props.get("cites"),
                     if_match=if_match, **geo)
        return 200, _decision_doc(d), _etag(d)

    # -- projects --------------------------------------------------------------------------------------
    def _projects(self, method: str, item: str | None, body: Any, actor: Actor, if_match: str | None,
                  environ: dict[str, Any]) -> tuple[int, dict[str, Any] | None, list[tuple[str, str]]]:
        reg = self.register()
        if method == "DELETE":
            reg.delete_project(actor, item, if_match=if_match)
            return 204, None, []
        props, geometry, _ = feature_body(body)
        if geometry is not None:
            raise BadRequest("geometry: a project has none of its own (it is drawn where its decisions are); "
                             "send null")
        schema_errors("project", props, ("title_uk", "issuer") if method in ("POST", "PUT") else ())
        budget = [Budget(b["source"], float(b["planned"]), float(b.get("actual", 0.0)), b.get("currency", "UAH"))
                  for b in props["budget"]] if "budget" in props else None
        if method == "POST":
            if props.get("status", "idea") != "idea":
                raise BadRequest("properties.status: a new project is an 'idea'; move it with PATCH afterwards")
            p = reg.create_project(actor, title=Text(props["title_uk"], props.get("title_en", "")),
                                   issuer=props["issuer"], decisions=props.get("decisions", []), budget=budget or [])
            return 201, _project_doc(p), [("Location", _url(environ, p.id)), *_etag(p)]
        cur = reg.get_project(item)
        if "issuer" in props and props["issuer"] != cur.issuer:
            raise DecisionError(f"properties.issuer: project {item} is issued by {cur.issuer}; it does not change")
        if "status" in props and props["status"] != cur.stage:
            extra = sorted(set(props) - {"status", "reason", "tender_id"})
            if extra or method == "PUT":
                raise BadRequest(f"properties.{extra[0] if extra else 'status'}: a stage change is a PATCH of 'status' "
                                 "(with reason, and tender_id for procurement) alone")
            p = reg.transition_project(actor, item, props["status"], reason=props.get("reason", ""),
                                       tender_id=props.get("tender_id"), if_match=if_match)
            return 200, _project_doc(p), _etag(p)
        title = None
        if method == "PUT" or {"title_uk", "title_en"} & set(props):
            title = Text(props.get("title_uk", cur.title.uk), props.get("title_en", "" if method == "PUT"
                                                                       else cur.title.en))
        p = reg.edit_project(actor, item, reason=props.get("reason") or ("replaced" if method == "PUT" else "edited"),
                             title=title, decisions=props.get("decisions", [] if method == "PUT" else None),
                             budget=budget if budget is not None else ([] if method == "PUT" else None),
                             if_match=if_match)
        return 200, _project_doc(p), _etag(p)


def _with_document_links(doc: dict[str, Any], d: Any, base: str) -> None:
    """One ``enclosure`` link per document of the decision, to its bytes served by the node (decisions/web.py),
    with the type from its name, its size and its name and role as the title."""
    from decisions.stores import document_path, media_type

    links = [x for x in doc.get("links", []) if x.get("rel") != "enclosure"]
    links += [{"rel": "enclosure", "type": media_type(x.name), "title": f"{x.name} ({x.role})", "length": x.size,
               "href": f"{base.rstrip('/')}/{document_path(d.id, x.sha256)}"} for x in d.documents]
    doc["links"] = links


def _with_part4(doc: dict[str, Any]) -> None:
    doc["conformsTo"] = [*doc.get("conformsTo", []), *(c for c in PART4 if c not in doc.get("conformsTo", []))]


def _with_write_paths(doc: dict[str, Any]) -> None:
    """The OpenAPI document with the writes this front takes (one source: the same JSON schemas it checks)."""
    paths = doc.get("paths", {})
    errors = {str(c): {"description": STATUS_TEXT[c]} for c in (400, 401, 403, 404, 409, 412, 415, 422)}
    for coll, kind in (("decisions", "decision"), ("projects", "project")):
        body = {"required": True, "content": {ct: {"schema": {
            "type": "object", "required": ["type", "properties"],
            "properties": {"type": {"enum": ["Feature"]}, "geometry": {"type": "object", "nullable": True},
                           "properties": {k: v for k, v in _schema(kind).items() if not k.startswith("$")}}}}
            for ct in ("application/geo+json", "application/json")}}
        etag = {"If-Match": {"description": "the ETag read; another version → 412", "schema": {"type": "string"}}}
        items, item = f"/collections/{coll}/items", f"/collections/{coll}/items/{{featureId}}"
        fid = [{"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}]
        if_match = [{"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"}}]
        paths.setdefault(items, {})["post"] = {
            "summary": f"Create a {kind} (draft / idea)", "tags": [coll], "operationId": f"create{coll.title()}",
            "requestBody": body, "responses": {"201": {"description": "Created", "headers": {"Location": {
                "schema": {"type": "string"}}, "ETag": {"schema": {"type": "string"}}}}, **errors}}
        ops = {"put": f"Replace a {kind}'s properties", "patch": f"Update a {kind}, or move its status",
               "delete": f"Delete a {kind} still in draft / idea (else cancel it)"}
        for verb, summary in ops.items():
            op = {"summary": summary, "tags": [coll], "operationId": f"{verb}{coll.title()}",
                  "parameters": fid + if_match, "responses": {"200" if verb != "delete" else "204": {
                      "description": "OK", "headers": etag if verb != "delete" else {}}, **errors}}
            if verb != "delete":
                op["requestBody"] = body
            paths.setdefault(item, {})[verb] = op
    doc["paths"] = paths


def _geometry_args(props: dict[str, Any], geometry: Any, given: bool) -> dict[str, Any]:
    src = props.get("geometry_from")
    if src is not None and geometry is not None:
        raise BadRequest("geometry: give the geometry OR properties.geometry_from, not both")
    if src is not None:
        return {"features": (src["dataset"], list(src["ids"]))}
    if geometry is not None:
        if not isinstance(geometry, dict) or "type" not in geometry:
            raise BadRequest("geometry: a GeoJSON geometry object {\"type\": …, \"coordinates\": …} (lon/lat)")
        return {"geometry": geometry}
    return {}


def _read_json(environ: dict[str, Any]) -> Any:
    ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    if ctype and not (ctype.endswith("json")):
        raise _Status(415, f"Content-Type '{ctype}': send application/geo+json, application/json or "
                           "application/merge-patch+json")
    try:
        n = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest("Content-Length is not a number") from None
    if n > MAX_BODY:
        raise _Status(413, f"the body is {n} bytes; this node accepts up to {MAX_BODY}")
    raw = environ["wsgi.input"].read(n) if n else b""
    if not raw.strip():
        raise BadRequest("the body is empty: send a GeoJSON Feature")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"the body is not JSON ({e})") from None


def _url(environ: dict[str, Any], id: str) -> str:
    from wsgiref.util import application_uri

    return application_uri(environ).rstrip("/") + environ.get("PATH_INFO", "").rstrip("/") + f"/{id}"


def _etag(value: Any) -> list[tuple[str, str]]:
    from decisions.versions import etag

    return [("ETag", etag(value))]


def _decision_doc(d: Any) -> dict[str, Any]:
    import shapely
    from shapely.geometry import mapping

    geom = mapping(shapely.from_wkt(d.geometry)) if d.geometry else None
    return {"type": "Feature", "id": d.id, "geometry": geom, "properties": {
        "id": d.id, "status": d.status, "kind": d.kind, "issuer": d.issuer, "title_uk": d.title.uk,
        "title_en": d.title.en, "summary_uk": d.summary.uk, "summary_en": d.summary.en, "parties": d.parties,
        "consultation_until": d.consultation_until, "agreement_deadline": d.agreement_deadline,
        "updated_at": d.updated_at}}


def _project_doc(p: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": p.id, "geometry": None, "properties": {
        "id": p.id, "status": p.stage, "issuer": p.issuer, "title_uk": p.title.uk, "title_en": p.title.en,
        "decisions": p.decisions, "tender_id": p.tender_id,
        "budget": [{"source": b.source, "planned": b.planned, "actual": b.actual, "currency": b.currency}
                   for b in p.budget], "updated_at": p.updated_at}}


def _reply(start_response: Callable[..., Any], code: int, doc: dict[str, Any] | None,
           headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = b"" if doc is None else json.dumps(doc, ensure_ascii=False, default=str).encode()
    ctype = "application/geo+json" if doc and doc.get("type") == "Feature" else "application/json; charset=utf-8"
    hs = [("Content-Length", str(len(body))), ("Access-Control-Allow-Origin", "*"), *(headers or [])]
    if doc is not None:
        hs.insert(0, ("Content-Type", ctype))
    start_response(f"{code} {STATUS_TEXT.get(code, '')}".strip(), hs)
    return [body]
