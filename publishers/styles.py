"""Styles: one SLD 1.0 file per style in ``styles/`` is the source of truth.

The SLD is parsed once into a small neutral model (:class:`Style` → :class:`Rule`), which the MapServer
publisher turns into CLASSes and the QGIS publisher into QML. Only what the node's styles use is read:
Polygon/Line/Point/Text symbolizers, ``PropertyIsEqualTo`` filters and ``ElseFilter``; anything else in
a style is refused with the file and element named, so a style never renders differently than written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lxml import etree

from geoportal.errors import PublishError

STYLES_DIR = Path(__file__).resolve().parent.parent / "styles"
NS = {"sld": "http://www.opengis.net/sld", "ogc": "http://www.opengis.net/ogc",
      "se": "http://www.opengis.net/se"}
DEFAULTS = {"polygon": "default-polygon", "line": "default-line", "point": "default-point"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass(frozen=True)
class Symbolizer:
    kind: str  # "polygon" | "line" | "point" | "text"
    fill: str | None = None
    fill_opacity: float = 1.0
    stroke: str | None = None
    stroke_width: float = 1.0
    mark: str = "circle"
    size: float = 6.0
    label_field: str | None = None
    font_size: float = 10.0


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    filter_field: str | None = None
    filter_value: str | None = None
    is_else: bool = False
    symbolizers: tuple[Symbolizer, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Style:
    name: str
    title: str
    rules: tuple[Rule, ...]
    path: Path


def geometry_kind(geometry_type: str) -> str:
    g = geometry_type.lower()
    if "polygon" in g:
        return "polygon"
    if "line" in g:
        return "line"
    return "point"


def style_name_for(style: str | None, geometry_type: str) -> str:
    return style or DEFAULTS[geometry_kind(geometry_type)]


def _css(el: etree._Element | None, name: str) -> str | None:
    if el is None:
        return None
    for p in el.findall("sld:CssParameter", NS) + el.findall("sld:SvgParameter", NS):
        if p.get("name") == name:
            return (p.text or "").strip()
    return None


def _symbolizer(el: etree._Element, path: Path) -> Symbolizer:
    tag = etree.QName(el).localname
    if tag == "PolygonSymbolizer":
        fill, stroke = el.find("sld:Fill", NS), el.find("sld:Stroke", NS)
        return Symbolizer("polygon", fill=_css(fill, "fill"), fill_opacity=float(_css(fill, "fill-opacity") or 1),
                          stroke=_css(stroke, "stroke"), stroke_width=float(_css(stroke, "stroke-width") or 1))
    if tag == "LineSymbolizer":
        stroke = el.find("sld:Stroke", NS)
        return Symbolizer("line", stroke=_css(stroke, "stroke") or "#000000",
                          stroke_width=float(_css(stroke, "stroke-width") or 1))
    if tag == "PointSymbolizer":
        mark = el.find("sld:Graphic/sld:Mark", NS)
        size = el.findtext("sld:Graphic/sld:Size", default="6", namespaces=NS)
        if mark is None:
            raise PublishError(f"{path}: PointSymbolizer without a Mark (external graphics are not supported)")
        fill, stroke = mark.find("sld:Fill", NS), mark.find("sld:Stroke", NS)
        return Symbolizer("point", fill=_css(fill, "fill"), stroke=_css(stroke, "stroke"),
                          stroke_width=float(_css(stroke, "stroke-width") or 1),
                          mark=mark.findtext("sld:WellKnownName", default="circle", namespaces=NS).strip(),
                          size=float(size))
    if tag == "TextSymbolizer":
        prop = el.findtext("sld:Label/ogc:PropertyName", namespaces=NS)
        if not prop:
            raise PublishError(f"{path}: TextSymbolizer needs <Label><ogc:PropertyName>")
        return Symbolizer("text", label_field=prop.strip(), fill=_css(el.find("sld:Fill", NS), "fill"),
                          font_size=float(_css(el.find("sld:Font", NS), "font-size") or 10))
    raise PublishError(f"{path}: {tag} is not supported; use Polygon/Line/Point/TextSymbolizer")


@lru_cache(maxsize=64)
def _load(path: Path, mtime: float) -> Style:
    try:
        root = etree.parse(str(path), _PARSER).getroot()
    except etree.XMLSyntaxError as e:
        raise PublishError(f"{path}: not valid XML: {e}") from e
    us = root.find(".//sld:UserStyle", NS)
    if us is None:
        raise PublishError(f"{path}: no <UserStyle> in the SLD")
    rules = []
    for r in us.findall(".//sld:Rule", NS):
        flt = r.find("ogc:Filter", NS)
        field_, value = None, None
        if flt is not None:
            eq = flt.find("ogc:PropertyIsEqualTo", NS)
            if eq is None or len(flt) != 1:
                raise PublishError(f"{path}: rule '{r.findtext('sld:Name', namespaces=NS)}': only "
                                   "PropertyIsEqualTo filters are supported")
            field_ = eq.findtext("ogc:PropertyName", namespaces=NS).strip()
            value = (eq.findtext("ogc:Literal", namespaces=NS) or "").strip()
        syms = tuple(_symbolizer(el, path) for el in r if etree.QName(el).localname.endswith("Symbolizer"))
        rules.append(Rule(
            name=(r.findtext("sld:Name", namespaces=NS) or f"rule{len(rules)}").strip(),
            title=(r.findtext("sld:Title", namespaces=NS) or "").strip(),
            filter_field=field_, filter_value=value,
            is_else=r.find("sld:ElseFilter", NS) is not None, symbolizers=syms,
        ))
    if not rules:
        raise PublishError(f"{path}: the style has no <Rule>")
    return Style(name=path.stem, title=(us.findtext("sld:Title", namespaces=NS) or path.stem).strip(),
                 rules=tuple(rules), path=path)


def load_style(name: str, styles_dir: Path = STYLES_DIR) -> Style:
    """The parsed style ``styles/<name>.sld``; a missing or unsupported style is a PublishError."""
    path = styles_dir / f"{name}.sld"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in styles_dir.glob("*.sld")))
        raise PublishError(f"style '{name}': no file {path} (styles available: {known})")
    return _load(path, path.stat().st_mtime)
