"""The register as a GeoPackage layer ``decisions`` (one feature per decision, flat columns people filter
on), so a publisher can serve it as the OGC API collection ``decisions`` like any stored layer. Written aside
with pyogrio (GeoPackage 1.3, which GDAL 3.6 reads without warnings) and swapped in."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely

from decisions.errors import DecisionError
from decisions.model import Decision
from decisions.service import agreement_state

FIELDS = ("id", "title_uk", "title_en", "summary_uk", "summary_en", "kind", "issuer", "status",
          "consultation_until", "agreement_deadline", "comments_visible", "parties_agreed", "parties_objected",
          "milestones_overdue", "adopted_text_sha256", "created_at", "updated_at")


def export_gpkg(decisions: list[Decision], path: Path, *, layer: str = "decisions", as_of: str | None = None) -> Path:
    if not decisions:
        raise DecisionError("the register is empty: nothing to export")
    geoms = np.array([None if d.geometry is None else shapely.to_wkb(shapely.from_wkt(d.geometry))
                      for d in decisions], dtype=object)
    today = as_of or decisions[0].updated_at[:10]
    rows = []
    for d in decisions:
        st = agreement_state(d)
        rows.append([d.id, d.title.uk, d.title.en, d.summary.uk, d.summary.en, d.kind, d.issuer, d.status,
                     d.consultation_until, d.agreement_deadline, len(d.visible_comments()),
                     sum(v == "agree" for v in st.values()), sum(v == "object" for v in st.values()),
                     sum(1 for m in d.milestones if m.done_at is None and m.due < today),
                     next((x.sha256 for x in d.documents if x.role == "adopted-text"), None), d.created_at,
                     d.updated_at])
    data = [np.array([r[i] for r in rows], dtype=object if not isinstance(rows[0][i], int) else np.int64)
            for i in range(len(FIELDS))]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".gpkg")
    os.close(fd)
    os.unlink(tmp)
    try:
        pyogrio.raw.write(tmp, geoms, field_data=data, fields=list(FIELDS), layer=layer, driver="GPKG",
                          geometry_type="Unknown", crs="EPSG:4326", encoding="UTF-8",
                          dataset_options={"VERSION": "1.3"}, layer_options={"FID": "fid", "GEOMETRY_NAME": "geom"})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
