"""The human title of each field of a stored layer: the original (often Ukrainian) header of the source.

Ingest turns headers into safe column names (``Реєстраційний номер`` → ``reiestratsiinyi_nomer``); wherever a
column name reaches a person — WFS/WMS aliases, QGIS aliases, GeoPackage data columns, OGC API queryables —
the original header is shown instead. Every publisher reads the titles through :func:`field_titles`, the one
place that knows where they are kept (each :class:`~geoportal.model.FieldInfo`'s ``title``).
"""

from __future__ import annotations

from geoportal.model import StoredLayer
from geoportal.ukrainian import clean_name


def field_titles(layer: StoredLayer) -> dict[str, str]:
    """``{column: title}`` for every field of the layer; a field without a recorded title is its own title.

    Whitespace in a title is collapsed (headers copied from spreadsheets carry line breaks and doubled
    spaces) and its apostrophes made the one Ukrainian apostrophe (’)."""
    return {f.name: clean_name(f.label) or f.name for f in layer.fields}
