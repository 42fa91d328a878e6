"""Where passports are kept: ``passports.gpkg`` of the node's workspace — the layer ``hromada-passports``
(the latest computation; feature id = KATOTTH code in column ``katotth``, served as the OGC API collection)
and the attribute table ``passport_history`` with one row per computation × hromada × indicator: value, unit,
source dataset or table, its version and load date, and when it was computed. Nothing is ever deleted from
the history, so any indicator can be followed over time (``geoportal passport --history KATOTTH:INDICATOR``).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import shapely

from passport.compute import Result
from passport.config import PassportConfig

LAYER = "hromada-passports"
HISTORY_COLUMNS = ("computed_at", "signature", "engine", "katotth", "indicator", "value", "unit", "source",
                   "source_version", "source_loaded_at")


def write_passports(path: Path, res: Result, pcfg: PassportConfig) -> None:
    """The passports as a GeoPackage layer (the latest computation), with every computation so far in
    ``passport_history``: the file is written aside with the earlier history carried over, then swapped in."""
    previous: list[tuple[Any, ...]] = []
    if path.exists():
        with sqlite3.connect(path) as db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'passport_history'").fetchone():
                previous = db.execute(f"SELECT {', '.join(HISTORY_COLUMNS)} FROM passport_history").fetchall()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".passports.", suffix=".gpkg")
    os.close(fd)
    os.unlink(tmp)
    try:
        _write_layer(tmp, res, pcfg)
        rows = previous + [(res.computed_at, res.signature, res.engine, h.katotth, ind.id, v.value, ind.unit.uk,
                            v.source, v.version, v.loaded_at)
                           for ind in pcfg.indicators for h in res.hromadas for v in [res.values[ind.id][h.katotth]]]
        cols = ", ".join(f"{c} REAL" if c == "value" else f"{c} TEXT" for c in HISTORY_COLUMNS)
        with sqlite3.connect(tmp) as db:
            db.execute(f"CREATE TABLE passport_history ({cols})")
            db.executemany(f"INSERT INTO passport_history VALUES ({', '.join('?' for _ in HISTORY_COLUMNS)})", rows)
            db.execute("CREATE INDEX passport_history_key ON passport_history (katotth, indicator)")
            db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES "
                       "('passport_history', 'attributes', 'passport_history', 'every computation of every indicator')")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_layer(tmp: str, res: Result, pcfg: PassportConfig) -> None:
    hs = res.hromadas
    geoms = [None if h.geometry is None else shapely.to_wkb(shapely.multipolygons([h.geometry])
                                                              if h.geometry.geom_type == "Polygon" else h.geometry)
             for h in hs]
    fields = ["katotth", "name_uk", "name_en", "raion", "computed_at"] + [i.id for i in pcfg.indicators]
    data = [np.array([h.katotth for h in hs], dtype=object), np.array([h.name_uk for h in hs], dtype=object),
            np.array([h.name_en for h in hs], dtype=object), np.array([h.raion_uk for h in hs], dtype=object),
            np.array([res.computed_at] * len(hs), dtype=object)]
    for ind in pcfg.indicators:
        vals = [res.values[ind.id][h.katotth].value for h in hs]
        data.append(np.array([np.nan if v is None else round(v, ind.decimals) for v in vals], dtype=float))
    pyogrio.raw.write(tmp, np.array(geoms, dtype=object), field_data=data, fields=fields, layer=LAYER, driver="GPKG",
                      geometry_type="MultiPolygon", crs="EPSG:4326", encoding="UTF-8",
                      dataset_options={"VERSION": "1.3"}, layer_options={"SPATIAL_INDEX": "YES", "FID": "fid",
                                                                         "GEOMETRY_NAME": "geom"})


def history(gpkg: Path, katotth: str | None = None, indicator: str | None = None) -> list[dict[str, Any]]:
    """Every kept value, oldest first (for following an indicator over time)."""
    if not gpkg.exists():
        return []
    q = f"SELECT {', '.join(HISTORY_COLUMNS)} FROM passport_history WHERE (? IS NULL OR katotth = ?) " \
        "AND (? IS NULL OR indicator = ?) ORDER BY computed_at"
    with sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True) as db:
        return [dict(zip(HISTORY_COLUMNS, r)) for r in db.execute(q, (katotth, katotth, indicator, indicator))]
