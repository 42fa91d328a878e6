"""The node's services as the caller may have them: one set of applications per access view.

:class:`geoportal.serve.NodeApp` asks :class:`ViewedServices` for the routes of a request's caller
(``access.web.principal_of``). An anonymous caller, and anyone whose view equals the anonymous one, gets
the node's static build unchanged. Anyone else gets MapServer with the view's mapfile (``/ows``,
``/tiles``), pygeoapi with the view's collections (``/ogcapi``), the download files cut to the view
(``/downloads``), and the landing and dataset pages listing what the view holds (``/``, ``/datasets``).
What a view denies does not exist there: 404, WMS LayerNotDefined, an unknown WFS type — the answer an
anonymous caller gets for a dataset the node does not have, so that a restricted dataset's existence is
not given away (no 401 challenge on data: the login is the access front's, and QGIS, GDAL and OWSLib send
their credentials with the first request).

Each request looks its caller's view up once (:meth:`ViewedServices.seen`): the :class:`Seen` it gets
serves the routes, the audit entry and the OGC API shortcut. Every request that names a non-public dataset is
appended to the audit log (who, what, from where). Answers to a logged-in caller are never stored (``Cache-
Control: private, no-store``, ``Vary: Authorization, Cookie``), set by the access front
(geoportal.access_front), the one place that owns those headers.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Iterable, NamedTuple
from urllib.parse import parse_qsl

from access.principal import Principal
from geoportal.model import Endpoints, Workspace

log = logging.getLogger(__name__)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]

#: ``/collections/<id>`` and anything below it, as ``rest`` of an ``/ogcapi/…`` path
_COLLECTION = re.compile(r"collections/([^/?]+)(?:/|$)")

#: request parameters of WMS/WFS that name layers or feature types
OWS_NAMES = ("layers", "query_layers", "layer", "typename", "typenames")
#: how often a view's applications check that their generated files are still on disk (another worker may
#: prune a view folder it has not used lately; the applications are then made again)
USABLE_CHECK_SECONDS = 1.0


class Seen(NamedTuple):
    """What one request of a caller is served with, looked up once: the caller's view (None for anonymous)
    and the applications of that view (None: the node's static ones, the anonymous view's)."""

    principal: Principal
    view: Any = None
    apps: "ViewApps | None" = None


class ViewApps:
    """The applications of one view, built once and kept while the view is in use."""

    def __init__(self, owner: "ViewedServices", view: Any):
        from publishers.ogcapi.instances import ViewAPI

        self.view = view
        self.folder = owner.files.configs(view)
        self.ogcapi = ViewAPI(self.folder / "pygeoapi.yml")
        self.ows = owner.make_ows(self.folder / "mapserver.conf")
        drawn = {d for d in view.served("wms") if "GetMap" in view.grant(d, "wms").operations}
        self.tiles = owner.make_tiles(self.folder / "mapserver.conf", drawn)
        self.downloads = ViewDownloads(owner, view)
        self.datasets = ViewDatasetPages(owner, view)
        self.index = owner.landing(view)
        from publishers.views import DONE

        self._done = self.folder / DONE
        self._checked = time.monotonic()

    def usable(self) -> bool:
        """The view's files are still on disk: looked at once a second at most, not on every request."""
        now = time.monotonic()
        if now - self._checked < USABLE_CHECK_SECONDS:
            return True
        if not self._done.exists():
            return False
        self._checked = now
        return True


class ViewedServices:
    """``static``: the node's own routes; ``make_ows(config_file)`` and ``make_tiles(config_file, layers)``:
    MapServer behind ``/ows`` and ``/tiles`` for a view's MapServer config (geoportal/serve.py)."""

    def __init__(self, ws: Workspace, static: dict[str, App], make_ows: Callable[[Any], App],
                 make_tiles: Callable[[Any, set[str]], App], max_apps: int = 16, max_views: int = 512):
        import json

        from access.node import NodeAccess
        from access.views import anonymous_view
        from geoportal.build import published_path, read_published
        from publishers.views import ViewFiles

        published = read_published(ws)
        if published is None:
            raise FileNotFoundError(f"{published_path(ws)}: the workspace was built before access views; "
                                    "rebuild it")
        self.cfg, self.layers = published
        node = json.loads((ws.root / "node.json").read_text(encoding="utf-8"))
        self.ep = Endpoints(node["base_url"])
        self.ws = ws
        self.static = static
        self.make_ows, self.make_tiles = make_ows, make_tiles
        self.access = NodeAccess(self.cfg, ws.root)
        build = hashlib.sha256(published_path(ws).read_bytes()).hexdigest()[:16]
        self.anonymous = anonymous_view(self.cfg, self.layers)
        self.files = ViewFiles(self.cfg, ws, self.layers, self.ep, build, self.anonymous)
        self.levels = {d.id: d.access.value for d in self.cfg.datasets}
        self._views: OrderedDict[Principal, Any] = OrderedDict()
        self._apps: OrderedDict[str, ViewApps] = OrderedDict()
        self.max_apps, self.max_views = max_apps, max_views
        self._lock = threading.RLock()
        self._same: dict[tuple[str, str], bool] = {}  # (view key, collection) → read as anonymous

    # -- views ------------------------------------------------------------------------------------
    def view_of(self, principal: Principal) -> Any:
        from access.views import build_view

        with self._lock:
            v = self._views.get(principal)
            if v is not None:
                self._views.move_to_end(principal)
                return v
        v = build_view(self.cfg, self.layers, self.access.policy, principal, self._areas)
        with self._lock:
            self._views[principal] = v
            while len(self._views) > self.max_views:
                self._views.popitem(last=False)
        return v

    @property
    def _areas(self) -> Any:
        from access.areas import Areas

        with self._lock:
            if not hasattr(self, "_areas_"):
                self._areas_ = Areas(self.cfg, self.layers)
            return self._areas_

    def seen(self, principal: Principal) -> Seen:
        """The view and applications of ``principal`` for one request (one lookup of each)."""
        if principal.is_anonymous:
            return Seen(principal)
        view = self.view_of(principal)
        return Seen(principal, view, self.apps_of(view, principal))

    def apps_of(self, view: Any, principal: Principal) -> ViewApps | None:
        """The applications of ``view``; None when it is the anonymous view (the node's static ones)."""
        if view.key == self.anonymous.key:
            return None
        with self._lock:
            apps = self._apps.get(view.key)
            if apps is not None and apps.usable():
                self._apps.move_to_end(view.key)
                return apps
        try:
            apps = ViewApps(self, view)
        except Exception:  # noqa: BLE001 - e.g. a rule's filter naming a column the layer lacks
            # fail closed: the caller gets what anybody gets (the static services), never a 500 or more data
            log.exception("access view %s of %s cannot be generated; serving the anonymous view",
                          view.key, principal.describe())
            return None
        with self._lock:
            self._apps[view.key] = apps
            while len(self._apps) > self.max_apps:
                self._apps.popitem(last=False)
        return apps

    def as_anonymous(self, view: Any, rest: str) -> bool:
        """True when an OGC API request (``rest``: its path below ``/ogcapi``) reads one collection of a
        dataset that ``view`` gives exactly as the anonymous view does (same operations, rows and
        attributes): the node's own pygeoapi then answers — the same bytes, without the view's own API
        stack, so that an official reading public data costs what anybody's request costs. Anything else
        (the collections list, a dataset the views give differently, the decision register) is the view's."""
        m = _COLLECTION.match(rest)
        if m is None:
            return False
        key = (view.key, m.group(1))
        hit = self._same.get(key)
        if hit is None:
            mine, theirs = view.dataset(m.group(1)), self.anonymous.dataset(m.group(1))
            hit = (mine is not None and theirs is not None and theirs.grant("ogcapi") is not None
                   and mine.grant("ogcapi") == theirs.grant("ogcapi"))
            with self._lock:
                if len(self._same) > 4096:
                    self._same.clear()
                self._same[key] = hit
        return hit

    # -- pages ------------------------------------------------------------------------------------
    def landing(self, view: Any) -> bytes:
        from geoportal import landing

        return landing.render(self.cfg, self.layers, self.ep, view=view).encode("utf-8")

    # -- audit ------------------------------------------------------------------------------------
    def datasets_named(self, head: str, rest: str, environ: Environ) -> set[str]:
        """The datasets a request names (for the audit log only; what is served is decided by the view)."""
        if head == "ogcapi":
            m = re.match(r"/collections/([^/?]+)", "/" + rest.lstrip("/"))
            return {m.group(1)} if m else set()
        if head in ("ows", "tiles"):
            names: set[str] = set()
            if head == "tiles":
                names.update(rest.split("/", 1)[0].split(","))
            for k, v in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
                if k.lower() in OWS_NAMES:
                    names.update(n.split(":")[-1] for n in v.split(","))
            return names
        if head in ("downloads", "datasets"):
            name = rest.split("/", 1)[0]
            return {d for d in self.levels if name == d or name.startswith(d + ".")}
        return set()

    def audit(self, seen: Seen, head: str, rest: str, environ: Environ) -> bool:
        """Append a read of non-public data (or an attempt at one) to the audit log. False when a read that
        would be answered (allowed or limited) could not be appended: the caller must not answer it, since
        every read of restricted data is to be in the log (fail closed). A refused attempt that cannot be
        logged is still refused, so it needs no such answer."""
        names = {n for n in self.datasets_named(head, rest, environ)
                 if self.levels.get(n, "public") != "public"}
        if not names:
            return True
        answered = True
        principal, view = seen.principal, seen.view
        service = {"ogcapi": "ogcapi", "tiles": "wms", "downloads": "downloads",
                   "datasets": "landing"}.get(head)
        if head == "ows":
            q = {k.lower(): v for k, v in parse_qsl(environ.get("QUERY_STRING", ""))}
            service = q.get("service", "wms").lower()
        for name in sorted(names):
            dv = view.dataset(name) if view is not None else None
            grant = dv.grant(service or "") if dv is not None else None
            outcome = "deny" if grant is None else ("limit" if grant.limited else "allow")
            try:
                self.access.audit.append(
                    "access.read", actor=principal.name, address=environ.get("REMOTE_ADDR"), dataset=name,
                    outcome=outcome, durable=False, service=service, path=f"/{head}/{rest}"[:300],
                    query=environ.get("QUERY_STRING", "")[:300], rule=dv.rule if dv is not None else None,
                    issuer=principal.issuer)
            except Exception:  # noqa: BLE001 - whatever broke the log, the read is not answered unlogged
                log.exception("audit log: cannot append a read of %s; the read is refused", name)
                if outcome != "deny":
                    answered = False
        return answered


class ViewDownloads:
    """``/downloads/<dataset>.<format>`` of a view: the node's file, or one cut to the view's grant."""

    def __init__(self, owner: ViewedServices, view: Any):
        self.owner, self.view = owner, view

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        from geoportal.static_files import StaticFiles

        name = environ.get("PATH_INFO", "").lstrip("/")
        dataset = next((d for d in self.owner.levels if name.startswith(d + ".") and "/" not in name), None)
        if dataset is None:
            return self.owner.static["downloads"](environ, start_response)
        folder = self.owner.files.download(self.view, dataset)
        if folder is None:
            from geoportal.static_files import plain

            return plain(start_response, "404 Not Found", f"no such file: {name}")
        return StaticFiles(folder, "Downloads")(environ, start_response)


class ViewDatasetPages:
    """``/datasets/<id>/`` of a view: the node's page of a public dataset, a page made for the view of a
    non-public one it may see."""

    def __init__(self, owner: ViewedServices, view: Any):
        self.owner, self.view = owner, view

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        from geoportal import dataset_pages
        from geoportal.static_files import plain

        name = environ.get("PATH_INFO", "").strip("/").split("/")[0]
        dv = self.view.dataset(name)
        if dv is None or dv.public:
            return self.owner.static["datasets"](environ, start_response)
        if not dv.grants:
            return plain(start_response, "404 Not Found", f"no such path: /datasets/{name}/")
        layer = self.owner.layers[name].without_fields(dv.hidden)
        body = dataset_pages.render(self.owner.cfg, self.owner.ws, self.owner.cfg.dataset(name), layer,
                                    self.owner.ep).encode("utf-8")
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]

