"""MapServer 8 (WMS 1.3.0/1.1.1, WFS 2.0): a mapfile and MapServer's config file, generated with mappyfile.

The mapfile is written for a :class:`~access.views.View`: the node's build writes the anonymous one
(``services/node.map``), ``publishers/views.py`` one per other view. Each dataset the view serves by WMS or
WFS becomes a LAYER grouped by its theme; a dataset it denies is absent (LayerNotDefined, an unknown WFS
type: as if it did not exist); a row filter narrows the layer's DATA (``Location.restricted``); hidden
attributes are left out of ``gml_include_items``/``wms_include_items``, the GetFeatureInfo template and the
labels; the operations a view allows per service go to ``wms_enable_request``/``wfs_enable_request``.
Each LAYER is styled from its SLD (:mod:`publishers.styles`),
queryable for GetFeatureInfo and WFS. The config file pins ``MS_MAPFILE`` so that ``/ows`` needs no
``map=`` parameter and no other mapfile can be requested through it.
"""

from __future__ import annotations

from pathlib import Path
from dataclasses import dataclass
from typing import Any

import mappyfile

from geoportal.config import Dataset, NodeConfig
from geoportal.errors import PublishError
from geoportal.links import WFS_PREFIX, in_mapserver, wfs_namespace_uri, wfs_typename, wms_layer
from geoportal.model import Endpoints, RowFilter, StoredLayer, Workspace, write_atomic
from geoportal.services import Distribution, Service
from geoportal.titles import field_titles
from geoportal.ukrainian import apostrophes
from ingest.text import field_name
from metadata.records import record_id
from publishers.styles import Rule, Symbolizer, geometry_kind, load_style, style_name_for

# EPSG:4326, Web Mercator, CRS84 and USK-2000 (geographic, Gauss-Kruger zones 4–7 and the TM zones
# used in Zhytomyr oblast)
WMS_SRS = ("EPSG:4326 EPSG:3857 CRS:84 EPSG:5561 EPSG:5562 EPSG:5563 EPSG:5564 EPSG:5565 "
           "EPSG:6381 EPSG:6382 EPSG:6383 EPSG:6384")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

SERVICES = (
    Service(name="wms", title="WMS 1.3.0", long_title="Web Map Service", protocol="OGC:WMS", service_type="view",
            operation="GetMap", path="/ows", capabilities="?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0",
            version="1.3.0", conforms_to="http://www.opengis.net/def/serviceType/ogc/wms",
            iso_category="infoMapAccessService",
            media_types=("image/png", "application/json", "text/xml"), kinds=("vector", "raster")),
    Service(name="wfs", title="WFS 2.0.0", long_title="Web Feature Service", protocol="OGC:WFS",
            service_type="download", operation="GetFeature", path="/ows",
            capabilities="?SERVICE=WFS&REQUEST=GetCapabilities&VERSION=2.0.0", version="2.0.0",
            conforms_to="http://www.opengis.net/def/serviceType/ogc/wfs", iso_category="infoFeatureAccessService",
            media_types=("application/gml+xml; version=3.2", "application/json; subtype=geojson")),
)
MARKS = {"circle": ("ellipse", [[1, 1]], True), "square": ("vector", [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]], True),
         "triangle": ("vector", [[0, 1], [0.5, 0], [1, 1], [0, 1]], True)}


def padded(bbox: tuple[float, float, float, float] | list[float], step: float = 1e-4) -> list[float]:
    """The bbox rounded outward. MapServer queries without a BBOX (WFS hits, GetFeature) by the layer
    extent, and an extent rounded inward (mappyfile writes 7 decimals) drops the features on its edge."""
    import math

    return [math.floor(bbox[0] / step) * step, math.floor(bbox[1] / step) * step,
            math.ceil(bbox[2] / step) * step, math.ceil(bbox[3] / step) * step]


def mapfile_path(ws: Workspace) -> Path:
    return ws.services / "node.map"


def config_file_path(ws: Workspace) -> Path:
    return ws.services / "mapserver.conf"


def _styles(sym: Symbolizer) -> list[dict[str, Any]]:
    if sym.kind == "polygon":
        st: dict[str, Any] = {"__type__": "style"}
        if sym.fill:
            st["color"] = sym.fill
            st["opacity"] = int(round(sym.fill_opacity * 100))
        out = [st] if sym.fill else []
        if sym.stroke:
            out.append({"__type__": "style", "outlinecolor": sym.stroke, "width": sym.stroke_width})
        return out
    if sym.kind == "line":
        return [{"__type__": "style", "color": sym.stroke, "width": sym.stroke_width}]
    if sym.kind == "point":
        st = {"__type__": "style", "symbol": sym.mark if sym.mark in MARKS else "circle", "size": sym.size}
        if sym.fill:
            st["color"] = sym.fill
        if sym.stroke:
            st["outlinecolor"] = sym.stroke
            st["width"] = sym.stroke_width
        return [st]
    return []


def _class(rule: Rule, ds: Dataset, fields: set[str], path: Path) -> dict[str, Any]:
    cls: dict[str, Any] = {"__type__": "class", "name": rule.name, "title": rule.title or rule.name,
                           "styles": [], "labels": []}
    if rule.filter_field:
        col = rule.filter_field if rule.filter_field in fields else field_name(rule.filter_field)
        if col not in fields:
            raise PublishError(f"{path}: rule '{rule.name}' filters on '{rule.filter_field}', which dataset "
                               f"'{ds.id}' does not have (fields: {', '.join(sorted(fields))})")
        value = rule.filter_value.replace('"', '\\"') if rule.filter_value else ""
        cls["expression"] = f'("[{col}]" = "{value}")'
    for sym in rule.symbolizers:
        if sym.kind == "text":
            col = sym.label_field if sym.label_field in fields else field_name(sym.label_field or "")
            if col not in fields:
                raise PublishError(f"{path}: label field '{sym.label_field}' not in dataset '{ds.id}'")
            cls["text"] = f"[{col}]"
            cls["labels"].append({
                "__type__": "label", "type": "truetype", "font": "sans", "size": sym.font_size,
                "color": sym.fill or "#000000", "outlinecolor": "#ffffff", "outlinewidth": 2,
                "position": "cc", "partials": False,
            })
        else:
            cls["styles"].extend(_styles(sym))
    return cls


def gfi_template_path(ws: Workspace, ds: Dataset, folder: Path | None = None) -> Path:
    return (folder or ws.services) / "gfi" / f"{ds.id}.html"


def gfi_template(ds: Dataset, layer: StoredLayer, hidden: tuple[str, ...] = ()) -> str:
    """The text/html GetFeatureInfo template of a layer: one row per field, headed by the field's original
    title (``Реєстраційний номер``), not its column name.

    WFS keeps the column names: MapServer's ``gml_<field>_alias`` renames the GML element itself, and a title
    with a space or an apostrophe is not an XML name, so QGIS would get broken GML."""
    from html import escape

    def text(s: str) -> str:  # brackets would be read as template tags
        return escape(s).replace("[", "(").replace("]", ")")

    titles = {"value_0": "Значення / Value"} if layer.kind == "raster" else field_titles(layer)
    rows = "".join(f'<tr><th>{text(title)}</th><td>[item name="{name}" escape="html"]</td></tr>\n'
                   for name, title in titles.items() if name != layer.geometry_column and name not in hidden)
    # MapServer sends "text/html" without a charset; the meta tag (within the first 1024 bytes) tells the
    # browser or QGIS's viewer that the page is UTF-8
    return ("<!-- MapServer Template -->\n<meta charset=\"utf-8\">\n"
            f'<table class="gfi"><caption>{text(apostrophes(ds.title.uk))}</caption>\n{rows}</table>\n')


def _raster_layer(cfg: NodeConfig, ds: Dataset, layer: StoredLayer, ep: Endpoints, ws: Workspace,
                  folder: Path | None = None, wms_requests: str = "*") -> dict[str, Any]:
    """A raster (COG) as a WMS layer: drawn with a colour ramp over its value range, GetFeatureInfo gives
    the cell value; not a WFS feature type."""
    data = layer.location.mapserver_data(layer.geometry_column, layer.id_column, layer.srid)
    lo, hi = layer.report.extra.get("value_range") or (0, 1)
    return {
        "__type__": "layer", "name": ds.id, "group": ds.theme, "type": "raster", "status": "on",
        "template": str(gfi_template_path(ws, ds, folder)), "projection": [f"init={layer.crs.lower()}"],
        "extent": padded(layer.bbox),
        "data": data["data"], "processing": data.get("processing", []),
        "classes": [{"__type__": "class", "name": ds.id, "title": ds.title.uk, "styles": [
            {"__type__": "style", "colorrange": ["#ffffcc", "#800026"], "datarange": [float(lo), float(hi)],
             "rangeitem": "[pixel]"}]}],
        "metadata": {
            "ows_title": ds.title.uk, "ows_abstract": ds.abstract.uk, "wms_title.eng": ds.title.en,
            "ows_keywordlist": ",".join(ds.keywords.uk + ds.keywords.en), "ows_srs": WMS_SRS,
            "ows_extent": " ".join(f"{b:.4f}" for b in padded(layer.bbox)), "wms_group_title": ds.theme,
            "wms_include_items": "value_0", "gml_include_items": "value_0", "wfs_enable_request": "!*",
            **({"wms_enable_request": wms_requests} if wms_requests != "*" else {}),
            "wms_metadataurl_href": ep.record(record_id(cfg, ds.id)), "wms_metadataurl_format": "text/xml",
            "wms_metadataurl_type": "ISO19115:2003", "wms_attribution_title": ds.attribution or "",
        },
    }


@dataclass(frozen=True)
class Served:
    """How one dataset is a LAYER of a view's mapfile: the (narrowed) layer, the attributes left out and the
    operations WMS and WFS answer for it (MapServer's ``*_enable_request`` syntax)."""

    ds: Dataset
    layer: StoredLayer
    hidden: tuple[str, ...] = ()
    wms: str = "*"
    wfs: str = "*"


def _requests(ops: tuple[str, ...] | None, all_ops: tuple[str, ...]) -> str:
    if not ops:
        return "!*"
    return "*" if set(all_ops) <= set(ops) else " ".join(ops)


def served_layers(cfg: NodeConfig, layers: dict[str, StoredLayer], view: Any) -> list[Served]:
    """The datasets of ``view`` in the mapfile, in the config's order, each narrowed to its rows.

    WMS and WFS share one LAYER: when their grants differ in rows or attributes, both get the narrower
    (the filters ANDed, the hidden attributes united)."""
    from access.views import OPERATIONS

    out = []
    for ds in cfg.datasets:
        layer = layers.get(ds.id)
        if layer is None or not in_mapserver(ds):
            continue
        wms = view.grant(ds.id, "wms") if wms_layer(ds) else None
        wfs = view.grant(ds.id, "wfs") if wfs_typename(ds) else None
        grants = [g for g in (wms, wfs) if g is not None]
        if not grants:
            continue
        filters = [g.row_filter for g in grants if g.row_filter]
        if filters:
            unique = list(dict.fromkeys(filters))
            cql = unique[0] if len(unique) == 1 else " AND ".join(f"({f})" for f in unique)
            layer = layer.restricted(RowFilter(cql))
        hidden = tuple(sorted({h for g in grants for h in g.hidden}))
        out.append(Served(ds, layer, hidden, _requests(wms.operations if wms else None, OPERATIONS["wms"]),
                          _requests(wfs.operations if wfs else None, OPERATIONS["wfs"])))
    return out


def _layer(cfg: NodeConfig, ds: Dataset, layer: StoredLayer, ep: Endpoints, ws: Workspace,
           folder: Path | None = None, hidden: tuple[str, ...] = (), wms_requests: str = "*",
           wfs_requests: str = "*") -> dict[str, Any]:
    if layer.kind == "raster":
        return _raster_layer(cfg, ds, layer, ep, ws, folder, wms_requests)
    # where MapServer reads the layer, and which item is the feature id (the OGC API id: WFS gml:ids are
    # <typename>.<id>); "helper_items" are columns the location adds for that and no client should see
    data = dict(layer.location.mapserver_data(layer.geometry_column, layer.id_column, layer.srid))
    featureid = data.pop("featureid", layer.id_column)
    helpers = data.pop("helper_items", [])
    style = load_style(style_name_for(ds.style, layer.geometry_type))
    fields = {f.name for f in layer.fields}
    rules = sorted(style.rules, key=lambda r: r.is_else)  # MapServer takes the first matching class
    kind = geometry_kind(layer.geometry_type)
    classes = [_class(r, ds, fields, style.path) for r in rules]
    if hidden:  # a label would draw a hidden attribute onto the map
        for cls in classes:
            if cls.get("text", "").strip("[]") in hidden:
                cls.pop("text")
                cls["labels"] = []
    lyr: dict[str, Any] = {
        "__type__": "layer",
        "name": ds.id,  # = links.wms_layer(ds); the WFS type is links.wfs_typename(ds)
        "group": ds.theme,
        "type": kind,
        "status": "on",
        "template": str(gfi_template_path(ws, ds, folder)),  # queryable (GetFeatureInfo, WFS); text/html GFI
        "tolerance": 5 if kind == "point" else 0,
        "toleranceunits": "pixels",
        "projection": [f"init={layer.crs.lower()}"],
        "extent": padded(layer.bbox),
        "classes": classes,
        "metadata": {
            "ows_title": ds.title.uk,
            "ows_abstract": ds.abstract.uk,
            "wms_title.eng": ds.title.en,
            "ows_keywordlist": ",".join(ds.keywords.uk + ds.keywords.en),
            "ows_srs": WMS_SRS,
            "ows_extent": " ".join(f"{b:.4f}" for b in padded(layer.bbox)),
            "wms_group_title": ds.theme,
            "gml_include_items": "all",
            "gml_exclude_items": ",".join([layer.geometry_column, *helpers, *hidden]),
            "gml_featureid": featureid,
            "gml_geometries": "geom",
            "gml_geom_type": kind if kind != "polygon" else "multipolygon",
            "gml_types": "auto",
            "wfs_getfeature_formatlist": "geojson,gml3",
            "wms_include_items": ",".join(f.name for f in layer.fields if f.name not in hidden
                                          and f.name != layer.geometry_column) if hidden else "all",
            "wms_metadataurl_href": ep.record(record_id(cfg, ds.id)),
            "wms_metadataurl_format": "text/xml",
            "wms_metadataurl_type": "ISO19115:2003",
            "wfs_metadataurl_href": ep.record(record_id(cfg, ds.id)),
            "wfs_metadataurl_format": "text/xml",
            "wfs_metadataurl_type": "ISO19115:2003",
            "wms_attribution_title": ds.attribution or "",
            "ows_featureid": featureid,
            # only the services the dataset declares answer for it (links.wms_layer / links.wfs_typename)
            "wms_enable_request": wms_requests if wms_layer(ds) else "!*",
            "wfs_enable_request": wfs_requests if wfs_typename(ds) else "!*",
        },
    }
    lyr.update({k: (_escaped(v) if k == "data" else v) for k, v in data.items()})
    return lyr


def _escaped(text: str) -> str:
    """A value for a double-quoted mapfile string: mappyfile writes strings as they are, and MapServer's
    lexer reads \" as a quote inside one (SQL in DATA quotes identifiers with ")."""
    return text.replace("\\", "\\\\").replace('"', '\\"')



def _symbols() -> list[dict[str, Any]]:
    return [{"__type__": "symbol", "name": n, "type": t, "points": p, "filled": f}
            for n, (t, p, f) in MARKS.items()]


def build_mapfile(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints,
                  view: Any = None, folder: Path | None = None) -> dict[str, Any]:
    from access.views import anonymous_view

    view = view if view is not None else anonymous_view(cfg, layers)
    served = served_layers(cfg, layers, view)
    published = [(s.ds, s.layer) for s in served]
    if not published:
        raise PublishError(f"{cfg.config_path}: no public dataset has been ingested; run 'geoportal ingest' first")
    xs = [b for _, lyr in published for b in (lyr.bbox[0], lyr.bbox[2])]
    ys = [b for _, lyr in published for b in (lyr.bbox[1], lyr.bbox[3])]
    onl = f"{ep.ows}?"
    c = cfg.node.contact
    return {
        "__type__": "map",
        "name": cfg.node.id.replace("-", "_"),
        "status": "on",
        "extent": padded([min(xs), min(ys), max(xs), max(ys)]),
        "size": [800, 600],
        "units": "dd",
        "imagecolor": [255, 255, 255],
        "fontset": str(ws.services / "fonts.txt"),
        "projection": ["init=epsg:4326"],
        "symbols": _symbols(),
        "outputformats": [
            {"__type__": "outputformat", "name": "png", "driver": "AGG/PNG", "mimetype": "image/png",
             "imagemode": "rgba", "extension": "png", "transparent": True},
            {"__type__": "outputformat", "name": "geojson", "driver": "OGR/GEOJSON",
             "mimetype": "application/json; subtype=geojson", "formatoption": [
                 "STORAGE=stream", "FORM=SIMPLE", "USE_FEATUREID=true"]},
            {"__type__": "outputformat", "name": "application/json", "driver": "OGR/GEOJSON",
             "mimetype": "application/json", "formatoption": ["STORAGE=stream", "FORM=SIMPLE"]},
        ],
        "legend": {"__type__": "legend", "keysize": [16, 12],
                   "labels": [{"__type__": "label", "type": "truetype", "font": "sans", "size": 9,
                               "color": [0, 0, 0]}]},
        "web": {
            "__type__": "web",
            "metadata": {
                "ows_title": cfg.node.name.uk,
                "wms_title.eng": cfg.node.name.en,
                "ows_abstract": (cfg.node.description.uk if cfg.node.description else cfg.node.name.uk),
                "ows_onlineresource": onl,
                "ows_srs": WMS_SRS,
                "ows_enable_request": "*",
                "ows_encoding": "UTF-8",
                "ows_keywordlist": f"геопортал,{cfg.node.katotth},{cfg.node.level.value}",
                "ows_contactorganization": c.organisation.uk,
                "ows_contactelectronicmailaddress": c.email,
                "ows_contactperson": c.individual or c.organisation.uk,
                "ows_contactposition": c.position or "pointOfContact",
                "ows_fees": "none",
                "ows_accessconstraints": "none",
                "wms_languages": "ukr,eng",
                "wms_feature_info_mime_type": "application/json",
                "wms_getfeatureinfo_formatlist": "text/html,text/plain,application/vnd.ogc.gml,application/json",
                "wfs_getfeature_formatlist": "geojson,gml3",
                "wfs_namespace_prefix": WFS_PREFIX,
                "wfs_compute_number_matched": "true",
                "wfs_namespace_uri": wfs_namespace_uri(ep),
                "wms_inspire_capabilities": None,
                "ows_updatesequence": max(lyr.loaded_at for _, lyr in published),
            },
        },
        "layers": [_layer(cfg, s.ds, s.layer, ep, ws, folder, s.hidden, s.wms, s.wfs) for s in served],
    }


# pygeoapi/MapServer query the store per request: they read from storage.read_dsn when set (a replica)
SERVES_LIVE = True

def write(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints) -> Path:
    """Write the mapfile of the anonymous view (validated by mappyfile) and the config file that pins it."""
    return write_view(cfg, ws, layers, ep, None, ws.services)


def write_view(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints, view: Any,
               folder: Path) -> Path:
    """The mapfile of ``view`` (None: the anonymous one) and its MapServer config file, in ``folder``."""
    from access.views import anonymous_view

    view = view if view is not None else anonymous_view(cfg, layers)
    m = build_mapfile(cfg, ws, layers, ep, view, folder)
    m["web"]["metadata"] = {k: v for k, v in m["web"]["metadata"].items() if v is not None}
    errors = mappyfile.validate(m, version=8.0)
    if errors:
        raise PublishError(f"generated mapfile for {cfg.node.id} is not valid: {errors[:3]}")
    write_atomic(ws.services / "fonts.txt", f"sans {FONT}\n")
    for s in served_layers(cfg, layers, view):
        write_atomic(gfi_template_path(ws, s.ds, folder), gfi_template(s.ds, layers[s.ds.id], s.hidden))
    path = folder / "node.map"
    write_atomic(path, mappyfile.dumps(m, indent=2))
    write_atomic(folder / "mapserver.conf", (
        "CONFIG\n"
        "  ENV\n"
        f'    MS_MAPFILE "{path}"\n'
        f'    MS_MAP_PATTERN "^{folder}/[a-z0-9_-]+\\.map$"\n'
        f'    MS_ERRORFILE "{ws.root / "mapserver.log"}"\n'
        "  END\n"
        "END\n"))
    return path


def distributions(ds: Dataset, layer: StoredLayer, ep: Endpoints) -> list[Distribution]:
    """A dataset is a WMS layer named by its id, and (vectors) a WFS feature type in the node's namespace."""
    wms, wfs = wms_layer(ds), wfs_typename(ds)  # names from geoportal/links.py, as in the mapfile
    out = [Distribution("wms", ep.ows, "OGC:WMS", wms, "Шар WMS 1.3.0", "WMS 1.3.0 layer", "image/png", "PNG",
                        file_type="PNG")] if wms else []
    if wfs and layer.kind == "vector":
        out.append(Distribution("wfs", ep.ows, "OGC:WFS", wfs, "Тип об’єктів WFS 2.0", "WFS 2.0 feature type",
                                "application/gml+xml", "GML", "download", file_type="GML"))
    return out
