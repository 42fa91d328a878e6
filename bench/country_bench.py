"""Benchmark: the country's catalog chain in simulation (catalog/country.py). Not a timed test.

An oblast node harvests 66 hromada catalogs (one pycsw process serving all of them on loopback), then a
national node harvests 24 oblast catalogs — the simulated oblast and 23 copies of it scaled by
``--national-scale`` — each from empty and once more with nothing changed; then the national search
index is rebuilt alone. Prints wall time and records/s of each step, with the load average, and the
figures docs/scale.md uses. The issue's targets for it are descriptive (what breaks first), not ratios.

    .venv/bin/python bench/country_bench.py [--hromadas 66] [--records 30] [--oblasts 24] [--national-scale 1.0]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from catalog.country import Scale, simulate
    from geoportal import serve
    from geoportal.config import load_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hromadas", type=int, default=66)
    ap.add_argument("--records", type=int, default=30, help="ISO records per hromada")
    ap.add_argument("--oblasts", type=int, default=24)
    ap.add_argument("--national-scale", type=float, default=1.0,
                    help="each other oblast's record count as a share of the simulated oblast's")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/geoportal-bench-country"))
    a = ap.parse_args()
    cfg = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
    scale = Scale(a.hromadas, a.records, a.oblasts, a.national_scale)
    rep = simulate(cfg, a.dir, serve.free_port(), scale, progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"\nCountry simulation: {scale.hromadas} hromadas × {scale.records} records → oblast "
          f"({rep.oblast_records:,} records); {scale.oblasts} oblasts → national ({rep.national_records:,} records); "
          f"{os.cpu_count()} cores")
    for s in rep.steps:
        print(f"  {s.name:<32} {s.records:>8,} records {s.seconds:8.1f} s {s.rate:8.0f} records/s   "
              f"load {s.load:4.1f}   {s.note}")
    print(f"  origin of a hromada record kept at the national node: {'yes' if rep.origin_kept else 'NO'}")


if __name__ == "__main__":
    main()
