"""Rejected features do not pile up in memory during a load: they are spooled to disk and read back,
all of them, in order, when the store writes the ``__rejected`` layer."""

from __future__ import annotations

import gc

import numpy as np
import pyarrow as pa
import pyogrio
import shapely

from ingest.pipeline import Plan, Run, _outputs, decide_crs
from ingest.readers import ReadOptions, open_source
from ingest.readers.base import WKB
from ingest.store import GEOM

N, GOOD_EVERY = 40_000, 1000


def _mostly_unreadable(path):
    """A shapefile where all but one feature in GOOD_EVERY has no geometry, each with a long name."""
    xy = shapely.points(np.full(N, 28.5), np.full(N, 50.2))
    wkb = np.array([w if i % GOOD_EVERY == 0 else None for i, w in enumerate(shapely.to_wkb(xy))], dtype=object)
    names = np.array([f"{i:06d} " + "ж" * 200 for i in range(N)], dtype=object)
    pyogrio.raw.write(path, wkb, field_data=[names], fields=["nazva"], geometry_type="Point", crs="EPSG:4326",
                      driver="ESRI Shapefile", encoding="UTF-8")


def test_rejected_features_are_not_held_in_memory(tmp_path):
    path = tmp_path / "mostly_bad.shp"
    _mostly_unreadable(path)
    with open_source(path, ReadOptions(batch_size=4000)) as src:
        batches = iter(src.batches)
        first = next(batches)
        plan = Plan()
        wkb = first.column(WKB).to_numpy(zero_copy_only=False)
        sample = shapely.from_wkb(wkb[[w is not None for w in wkb]])
        names, out_schema, rej_schema = _outputs(src, plan)
        run = Run(src, plan, decide_crs(src, sample, plan, str(path)), "Point", names, out_schema, rej_schema)
        gc.collect()
        before = pa.total_allocated_bytes()
        written = sum(b.num_rows for b in run.stream([first], batches))
        gc.collect()
        held = pa.total_allocated_bytes() - before
    # ~39,960 rejected names of ~400 bytes each: ~16 MB if kept in memory
    assert written == N // GOOD_EVERY
    assert held < 2_000_000, f"{held} bytes of Arrow memory held after the stream"
    rows = [r for b in run.rejected for r in b.to_pylist()]
    assert len(rows) == N - N // GOOD_EVERY
    assert [int(r["nazva"][:6]) for r in rows] == [i for i in range(N) if i % GOOD_EVERY]
    assert {r["reject_reason"] for r in rows} == {"no geometry"} and all(r[GEOM] is None for r in rows)
    run.rejected.close()
