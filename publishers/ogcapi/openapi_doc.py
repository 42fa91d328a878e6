"""The node's OpenAPI document made self-contained and true to what the node answers.

pygeoapi 0.21 generates a document whose responses and several parameters are ``$ref``s to
schemas.opengis.net and raw.githubusercontent.com. A node on a municipal network (and any validator run
offline: ogctests, schemathesis, Swagger UI) cannot resolve them, so the document cannot be read whole.
Here every remote reference is replaced by a local component written for this node, and the document is
aligned with the front (:mod:`publishers.ogcapi.cql2_front`): the free-form ``vendorSpecificParameters``
goes (unknown parameters are a 400), and the filter and datetime parameters the items endpoints accept
are declared.
"""

from __future__ import annotations

from typing import Any

_OGC_FEATURES = "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/ogcapi-features-1.yaml"

_LINK = {"type": "object", "required": ["href"],
         "properties": {"href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
                        "hreflang": {"type": "string"}, "title": {"type": "string"}}}
_EXCEPTION = {"type": "object", "required": ["code"],
              "properties": {"code": {"type": "string"}, "type": {"type": "string"},
                             "description": {"type": "string"}}}
_GEOMETRY = {"type": "object", "nullable": True, "required": ["type"], "properties": {"type": {"type": "string"}}}
_FEATURE = {"type": "object", "required": ["type", "geometry", "properties"],
            "properties": {"type": {"type": "string", "enum": ["Feature"]},
                           "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                           "geometry": {"$ref": "#/components/schemas/geometryGeoJSON"},
                           "properties": {"type": "object", "nullable": True},
                           "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}}}}
_FEATURES = {"type": "object", "required": ["type", "features"],
             "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                            "features": {"type": "array", "items": {"$ref": "#/components/schemas/featureGeoJSON"}},
                            "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}},
                            "numberMatched": {"type": "integer", "minimum": 0},
                            "numberReturned": {"type": "integer", "minimum": 0}}}
_LINKED = {"type": "object", "required": ["links"],
           "properties": {"links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}}}}
_HTML = {"text/html": {"schema": {"type": "string"}},
         # f=jsonld: pygeoapi answers every page (and its errors) in JSON-LD too
         "application/ld+json": {"schema": {"type": "object"}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/exception"}}, **_HTML}}


SCHEMAS = {"link": _LINK, "exception": _EXCEPTION, "geometryGeoJSON": _GEOMETRY, "featureGeoJSON": _FEATURE,
           "featureCollectionGeoJSON": _FEATURES}
RESPONSES = {
    "LandingPage": {"description": "The landing page", "content": {"application/json": {"schema": _LINKED}, **_HTML}},
    "Collection": {"description": "A collection", "content": {
        "application/json": {"schema": {**_LINKED, "required": ["id", "links"]}}, **_HTML}},
    "Features": {"description": "The features of the collection that match the query", "content": {
        "application/geo+json": {"schema": {"$ref": "#/components/schemas/featureCollectionGeoJSON"}}, **_HTML}},
    "Feature": {"description": "One feature", "content": {
        "application/geo+json": {"schema": {"$ref": "#/components/schemas/featureGeoJSON"}}, **_HTML}},
    "Collections": {"description": "The collections of the node", "content": {
        "application/json": {"schema": {**_LINKED, "required": ["links", "collections"]}}, **_HTML}},
    "Conformance": {"description": "The conformance classes the node implements", "content": {
        "application/json": {"schema": {"type": "object", "required": ["conformsTo"], "properties": {
            "conformsTo": {"type": "array", "items": {"type": "string"}}}}}, **_HTML}},
    "InvalidParameter": _error("A query parameter is unknown or has an invalid value"),
    "NotFound": _error("No such resource"),
    "ServerError": _error("A server error occurred"),
}
_QUERY = {"in": "query", "required": False, "style": "form", "explode": False}
PARAMETERS = {
    "featureId": {"name": "featureId", "in": "path", "required": True, "description": "The id of a feature",
                  "schema": {"type": "string"}},
    "datetime": {"name": "datetime", **_QUERY, "schema": {"type": "string"},
                 "description": "An RFC 3339 date-time or interval (start/end, '..' for open)"},
    "sortby": {"name": "sortby", **_QUERY, "description": "Properties to sort by, '-' before a name for descending",
               "schema": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[+-]?[^+-].*"}}},
    "q": {"name": "q", **_QUERY, "description": "Free-text search terms",
          "schema": {"type": "array", "items": {"type": "string"}}},
    "filter": {"name": "filter", **_QUERY, "schema": {"type": "string"},
               "description": "A CQL2 (text or JSON) or ECQL filter on the collection's queryables"},
    "filter-lang": {"name": "filter-lang", **_QUERY,
                    "schema": {"type": "string", "enum": ["cql2-text", "cql2-json", "cql-text"]}},
    "filter-crs": {"name": "filter-crs", **_QUERY, "schema": {"type": "string", "format": "uri"}},
}
# where each remote reference pygeoapi 0.21 writes points to now
REMOTE = {
    f"{_OGC_FEATURES}#/components/parameters/featureId": "#/components/parameters/featureId",
    f"{_OGC_FEATURES}#/components/parameters/datetime": "#/components/parameters/datetime",
    "https://raw.githubusercontent.com/opengeospatial/ogcapi-records/master/core/openapi/parameters/sortby.yaml":
        "#/components/parameters/sortby",
    "https://raw.githubusercontent.com/opengeospatial/ogcapi-records/master/core/openapi/parameters/q.yaml":
        "#/components/parameters/q",
    "https://schemas.opengis.net/ogcapi/processes/part1/1.0/openapi/responses/NotFound.yaml":
        "#/components/responses/NotFound",
    "https://schemas.opengis.net/ogcapi/processes/part1/1.0/openapi/schemas/exception.yaml":
        "#/components/schemas/exception",
    "https://schemas.opengis.net/ogcapi/tiles/part1/1.0/openapi/ogcapi-tiles-1.yaml#/components/schemas/link":
        "#/components/schemas/link",
    **{f"{_OGC_FEATURES}#/components/responses/{name}": f"#/components/responses/{name}" for name in RESPONSES},
}
VENDOR = "#/components/parameters/vendorSpecificParameters"


def _sortby(names: list[str]) -> dict[str, Any]:
    return {**PARAMETERS["sortby"], "schema": {"type": "array", "minItems": 1, "items": {
        "type": "string", "enum": [f"{sign}{n}" for n in names for sign in ("", "+", "-")]}}}


class UnresolvedReference(ValueError):
    """pygeoapi wrote a remote $ref this module does not know (a newer pygeoapi): add it to REMOTE."""


def _relink(node: Any) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            if ref not in REMOTE:
                raise UnresolvedReference(f"the OpenAPI document refers to {ref}, which cannot be read offline")
            return {**node, "$ref": REMOTE[ref]}
        return {k: _relink(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_relink(v) for v in node]
    return node


def localize(doc: dict[str, Any], feature_paths: set[str]) -> dict[str, Any]:
    """The document with local components only; ``feature_paths`` are the items paths of feature
    collections (``/collections/{id}/items``), which also take the filter and datetime parameters."""
    doc = _relink(doc)
    comp = doc.setdefault("components", {})
    for key, values in (("schemas", SCHEMAS), ("responses", RESPONSES), ("parameters", PARAMETERS)):
        comp.setdefault(key, {}).update(values)
    comp["parameters"].pop("vendorSpecificParameters", None)
    # pygeoapi's "queryables" schema describes the pre-2022 draft; it serves a JSON Schema document
    comp["schemas"]["queryables"] = {"type": "object", "required": ["type", "properties"], "properties": {
        "type": {"type": "string", "enum": ["object"]}, "properties": {"type": "object"}}}
    queryables = comp["responses"].get("Queryables", {}).get("content", {})
    if "application/json" in queryables:  # pygeoapi serves queryables and schemas as JSON Schema
        queryables["application/schema+json"] = queryables["application/json"]
        queryables["text/html"] = _HTML["text/html"]
    # pygeoapi documents /collections and /conformance with the landing page's response
    for path, name in (("/collections", "Collections"), ("/conformance", "Conformance")):
        ok = doc.get("paths", {}).get(path, {}).get("get", {}).get("responses", {})
        if "200" in ok:
            ok["200"] = {"$ref": f"#/components/responses/{name}"}
    for path, ops in doc.get("paths", {}).items():
        get = ops.get("get") if isinstance(ops, dict) else None
        if not get:
            continue
        params = [p for p in get.get("parameters", []) if p.get("$ref") != VENDOR]
        names = next((p["schema"]["items"].get("enum") for p in params if p.get("name") == "properties"
                      and "items" in p.get("schema", {})), None)
        if names:  # sortby names the collection's own properties, as the front checks
            params = [_sortby(names) if p.get("$ref") == "#/components/parameters/sortby" else p for p in params]
        if path in feature_paths:
            have = {p.get("$ref") for p in params}
            params += [{"$ref": f"#/components/parameters/{n}"} for n in ("datetime", "filter", "filter-lang",
                                                                          "filter-crs")
                       if f"#/components/parameters/{n}" not in have]
        get["parameters"] = params
    return doc
