"""What the access front tells the code behind it about a request, and the cookies it sets.

Kept apart from :mod:`geoportal.access_front` so that the login pages (and any service) can read the
:class:`Identity` of a request without importing the front itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from access.principal import ANONYMOUS, Principal
from access.sessions import Session

Environ = dict[str, Any]

#: environ key: the :class:`Identity` of the request (how the principal was found)
IDENTITY = "geoportal.identity"
#: environ key a page sets to answer 401 without a Basic challenge (a browser form must not pop a dialog)
NO_CHALLENGE = "geoportal.no_challenge"
#: environ key a service sets (to anything true) when its answer depends on the caller although the
#: request was anonymous — the answer is then made private as well
PERSONAL = "geoportal.personal"

@dataclass
class Identity:
    """Who the request is from and how the front knows: ``via`` is anonymous, session, bearer, basic or
    publisher (a catalog publisher token, passed to the CatalogGate)."""

    principal: Principal = ANONYMOUS
    via: str = "anonymous"
    credentialed: bool = False  # the request carried an Authorization header or the session cookie
    session: Session | None = None
    session_cookie: str | None = None
    clear_cookie: bool = False


def parse_cookies(header: str) -> dict[str, str]:
    """The cookies of a ``Cookie`` header, first value of each name wins; anything unparseable is skipped
    (http.cookies drops the whole header on one bad pair, which would log a user out)."""
    out: dict[str, str] = {}
    for part in header.split(";")[:100]:
        name, eq, value = part.strip().partition("=")
        if eq and name and name not in out:
            out[name] = value.strip().strip('"')
    return out


def wants_html(environ: Environ) -> bool:
    """Whether the caller is a browser: it names text/html in Accept (QGIS, GDAL, OWSLib and harvesters send
    */* or other types), so it is answered with a page rather than a challenge or a line of text."""
    return "text/html" in environ.get("HTTP_ACCEPT", "").lower()


def is_https(environ: Environ) -> bool:
    return (environ.get("wsgi.url_scheme") == "https"
            or environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip().lower() == "https")


def cookie_header(environ: Environ, name: str, value: str, max_age: int) -> str:
    """A ``Set-Cookie`` value: HttpOnly, SameSite=Lax, Path=/, Secure over https; max_age 0 deletes."""
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max(0, int(max_age))}", "HttpOnly", "SameSite=Lax"]
    if max_age <= 0:
        parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    if is_https(environ):
        parts.append("Secure")
    return "; ".join(parts)
