"""``/passport/`` per caller: the public passports, or — for a caller the node's policy allows every
source they withhold — the passports as computed.

The build writes both (``passport/`` and ``passport-full/`` with ``withheld.json``, see
:func:`passport.build.publish_full`). The full variant is all or nothing: a caller allowed some of the
withheld sources but not all gets the public passports (a figure per allowed source would need a variant
per combination). "Allowed" is an ``allow`` decision of the ``passport`` service on each source; a
``limit`` (an area, a row filter) does not count, since the figures were computed over every row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable

from access.web import principal_of

FULL_DIR = "passport-full"


class PassportFiles:
    """WSGI: serve ``public`` (a StaticFiles) or ``full`` per caller; every answer private."""

    def __init__(self, root: Path, public: Any, full: Any, views: Any):
        self.root, self.public, self.full, self.views = Path(root), public, full, views

    def allowed_full(self, environ: dict[str, Any]) -> bool:
        marker = self.root / FULL_DIR / "withheld.json"
        if self.views is None or not marker.exists():
            return False
        sources = json.loads(marker.read_text(encoding="utf-8")).get("sources", [])
        policies = self.views.policies()
        if policies is None or not sources:
            return False
        _, own, _ = policies
        principal = principal_of(environ)
        return all(own.decide(principal, s, "passport").effect == "allow" for s in sources)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from geoportal.catalog_gate import private

        app = self.full if self.allowed_full(environ) else self.public
        return app(environ, private(start_response))
