"""OGC API Records over the node's CSW: pygeoapi's CSW facade with the properties pycsw 2.6 can query.

Why a subclass: the facade maps ``created`` to ``dct:created``, which pycsw 2.6 does not know (it is not a
queryable of csw:Record), so ``sortby=created`` or ``created=…`` came back as a 500. pycsw knows the
creation date as ``apiso:CreationDate``. And a CSW exception caused by the request (an unknown property,
a bad value, a control character lxml cannot put in the CSW request) is the client's error: a 400 with
pycsw's own message, not a 500 "check logs".
The facade also turns a record's online resources into links with neither ``rel`` nor ``type`` (and the
title "None" when the resource has no name); OGC API links need both, so they are filled in here.
"""

from __future__ import annotations

import mimetypes
from typing import Any
from urllib.parse import urlparse

from pygeoapi.provider.base import ProviderInvalidQueryError, ProviderQueryError
from pygeoapi.provider.csw_facade import CSWFacadeProvider


class CatalogProvider(CSWFacadeProvider):
    def __init__(self, provider_def: dict[str, Any]):
        super().__init__(provider_def)
        self.record_mappings["created"] = ("apiso:CreationDate", "created")

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
