"""OGC API Records over the node's CSW: pygeoapi's CSW facade with the properties pycsw 2.6 can query.

Why a subclass: the facade maps ``created`` to ``dct:created``, which pycsw 2.6 does not know (it is not a
queryable of csw:Record), so ``sortby=created`` or ``created=…`` came back as a 500. pycsw knows the
creation date as ``apiso:CreationDate``. And a CSW exception caused by the request (an unknown property,
a bad value) is the client's error: a 400 with pycsw's own message, not a 500 "check logs".
"""

from __future__ import annotations

from typing import Any

from pygeoapi.provider.base import ProviderInvalidQueryError, ProviderQueryError
from pygeoapi.provider.csw_facade import CSWFacadeProvider


class CatalogProvider(CSWFacadeProvider):
    def __init__(self, provider_def: dict[str, Any]):
        super().__init__(provider_def)
        self.record_mappings["created"] = ("apiso:CreationDate", "created")

    def query(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return super().query(*args, **kwargs)
        except ProviderQueryError as e:
            if "Invalid" in str(e) or "InvalidParameterValue" in str(e):
                raise ProviderInvalidQueryError(user_msg=f"the catalog refused the query: {e}") from e
            raise
