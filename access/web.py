"""The contract between the node's web front and every service behind it: who is asking.

The access front (wrapping :class:`geoportal.serve.NodeApp`) resolves the caller once per request — session
cookie, ``Authorization: Bearer`` or ``Basic`` — and puts the :class:`~access.principal.Principal` in the WSGI
environ under :data:`PRINCIPAL`. Services read it with :func:`principal_of`; a request that did not pass the
front (a test calling a service directly, a misconfigured deployment) is anonymous: fail closed.
"""

from __future__ import annotations

from typing import Any

from access.principal import ANONYMOUS, Principal

PRINCIPAL = "geoportal.principal"
NODE_ACCESS = "geoportal.access"


def principal_of(environ: dict[str, Any]) -> Principal:
    """The caller of this request, anonymous unless the access front said otherwise."""
    p = environ.get(PRINCIPAL)
    return p if isinstance(p, Principal) else ANONYMOUS
