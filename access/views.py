"""A view: everything one caller may get from the node's data services, decided once and shared.

The services (MapServer, pygeoapi, downloads, the pages) do not ask the policy per request; they serve a
:class:`View` — per dataset and data service the operations allowed, the rows (a CQL2 row filter: the
rule's ``filter`` and its area as ``S_INTERSECTS(geom, <polygon>)``) and the attributes left out. A view
is a pure function of the policy and the principal, and its :attr:`View.key` hashes its content only, so
every caller with the same rights shares one view, and the services one generated configuration per key
(``publishers/views.py``). The anonymous view is what the node builds statically; a caller whose view
has the anonymous key gets those very files.

When the operations of one service get different limits (a rule on GetMap only) the view keeps the
narrowest: the filters ANDed, the hidden attributes united (fail closed).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from access.areas import Areas
from access.principal import ANONYMOUS, Principal
from access.rules import Decision, Policy
from geoportal.model import RowFilter, StoredLayer

#: the services that hand out data, and the operations whose decisions a view holds
OPERATIONS: dict[str, tuple[str, ...]] = {
    "wms": ("GetCapabilities", "GetMap", "GetFeatureInfo", "GetLegendGraphic"),
    "wfs": ("GetCapabilities", "DescribeFeatureType", "GetFeature"),
    "ogcapi": ("read",),
    "downloads": ("read",),
}


@dataclass(frozen=True)
class Grant:
    """One dataset through one service: the operations allowed, and the rows and attributes they give."""

    operations: tuple[str, ...]
    row_filter: str | None = None
    hidden: tuple[str, ...] = ()

    @property
    def limited(self) -> bool:
        return self.row_filter is not None or bool(self.hidden)

    def narrow(self, layer: StoredLayer) -> StoredLayer:
        """``layer`` narrowed to the rows this grant gives (the servers then run the row filter)."""
        return layer.restricted(RowFilter(self.row_filter)) if self.row_filter else layer


@dataclass(frozen=True)
class DatasetView:
    dataset: str
    level: str  # public | officials | restricted
    grants: tuple[tuple[str, Grant], ...]  # (service, grant), services in OPERATIONS order
    rule: str = ""  # what decided (for the audit log); not part of the key

    def grant(self, service: str) -> Grant | None:
        return next((g for s, g in self.grants if s == service), None)

    @property
    def hidden(self) -> frozenset[str]:
        """Every attribute one of its services leaves out: a page that names the fields names none of them."""
        return frozenset(h for _, g in self.grants for h in g.hidden)

    @property
    def public(self) -> bool:
        return self.level == "public"


@dataclass(frozen=True)
class View:
    datasets: tuple[DatasetView, ...]
    principal: Principal = ANONYMOUS  # who it was built for (not part of the key)

    @cached_property
    def key(self) -> str:
        """The hash of the content (computed once: an area's polygon makes the content large)."""
        return view_key(self.datasets)

    def dataset(self, dataset_id: str) -> DatasetView | None:
        return next((d for d in self.datasets if d.dataset == dataset_id), None)

    def grant(self, dataset_id: str, service: str) -> Grant | None:
        d = self.dataset(dataset_id)
        return None if d is None else d.grant(service)

    def served(self, service: str) -> list[str]:
        """The datasets this view gives through ``service``, in the config's order."""
        return [d.dataset for d in self.datasets if d.grant(service) is not None]

    def visible(self) -> list[str]:
        """The datasets the caller may get through any data service (the pages list these)."""
        return [d.dataset for d in self.datasets if d.grants]


def view_key(datasets: tuple[DatasetView, ...]) -> str:
    content = [{"dataset": d.dataset, "level": d.level,
                "grants": [[s, asdict(g)] for s, g in d.grants]} for d in datasets]
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:20]


def _row_filter(decision: Decision, areas: Areas, geometry_column: str) -> tuple[bool, str | None]:
    """(possible, CQL2 row filter) of a decision's limits; not possible when its area cannot be drawn."""
    lim = decision.limits
    if lim is None:
        return True, None
    parts = []
    if lim.filter:
        parts.append(f"({lim.filter})")
    if lim.area is not None:
        wkt = areas.wkt(lim.area)
        if wkt is None:
            return False, None
        parts.append(f"S_INTERSECTS({geometry_column}, {wkt})")
    return True, (" AND ".join(parts) or None)


def build_view(cfg: Any, layers: dict[str, Any], policy: Policy, principal: Principal,
               areas: Areas | None = None) -> View:
    """The view of ``principal`` over the datasets of ``cfg`` that have a stored layer."""
    areas = areas or Areas(cfg, layers)
    out = []
    for ds in cfg.datasets:
        layer = layers.get(ds.id)
        if layer is None:
            continue
        grants: list[tuple[str, Grant]] = []
        rules: list[str] = []
        for service, ops in OPERATIONS.items():
            if service not in ds.services:
                continue
            if service == "wfs" and layer.kind != "vector":
                continue
            allowed: list[str] = []
            filters: list[str] = []
            hidden: set[str] = set()
            for op in ops:
                d = policy.decide(principal, ds.id, service, op)
                if not d.allowed:
                    continue
                possible, rows = _row_filter(d, areas, layer.geometry_column)
                if not possible:
                    continue
                allowed.append(op)
                rules.append(d.rule)
                if rows and rows not in filters:
                    filters.append(rows)
                if d.limits is not None:
                    hidden |= set(d.limits.hide_attributes)
            if not allowed:
                continue
            if layer.kind == "raster" and (filters or hidden):
                continue  # a raster has no rows to cut: a limited caller gets none of it (fail closed)
            row_filter = filters[0] if len(filters) == 1 else (
                " AND ".join(f"({f})" for f in filters) if filters else None)
            grants.append((service, Grant(tuple(allowed), row_filter, tuple(sorted(hidden)))))
        out.append(DatasetView(ds.id, ds.access.value, tuple(grants), "; ".join(sorted(set(rules)))))
    return View(tuple(out), principal)


def anonymous_view(cfg: Any, layers: dict[str, Any]) -> View:
    """What a caller without an identity may get: the node's static build."""
    return build_view(cfg, layers, Policy.from_config(cfg), ANONYMOUS)
