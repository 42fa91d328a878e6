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

    def withheld(self) -> list[str]:
        """The non-public datasets the full passports are computed from (none: there is no full variant)."""
        marker = self.root / FULL_DIR / "withheld.json"
        if self.views is None or not marker.exists():
            return []
        return list(json.loads(marker.read_text(encoding="utf-8")).get("sources", []))

    def allowed_full(self, environ: dict[str, Any]) -> bool:
        sources = self.withheld()
        policies = self.views.policies() if sources else None
        if policies is None:
            return False
        _, own, _ = policies
        principal = principal_of(environ)
        return all(own.decide(principal, s, "passport").effect == "allow" for s in sources)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from geoportal.catalog_gate import private

        full = self.allowed_full(environ)
        if full:
            self._audit(environ)
        app = self.full if full else self.public
        refused = self._print(environ, app.root, private(start_response))
        if refused is not None:
            return refused
        return app(environ, private(start_response))

    @staticmethod
    def _print(environ: dict[str, Any], folder: Path, start_response: Callable[..., Any]) -> Iterable[bytes] | None:
        """Print ``<KATOTTH>.pdf`` from its page when it is asked for and not printed yet (passport.pdf); None
        when there is nothing to print or it is printed, else the 503 that says why it cannot be."""
        from geoportal.errors import PublishError
        from geoportal.static_files import plain
        from passport.pdf import printed

        name = environ.get("PATH_INFO", "").lstrip("/")
        if (environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or not name.endswith(".pdf") or "/" in name
                or "\\" in name or name.startswith(".")):
            return None
        page = folder / (name[:-4] + ".html")
        try:
            if not page.is_file():
                return None  # no such passport: the folder answers 404
        except (OSError, ValueError):  # a name the file system refuses: the folder answers it
            return None
        try:
            printed(page)
        except PublishError as e:
            return plain(start_response, "503 Service Unavailable", str(e), [("Retry-After", "60")])
        return None

    def _audit(self, environ: dict[str, Any]) -> None:
        """A full passport is a read of the non-public sources it was computed from: one ``access.read``
        entry per source, as for any other service."""
        import logging

        from access.audit import AuditLog

        principal = principal_of(environ)
        path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))[:300]
        try:
            log = AuditLog(self.root / "audit.log")
            for source in self.withheld():
                log.append("access.read", actor=principal.name, address=environ.get("REMOTE_ADDR"),
                           dataset=source, outcome="allow", durable=False, service="passport", path=path,
                           issuer=principal.issuer)
        except Exception:  # noqa: BLE001 - a broken audit log is logged, the read is not refused twice
            logging.getLogger(__name__).exception("audit log: cannot append a read of the full passports")
