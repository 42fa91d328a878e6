"""QGIS styles (QML) from the SLD source of truth, and their home in a GeoPackage.

QGIS opens a GeoPackage already styled when the file has a ``layer_styles`` table with a default style for
the layer: the same convention QGIS itself writes ("Save as default" → in database). The QML is written
for QGIS 3.22 (Debian 12) and later: a single-symbol renderer for a one-rule style, a rule-based renderer
for classified styles, and simple labeling for a TextSymbolizer.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from xml.sax.saxutils import quoteattr

from publishers.styles import Rule, Style, Symbolizer, geometry_kind

PX_TO_MM = 0.2645833  # QGIS sizes are in millimetres; SLD sizes in pixels at 96 dpi


def _rgba(hex_: str | None, alpha: float = 1.0) -> str:
    if not hex_:
        return "0,0,0,0"
    h = hex_.lstrip("#")
    r, g, b = int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    return f"{r},{g},{b},{int(round(alpha * 255))}"


def _opts(**kw: str) -> str:
    return "".join(f'<Option name="{k}" type="QString" value={quoteattr(v)}/>' for k, v in kw.items())


def _symbol_layer(sym: Symbolizer) -> tuple[str, str]:
    """(QGIS symbol type, <layer> element) for one SLD symbolizer."""
    if sym.kind == "polygon":
        opts = _opts(color=_rgba(sym.fill, sym.fill_opacity), style="solid" if sym.fill else "no",
                     outline_color=_rgba(sym.stroke), outline_style="solid" if sym.stroke else "no",
                     outline_width=f"{sym.stroke_width * PX_TO_MM:.3f}", outline_width_unit="MM")
        return "fill", f'<layer class="SimpleFill" enabled="1" pass="0" locked="0"><Option type="Map">{opts}</Option></layer>'
    if sym.kind == "line":
        opts = _opts(line_color=_rgba(sym.stroke), line_width=f"{sym.stroke_width * PX_TO_MM:.3f}",
                     line_width_unit="MM", line_style="solid")
        return "line", f'<layer class="SimpleLine" enabled="1" pass="0" locked="0"><Option type="Map">{opts}</Option></layer>'
    opts = _opts(name=sym.mark, color=_rgba(sym.fill), outline_color=_rgba(sym.stroke),
                 outline_width=f"{sym.stroke_width * PX_TO_MM:.3f}", outline_width_unit="MM",
                 size=f"{sym.size * PX_TO_MM:.3f}", size_unit="MM")
    return "marker", f'<layer class="SimpleMarker" enabled="1" pass="0" locked="0"><Option type="Map">{opts}</Option></layer>'


def _symbol(name: str, rule: Rule, kind: str) -> str:
    layers = [_symbol_layer(s) for s in rule.symbolizers if s.kind != "text"]
    stype = layers[0][0] if layers else {"polygon": "fill", "line": "line", "point": "marker"}[kind]
    body = "".join(layer for _, layer in layers)
    return f'<symbol type="{stype}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">{body}</symbol>'


def _filter(rule: Rule) -> str:
    if rule.is_else:
        return "ELSE"
    if rule.filter_field is None:
        return ""
    value = (rule.filter_value or "").replace("'", "''")
    return f"\"{rule.filter_field}\" = '{value}'"


def _aliases(titles: dict[str, str] | None) -> str:
    """QGIS field aliases: the original header of each column (QGIS matches them by field name)."""
    if not titles:
        return ""
    items = "".join(f"<alias field={quoteattr(name)} index=\"{i}\" name={quoteattr(title)}/>"
                    for i, (name, title) in enumerate(titles.items()) if title and title != name)
    return f"<aliases>{items}</aliases>" if items else ""


def style_to_qml(style: Style, geometry_type: str, titles: dict[str, str] | None = None) -> str:
    """QML text for a parsed SLD style; ``titles`` (column → original header) become the field aliases, so
    QGIS shows ``Реєстраційний номер`` where the column is ``reiestratsiinyi_nomer``."""
    kind = geometry_kind(geometry_type)
    rules = [r for r in style.rules if any(s.kind != "text" for s in r.symbolizers)]
    if len(rules) == 1 and rules[0].filter_field is None and not rules[0].is_else:
        renderer = (f'<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
                    f'<symbols>{_symbol("0", rules[0], kind)}</symbols></renderer-v2>')
    else:
        items = "".join(
            f'<rule key="r{i}" symbol="{i}" label={quoteattr(r.title or r.name)} filter={quoteattr(_filter(r))}/>'
            for i, r in enumerate(rules))
        symbols = "".join(_symbol(str(i), r, kind) for i, r in enumerate(rules))
        renderer = (f'<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">'
                    f'<rules key="root">{items}</rules><symbols>{symbols}</symbols></renderer-v2>')
    text = next((s for r in style.rules for s in r.symbolizers if s.kind == "text"), None)
    labeling = ""
    if text is not None:
        labeling = (f'<labeling type="simple"><settings calloutType="simple">'
                    f'<text-style fieldName={quoteattr(text.label_field or "")} isExpression="0" '
                    f'fontSize="{text.font_size:g}" fontSizeUnit="Point" textColor="{_rgba(text.fill or "#000000")}" '
                    f'fontFamily="DejaVu Sans" textOpacity="1"><text-buffer bufferDraw="1" bufferSize="0.8" '
                    f'bufferColor="255,255,255,255" bufferSizeUnits="MM"/></text-style>'
                    f'<placement placement="0"/><rendering obstacle="1"/></settings></labeling>')
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="3.22.16" styleCategories="Fields|Symbology|Labeling" '
            f'labelsEnabled="{int(bool(labeling))}">{renderer}{labeling}{_aliases(titles)}</qgis>\n')


def write_layer_style(gpkg: Path, table: str, geometry_column: str, style: Style, geometry_type: str,
                      titles: dict[str, str] | None = None) -> None:
    """Store the style (with the field aliases from ``titles``) as the layer's default in the GeoPackage's
    ``layer_styles`` table."""
    qml = style_to_qml(style, geometry_type, titles)
    sld = style.path.read_text(encoding="utf-8")
    with sqlite3.connect(gpkg) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
            "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
            "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
            "update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))")
        db.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier) "
                   "VALUES ('layer_styles', 'attributes', 'layer_styles')")
        db.execute("DELETE FROM layer_styles WHERE f_table_name = ?", (table,))
        db.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                   "styleName, styleQML, styleSLD, useAsDefault, description, owner) "
                   "VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, 'geoportal-network')",
                   (table, geometry_column, style.name, qml, sld, style.title))
