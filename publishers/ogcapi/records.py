"""OGC API Records over the node's CSW: pygeoapi's CSW facade with the properties pycsw 2.6 can query.

Why a subclass: the facade maps ``created`` to ``dct:created``, which pycsw 2.6 does not know (it is not a
queryable of csw:Record), so ``sortby=created`` or ``created=…`` came back as a 500. pycsw knows the
creation date as ``apiso:CreationDate``. And a CSW exception caused by the request (an unknown property,
a bad value, a control character lxml cannot put in the CSW request) is the client's error: a 400 with
pycsw's own message, not a 500 "check logs".
The facade also turns a record's online resources into links with neither ``rel`` nor ``type`` (and the
title "None" when the resource has no name); OGC API links need both, so they are filled in here.

Per caller: the facade asks the catalog process directly with the caller's view (the signed
``X-Geoportal-View`` the catalog gate sends for CSW), set for the request by :class:`CatalogContext`
around pygeoapi; pycsw then executes items, item and ``q=`` under that view, so a hidden record is neither
listed, counted, found nor fetched by id. Without a context (pygeoapi run by itself) the facade reads the
public CSW URL as an anonymous client.
"""

from __future__ import annotations

import mimetypes
from contextvars import ContextVar
from typing import Any, Callable, Iterable
from urllib.parse import urlparse

from owslib.csw import CatalogueServiceWeb

from pygeoapi.provider.base import ProviderConnectionError, ProviderInvalidQueryError, ProviderQueryError
from pygeoapi.provider.csw_facade import CSWFacadeProvider


#: (catalog process URL, the headers carrying the caller's view) for the request being answered; the headers
#: are made when the catalog is read, not for every request that passes (deciding a view costs a policy run)
CATALOG_REQUEST: ContextVar[tuple[str, Callable[[], dict[str, str]]] | None] = ContextVar(
    "geoportal_catalog_request", default=None)


class CatalogProvider(CSWFacadeProvider):
    def __init__(self, provider_def: dict[str, Any]):
        super().__init__(provider_def)
        self.record_mappings["created"] = ("apiso:CreationDate", "created")

    def _get_csw(self) -> CatalogueServiceWeb:
        target = CATALOG_REQUEST.get()
        if target is None:
            return super()._get_csw()
        url, make_headers = target
        headers = make_headers()
        try:
            # skip_caps: the capabilities name the public URL, which OWSLib would then use for every request
            return CatalogueServiceWeb(url, headers=headers, timeout=30, skip_caps=True)
        except Exception as err:  # noqa: BLE001 - OWSLib raises many kinds; pygeoapi answers 500 for this
            raise ProviderConnectionError(f"CSW connection error: {err}") from err

    def _owslibrecord2record(self, record: Any) -> dict[str, Any]:
        feature = super()._owslibrecord2record(record)
        feature["links"] = [_complete(link) for link in feature.get("links", [])]
        return feature

    def query(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return super().query(*args, **kwargs)
        except ValueError as e:  # lxml refuses control characters in a value of the request (e.g. \x7f)
            raise ProviderInvalidQueryError(user_msg=f"a query value cannot be sent to the catalog: {e}") from e
        except ProviderQueryError as e:
            if "Invalid" in str(e) or "InvalidParameterValue" in str(e):
                raise ProviderInvalidQueryError(user_msg=f"the catalog refused the query: {e}") from e
            raise


def link_type(href: str) -> str:
    """The media type a link to one of the node's services or files most likely answers with."""
    url = urlparse(href)
    query = url.query.lower()
    if "getcapabilities" in query or "getrecord" in query or url.path.rstrip("/").endswith(("/csw", "/ows")):
        return "application/xml"
    if "/ogcapi" in url.path:
        return "application/json"
    return mimetypes.guess_type(url.path)[0] or "text/html"


def _complete(link: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in link.items() if not (k == "title" and v in (None, "None", ""))}
    out.setdefault("rel", "related")
    out.setdefault("type", link_type(str(out.get("href", ""))))
    return out


class CatalogContext:
    """WSGI around pygeoapi: the record provider of this request reads the catalog with the caller's view,
    and answers about the catalog collection are private to the caller."""

    def __init__(self, app: Callable[..., Iterable[bytes]], csw_url: str, view_header: Callable[[dict], dict[str, str]]):
        self.app, self.csw_url, self.view_header = app, csw_url, view_header

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        token = CATALOG_REQUEST.set((self.csw_url, lambda: self.view_header(environ)))
        try:
            respond = start_response
            if environ.get("PATH_INFO", "").startswith("/collections/catalog"):
                from geoportal.catalog_gate import private

                respond = private(start_response)
            return self.app(environ, respond)
        finally:
            CATALOG_REQUEST.reset(token)
