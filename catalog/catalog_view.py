"""What one caller may see of a catalog, as the catalog process executes it: a :class:`CatalogView`.

The node computes a view per request from its policy (:mod:`catalog.access_view`); this module only holds
the view itself, its SQL and its signed transport, so that it imports nothing but the standard library —
the catalog process (pycsw's own venv) loads it by path.

The catalog's ``records`` table has four columns of ours (see ``catalog/pycsw_loader.py``):
``geoportal_key`` (the dataset's ``<node id>/<dataset id>``, empty for a record about no dataset),
``geoportal_level`` (public | officials | restricted; NULL until known: hidden), ``geoportal_variant``
(``full``, or ``meta``: the same record without data links, kept for every non-public record) and
``geoportal_marker`` (the marker as JSON). A view selects exactly one variant of each visible record:

* ``full`` variant of a public record, unless its key is in ``hide`` (a rule hides it);
* ``full`` variant of a non-public record whose key is in ``full``;
* ``meta`` variant of a record whose key is in ``meta``.

Anything not named is hidden, so a record the view did not know about (harvested a second ago) is
shown only when it is public: the view fails closed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}/[a-z0-9][a-z0-9_-]{0,62}$")
HEADER = "X-Geoportal-View"  # from the front (the catalog gate) to the catalog process
#: headers of every answer that depends on who asked: no shared cache may give it to another caller
PRIVATE_HEADERS = (("Cache-Control", "private, no-cache"), ("Vary", "Authorization, Cookie"))


@dataclass(frozen=True)
class CatalogView:
    """Keys shown in full (non-public records), keys shown without data links, public keys hidden; or
    ``everything`` (the full variant of every record: a harvesting parent, a publisher's transaction)."""

    full: frozenset[str] = field(default_factory=frozenset)
    meta: frozenset[str] = field(default_factory=frozenset)
    hide: frozenset[str] = field(default_factory=frozenset)
    everything: bool = False

    def __post_init__(self) -> None:
        for k in (*self.full, *self.meta, *self.hide):
            if not KEY_RE.match(k):
                raise ValueError(f"'{k[:80]}' is not a dataset key <node id>/<dataset id>")
        if self.full & self.meta or self.full & self.hide or self.meta & self.hide:
            raise ValueError("a dataset key has one mode in a view: full, metadata or hidden")

    def mode(self, key: str, level: str | None) -> str:
        """full | metadata | hide for a record with this key and level (the same rule as :meth:`where`; a
        public record has no variant without links, so 'metadata' hides it)."""
        if self.everything or key in self.full:
            return "full"
        if key in self.meta:
            return "metadata" if level != "public" else "hide"
        return "full" if level == "public" and key not in self.hide else "hide"

    def where(self, prefix: str = "") -> tuple[str, list[str]]:
        """The view as an SQL condition with bound values (for our own SQLite reads)."""
        c = {n: f"{prefix}geoportal_{n}" for n in ("key", "level", "variant")}
        if self.everything:
            return f"{c['variant']} = 'full'", []
        args: list[str] = []
        public = f"{c['level']} = 'public'"
        if self.hide | self.meta:
            public += f" AND {c['key']} NOT IN ({','.join('?' * len(self.hide | self.meta))})"
            args += sorted(self.hide | self.meta)
        full = f"({public})"
        if self.full:
            full += f" OR {c['key']} IN ({','.join('?' * len(self.full))})"
            args += sorted(self.full)
        out = f"({c['variant']} = 'full' AND ({full}))"
        if self.meta:
            out += f" OR ({c['variant']} = 'meta' AND {c['key']} IN ({','.join('?' * len(self.meta))}))"
            args += sorted(self.meta)
        return f"({out})", args

    def sql(self) -> str:
        """The view as pycsw's repository ``filter`` (an SQL text that pycsw adds to every query it runs).
        pycsw takes no bound values there; the keys are inlined, each checked against :data:`KEY_RE` (letters,
        digits, ``_ - /``) when the view was made, so none can carry a quote."""
        text, args = self.where()
        for a in args:
            assert KEY_RE.match(a)
            text = text.replace("?", f"'{a}'", 1)
        return text

    def to_json(self) -> str:
        return json.dumps({"full": sorted(self.full), "meta": sorted(self.meta), "hide": sorted(self.hide),
                           "everything": self.everything}, separators=(",", ":"))

    def digest(self) -> str:
        """A short fingerprint: two callers with the same digest see the same records."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def encode(self, secret: str) -> str:
        """The view signed with the catalog process's per-start secret (HMAC-SHA256)."""
        payload = base64.urlsafe_b64encode(self.to_json().encode()).decode().rstrip("=")
        return payload + "." + hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()

    @classmethod
    def decode(cls, value: str, secret: str) -> CatalogView | None:
        """The view of a header made by :meth:`encode` with ``secret``; None when it is not one."""
        if not secret or "." not in value:
            return None
        payload, _, sig = value.rpartition(".")
        good = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(sig.encode(), good.encode()):
            return None
        try:
            d = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return cls(frozenset(d["full"]), frozenset(d["meta"]), frozenset(d["hide"]), bool(d["everything"]))
        except (ValueError, KeyError, TypeError):
            return None


PUBLIC_ONLY = CatalogView()
EVERYTHING = CatalogView(everything=True)
