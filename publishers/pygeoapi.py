"""pygeoapi configuration (OGC API Features) generated from the node config and the stored layers.

The node config is the single source of truth: this module writes ``pygeoapi.yml`` and the OpenAPI
document next to it; nothing is edited by hand. GeoPackage layers are served by our own provider
(:mod:`publishers.ogcapi.gpkg`), PostGIS layers by :mod:`publishers.ogcapi.postgis`.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import yaml

from geoportal.config import Dataset, NodeConfig
from geoportal.errors import PublishError
from geoportal.model import UKRAINE_BBOX, Endpoints, StoredLayer, Workspace, write_atomic
from geoportal.titles import field_titles
from ingest.text import field_name
from geoportal.links import wms_layer
from geoportal.services import Distribution, Service
from publishers.ogcapi.locale import compile_catalogues
from metadata.records import LICENCES, record_id

RECORDS_PROVIDER = "publishers.ogcapi.records.CatalogProvider"

SERVICES = (
    Service(name="ogcapi", title="OGC API - Features", long_title="OGC API Features", protocol="OGC API - Features",
            service_type="download", operation="items", path="/ogcapi", capabilities="/",
            description="/openapi?f=json", version="1.0",
            conforms_to="http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
            iso_category="infoFeatureAccessService",
            media_types=("application/geo+json", "application/json", "text/html")),
)

ROOT = Path(__file__).resolve().parent.parent
OWN_TEMPLATES = Path(__file__).resolve().parent / "ogcapi" / "templates"
# pygeoapi's HTML templates load these from CDNs; the node serves its own copies (npm, see package.json)
VENDOR = {
    "https://unpkg.com/leaflet@1.3.1/dist/": "leaflet/dist/",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet/1.3.1/": "leaflet/dist/",
    "https://unpkg.com/leaflet.markercluster/dist/": "leaflet.markercluster/dist/",
    "https://unpkg.com/swagger-ui-dist/": "swagger-ui-dist/",
    "https://unpkg.com/bootstrap@5.1.3/dist/": "bootstrap/dist/",
}


# The conformance classes pygeoapi 0.21 declares that this node does NOT implement: no transactions
# (Part 4; collections are not editable), and Part 5 (schemas, roles) is a draft pygeoapi follows only in
# part. Each remaining class is exercised by tests/publishers/ogcapi (ogctests, schemathesis, own tests).
NOT_IMPLEMENTED = frozenset({
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/core-roles-features",
})


def restrict_conformance() -> None:
    """Drop the classes of NOT_IMPLEMENTED from the lists pygeoapi builds /conformance from.

    pygeoapi has no setting for it: /conformance is the union of module-level lists per provider type,
    so they are trimmed in place, once, in the process that serves (both the JSON and the HTML page follow).
    """
    import pygeoapi.api as api
    from pygeoapi.api import itemtypes

    for classes in (api.CONFORMANCE_CLASSES, itemtypes.CONFORMANCE_CLASSES_FEATURES,
                    itemtypes.CONFORMANCE_CLASSES_RECORDS):
        classes[:] = [c for c in classes if c not in NOT_IMPLEMENTED]


def outward(bbox: tuple[float, ...] | list[float], step: float = 1e-6, margin: float = 1e-7) -> list[float]:
    """An extent rounded outward to ``step`` so that it contains every feature.

    A client asks ``items?bbox=<advertised extent>`` and must get every feature. Layers built before
    ingest rounded outward carry a bbox rounded to 7 decimals, possibly inward: ``margin`` covers that.
    """
    lo = [math.floor((b - margin) / step) * step for b in bbox[:2]]
    hi = [math.ceil((b + margin) / step) * step for b in bbox[2:4]]
    return [round(v, 9) for v in lo + hi]


def config_path(ws: Workspace) -> Path:
    return ws.services / "pygeoapi.yml"


def openapi_path(ws: Workspace) -> Path:
    return ws.services / "pygeoapi-openapi.yml"


def _provider(ds: Dataset, layer: StoredLayer, hidden: tuple[str, ...] = ()) -> dict[str, Any]:
    title_field = field_name(ds.label) if ds.label else None
    if title_field and title_field not in {f.name for f in layer.fields}:
        title_field = None
    prov = layer.location.pygeoapi_provider(layer.id_column, layer.geometry_column)
    if title_field:
        prov["title_field"] = title_field
    # the original headers, as each field's title in /schema; pairs, not a mapping: pygeoapi reads any mapping
    # in its config as possible translations, and a column named like a locale ("uk", "id") would be taken
    prov["field_titles"] = [[name, title] for name, title in field_titles(layer).items()
                            if name not in hidden]
    if hidden:  # left out of every answer by the provider (publishers/ogcapi/rows.py)
        prov["hidden_attributes"] = list(hidden)
    prov["crs"] = [
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "http://www.opengis.net/def/crs/EPSG/0/4326",
        "http://www.opengis.net/def/crs/EPSG/0/3857",
        "http://www.opengis.net/def/crs/EPSG/0/5562",
        "http://www.opengis.net/def/crs/EPSG/0/5563",
    ]
    prov["storage_crs"] = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    return prov


def _collection(cfg: NodeConfig, ds: Dataset, layer: StoredLayer, ep: Endpoints,
                hidden: tuple[str, ...] = ()) -> dict[str, Any]:
    links = [
        {"type": "application/xml", "rel": "describedby", "title": "ISO 19139 metadata record",
         "href": ep.record(record_id(cfg, ds.id)), "hreflang": "uk"},
        {"type": "application/geopackage+sqlite3", "rel": "enclosure",
         "title": "GeoPackage", "href": ep.download(ds.id, "gpkg"), "hreflang": "uk"},
        {"type": "text/xml", "rel": "related", "title": "WMS 1.3.0",
         "href": f"{ep.ows}?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities", "hreflang": "uk"},
    ]
    if ds.licence in LICENCES:
        links.append({"type": "text/html", "rel": "license", "title": ds.licence,
                      "href": LICENCES[ds.licence], "hreflang": "en"})
    temporal: dict[str, Any] = {"begin": None, "end": None}
    if ds.date:
        temporal = {"begin": f"{ds.date}T00:00:00Z", "end": None}
    return {
        "type": "collection",
        "title": {"uk": ds.title.uk, "en": ds.title.en},
        "description": {"uk": ds.abstract.uk, "en": ds.abstract.en},
        "keywords": {"uk": ds.keywords.uk or [ds.theme], "en": ds.keywords.en or [ds.theme]},
        "links": links,
        "extents": {
            "spatial": {"bbox": outward(layer.bbox), "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
            "temporal": temporal,
        },
        "providers": [_provider(ds, layer, hidden)],
    }



def vendor_templates(ws: Workspace, chrome: dict[str, str] | None = None) -> dict[str, str] | None:
    """pygeoapi's templates with CDN links pointed at the node's own static copies, framed by the node's
    own ``_base.html`` (publishers/ogcapi/templates) with ``chrome``: the shared head, header and footer of
    the node's pages (geoportal.portal), so the OGC API pages look like the rest of the node.

    Offline (a municipal network, this machine) the stock pages come out unstyled with a blank map.
    Returns pygeoapi's ``server.templates`` setting, or None when the npm copies are not installed.
    """
    import pygeoapi

    modules = ROOT / "node_modules"
    if not (modules / "leaflet" / "dist" / "leaflet.js").exists():
        return None
    pkg = Path(pygeoapi.__file__).parent
    tdir, sdir = ws.services / "pygeoapi-templates", ws.services / "pygeoapi-static"
    for src, dst in ((pkg / "templates", tdir), (pkg / "static", sdir)):
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst)
    for page in tdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = text
        for cdn, local in VENDOR.items():
            new = new.replace(cdn, "{{ config['server']['url'] }}/static/vendor/" + local)
        new = new.replace('leaflet.markercluster-src.js', 'leaflet.markercluster.js')
        # an unclosed <a> and <div> in the collection page's link list (the list then holds stray elements)
        new = new.replace("{{ link['title'] or link['href'] }}<a>", "{{ link['title'] or link['href'] }}</a></div>")
        # queryables by the field's original name, the column in code (publishers/ogcapi/queryables.py)
        new = new.replace("<li>{{ qname }} (<code>{{ qinfo['type'] }}</code>)",
                          "<li>{{ qinfo['title'] }} — <code>{{ qname }}</code> (<code>{{ qinfo['type'] }}</code>)")
        new = new.replace("<th>{{ title_field }}</th>",
                          "<th>{{ (data.get('field_titles') or {}).get(title_field, title_field) }}</th>")
        # attribute tables headed by the original names (items page: <th>, item page: <td>)
        for tag in ("th", "td"):
            new = new.replace(f"<{tag}>{{{{ k | striptags }}}}</{tag}>",
                              f"<{tag}>{{{{ (data.get('field_titles') or {{}}).get(k, k) | striptags }}}}</{tag}>")
        if new != text:
            page.write_text(new, encoding="utf-8")
    if chrome is not None:
        base = (OWN_TEMPLATES / "_base.html").read_text(encoding="utf-8")
        for marker, key in (("<!--portal-head-->", "head"), ("<!--portal-header-->", "header"),
                            ("<!--portal-footer-->", "footer")):
            base = base.replace(marker, "{% raw %}" + chrome[key] + "{% endraw %}")
        (tdir / "_base.html").write_text(base, encoding="utf-8")
    vendor = sdir / "vendor"
    vendor.mkdir()
    for name in ("leaflet", "leaflet.markercluster", "swagger-ui-dist", "bootstrap"):
        (vendor / name).symlink_to(modules / name, target_is_directory=True)
    return {"path": str(tdir), "static": str(sdir)}


def portal_chrome(cfg: NodeConfig, ep: Endpoints) -> dict[str, str]:
    """The node's shared head, header and footer as HTML for pygeoapi's frame (links absolute: pygeoapi's
    pages live at every depth under /ogcapi/)."""
    from geoportal import portal

    site, root = portal.Site.of_config(cfg), ep.base_url + "/"
    return {"head": str(portal.head(root)), "header": str(portal.header(site, root, "datasets")),
            "footer": str(portal.footer(site, root))}


def _records_collection(cfg: NodeConfig, layers: dict[str, StoredLayer], ep: Endpoints) -> dict[str, Any]:
    """OGC API Records over the node's own catalog: pygeoapi's CSW facade reading /csw (pycsw 2.6, the
    catalog here, has no OGC API Records of its own), so records are served in GeoJSON with the same
    content as CSW, the harvested ones included."""
    bbs = [lyr.bbox for lyr in layers.values()] or [UKRAINE_BBOX]
    return {
        "type": "collection",
        "itemType": "record",
        "title": {"uk": f"Каталог метаданих: {cfg.node.name.uk}", "en": f"Metadata catalog: {cfg.node.name.en}"},
        "description": {"uk": "Записи ISO 19115 вузла та зібрані з підпорядкованих вузлів (OGC API Records).",
                        "en": "ISO 19115 records of the node and harvested from its children (OGC API Records)."},
        "keywords": {"uk": ["каталог", "метадані"], "en": ["catalog", "metadata"]},
        "links": [{"type": "application/xml", "rel": "alternate", "title": "CSW 2.0.2", "href": ep.csw,
                   "hreflang": "uk"}],
        "extents": {"spatial": {"bbox": outward([min(b[0] for b in bbs), min(b[1] for b in bbs),
                                                 max(b[2] for b in bbs), max(b[3] for b in bbs)]),
                                "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
        "providers": [{"type": "record", "name": RECORDS_PROVIDER, "data": ep.csw, "id_field": "identifier",
                       "time_field": "date", "title_field": "title"}],
    }


def basemap_datasets(cfg: NodeConfig) -> list[Dataset]:
    """The datasets of the node's own basemap: its outline (``reference.territory``, else
    '<level>-boundary') and its hromadas (``reference.boundaries``), in the config's order. Also the map
    viewer's basemap (geoportal/map_viewer.py)."""
    wanted = [cfg.reference.territory or f"{cfg.node.level.value}-boundary", cfg.reference.boundaries]
    return [d for d in cfg.public_datasets if d.id in wanted]


def basemap(cfg: NodeConfig, ep: Endpoints) -> dict[str, str]:
    """The tiles under pygeoapi's maps: the node's own outline and hromada boundaries, drawn by its MapServer
    in XYZ tile mode — a basemap that works with no internet (a municipal network). Without those layers, the
    OpenStreetMap tiles pygeoapi uses by default."""
    base = basemap_datasets(cfg)
    names = [n for n in (wms_layer(d) for d in base) if n]
    if not names:
        return {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "&copy; OpenStreetMap contributors"}
    credits = sorted({d.attribution for d in base if d.attribution})
    return {"url": f"{ep.base_url}/tiles/{','.join(names)}/{{z}}/{{x}}/{{y}}.png",
            "attribution": " · ".join([cfg.node.name.uk, *credits])}


def view_collections(cfg: NodeConfig, layers: dict[str, StoredLayer], ep: Endpoints, view: Any
                     ) -> dict[str, Any]:
    """The feature collections of a view: each dataset it gives by OGC API, narrowed to its rows, without its
    hidden attributes; a dataset it denies is not there (404, as one that does not exist)."""
    out = {}
    for ds in cfg.datasets:
        grant = view.grant(ds.id, "ogcapi") if ds.id in layers and "ogcapi" in ds.services else None
        if grant is None:
            continue
        out[ds.id] = _collection(cfg, ds, grant.narrow(layers[ds.id]), ep, grant.hidden)
    return out


def build_config(cfg: NodeConfig, layers: dict[str, StoredLayer], ep: Endpoints,
                 templates: dict[str, str] | None = None, view: Any = None) -> dict[str, Any]:
    from access.views import anonymous_view

    c = cfg.node.contact
    resources = view_collections(cfg, layers, ep, view if view is not None else anonymous_view(cfg, layers))
    resources["catalog"] = _records_collection(cfg, layers, ep)
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": 5000},
            "url": ep.ogcapi,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["uk-UA", "en-US"],
            "cors": True,
            "pretty_print": False,
            "limits": {"default_items": 10, "max_items": 10000},
            "map": basemap(cfg, ep),
            **({"templates": templates} if templates else {}),
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": {"uk": cfg.node.name.uk, "en": cfg.node.name.en},
                "description": {
                    "uk": (cfg.node.description.uk if cfg.node.description else cfg.node.name.uk),
                    "en": (cfg.node.description.en if cfg.node.description else cfg.node.name.en),
                },
                "keywords": {"uk": ["геопортал", cfg.node.katotth], "en": ["geoportal", cfg.node.katotth]},
                "keywords_type": "theme",
                "terms_of_service": LICENCES["CC-BY-4.0"],
                "url": ep.base_url,
            },
            "license": {"name": "CC-BY-4.0", "url": LICENCES["CC-BY-4.0"]},
            "provider": {"name": c.organisation.uk, "url": c.url or ep.base_url},
            "contact": {
                "name": c.individual or c.organisation.uk,
                "position": c.position or "",
                "address": c.address or "",
                "city": c.city or "",
                "country": c.country,
                "email": c.email,
                "url": c.url or ep.base_url,
                "role": "pointOfContact",
            },
        },
        "resources": resources,
    }


# pygeoapi/MapServer query the store per request: they read from storage.read_dsn when set (a replica)
SERVES_LIVE = True

#: LibYAML's safe loader and dumper where PyYAML was built with it (its wheels are), else the Python ones
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def write(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints) -> Path:
    """Write pygeoapi.yml and generate its OpenAPI document with pygeoapi itself."""
    path = config_path(ws)
    templates = vendor_templates(ws, portal_chrome(cfg, ep))
    config = build_config(cfg, layers, ep, templates)
    config["server"]["locale_dir"] = str(compile_catalogues(ws))  # the pages in Ukrainian (and English)
    text = yaml.dump(config, Dumper=_Dumper, allow_unicode=True, sort_keys=False)
    write_atomic(path, text)
    # the document made by pygeoapi itself (get_oas), from the config as pygeoapi reads the file (no ${VAR}
    # in what is generated here), with LibYAML: the pure-Python YAML of generate_openapi_document, which
    # parses the config and dumps the ~140 kB document only for it to be parsed again, took ~3 s of a build
    loaded = yaml.load(text, Loader=_Loader)
    try:
        from pygeoapi.openapi import get_oas

        oas = get_oas(loaded, fail_on_invalid_collection=True)
    except Exception as e:  # pygeoapi raises plain exceptions for a bad collection
        raise PublishError(f"{path}: pygeoapi refused the generated config: {e}") from e
    from publishers.ogcapi.openapi_doc import UnresolvedReference, localize

    resources = loaded["resources"]
    feature_paths = {f"/collections/{cid}/items" for cid, r in resources.items() if r.get("itemType") != "record"}
    try:  # through YAML and back, as a document pygeoapi writes and reads: plain lists and maps
        local = localize(yaml.load(yaml.dump(oas, Dumper=_Dumper), Loader=_Loader), feature_paths)
    except UnresolvedReference as e:
        raise PublishError(f"{openapi_path(ws)}: {e}; add it to publishers/ogcapi/openapi_doc.py REMOTE") from e
    write_atomic(openapi_path(ws), yaml.dump(local, Dumper=_Dumper, allow_unicode=True, sort_keys=False))
    return path


def write_view(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints, view: Any,
               folder: Path) -> Path:
    """The pygeoapi config of a non-anonymous view in ``folder``: the node's own config (server, templates,
    pages in Ukrainian, metadata) with the view's collections. Its OpenAPI document stays the node's."""
    base = yaml.load(config_path(ws).read_text(encoding="utf-8"), Loader=_Loader)
    catalog = base["resources"].get("catalog")
    base["resources"] = view_collections(cfg, layers, ep, view)
    if catalog is not None:
        base["resources"]["catalog"] = catalog
    path = folder / "pygeoapi.yml"
    write_atomic(path, yaml.dump(base, Dumper=_Dumper, allow_unicode=True, sort_keys=False))
    return path


def distributions(ds: Dataset, layer: StoredLayer, ep: Endpoints) -> list[Distribution]:
    """A dataset is one collection of the node's OGC API."""
    return [Distribution("ogcapi", ep.collection(ds.id), "OGC API - Features", ds.id, "Колекція OGC API Features",
                         "OGC API Features collection", "application/geo+json", "GeoJSON", "information",
                         file_type="GEOJSON")]
