"""CSV and XLSX tables whose rows carry coordinates: lon/lat (also «довгота»/«широта», in decimal
degrees or degrees-minutes-seconds), X/Y (projected; the axis order is decided with the CRS), or WKT.

Rows are streamed in batches; a row whose coordinates cannot be read keeps its attributes and gets a
reason, so the pipeline rejects it visibly. A CSV whose quoting is broken is refused as a whole: past a
broken quote the columns no longer mean what the header says.
"""

from __future__ import annotations

import csv
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa
import shapely

from geoportal.errors import IngestError
from ingest.encoding import EncodingDecision, decide_text_file
from ingest.readers.base import REASON, WKB, ReadOptions, Source
from ingest.readers.coords import parse_angle, parse_number

LON = {"lon", "lng", "long", "longitude", "довгота", "долгота", "lon_dd", "x_lon"}
LAT = {"lat", "latitude", "широта", "lat_dd", "y_lat"}
XS = {"x", "х", "east", "easting"}  # the second one is Cyrillic
YS = {"y", "у", "north", "northing"}
WKTS = {"wkt", "geometry", "geom", "the_geom", "геометрія", "shape"}


def _key(h: str) -> str:
    return h.strip().strip("\ufeff").lower()


def find_columns(header: list[str], path: Path) -> tuple[str, int, int]:
    """('lonlat'|'xy'|'wkt', index a, index b) of the coordinate columns."""
    keys = [_key(h) for h in header]

    def pick(names: set[str]) -> int | None:
        hits = [i for i, k in enumerate(keys) if k in names]
        return hits[0] if hits else None

    lon, lat = pick(LON), pick(LAT)
    if lon is not None and lat is not None:
        return "lonlat", lon, lat
    x, y = pick(XS), pick(YS)
    if x is not None and y is not None:
        return "xy", x, y
    w = pick(WKTS)
    if w is not None:
        return "wkt", w, w
    raise IngestError(f"{path}: no coordinate columns; name them lon/lat (довгота/широта), X/Y or WKT "
                      f"(columns found: {', '.join(header)})")


def _sniff(sample: str, path: Path) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        counts = {d: first.count(d) for d in ";,\t|"}
        best = max(counts, key=lambda d: counts[d])
        if counts[best] == 0:
            raise IngestError(f"{path}: cannot tell the column separator (; , tab or |)") from None
        return best


def _csv_rows(path: Path, encoding: str) -> Iterator[tuple[int, list[str]]]:
    with open(path, encoding=encoding, newline="", errors="strict") as fh:
        sample = fh.read(64 << 10)
        fh.seek(0)
        reader = csv.reader(fh, delimiter=_sniff(sample, path), strict=True)
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as e:
            raise IngestError(f"{path}: broken CSV quoting near line {reader.line_num} ({e}); fix the quotes "
                              "(a quote inside a cell is written twice) and load again") from e
        except UnicodeDecodeError as e:
            raise IngestError(f"{path}: not {encoding} text at byte {e.start} ({e.reason}); give the "
                              "encoding in the dataset config ('encoding')") from e


def _xlsx_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, list[object]]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:
        raise IngestError(f"{path}: not a readable XLSX workbook ({e})") from e
    try:
        ws = wb[sheet] if sheet else wb.worksheets[0]
        for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield n, list(row)
    except KeyError:
        raise IngestError(f"{path}: no sheet '{sheet}' (sheets: {', '.join(wb.sheetnames)})") from None
    finally:
        wb.close()


def _text(v: object) -> str | None:
    if v is None:
        return None
    s = str(v) if not isinstance(v, float) or not v.is_integer() else str(int(v))
    return s if s.strip() != "" else None


def _batch(rows: list[list[object]], lines: list[int], header: list[str], kind: str, ia: int, ib: int,
           schema: pa.Schema) -> pa.RecordBatch:
    n = len(rows)
    a = np.full(n, np.nan)
    b = np.full(n, np.nan)
    wkt: list[str | None] = [None] * n
    reasons: list[str | None] = [None] * n
    parse = parse_angle if kind == "lonlat" else parse_number
    for r, row in enumerate(rows):
        if kind == "wkt":
            wkt[r] = _text(row[ia])
            continue
        va, vb = parse(row[ia]), parse(row[ib])
        if va is None or vb is None:
            reasons[r] = (f"line {lines[r]}: coordinates not readable "
                          f"({header[ia]}={row[ia]!r}, {header[ib]}={row[ib]!r})")
        else:
            a[r], b[r] = va, vb
    if kind == "wkt":
        geoms = shapely.from_wkt(np.array(wkt, dtype=object), on_invalid="ignore")
        for r in np.flatnonzero(shapely.is_missing(geoms)):
            reasons[r] = f"line {lines[r]}: geometry not readable as WKT ({str(wkt[r])[:40]!r})"
    elif kind == "lonlat":
        geoms = shapely.points(a, b)  # lon first: the x axis
    else:
        geoms = shapely.points(a, b)
    geoms[np.array([x is not None for x in reasons], dtype=bool)] = None
    cols = [pa.array([_text(row[i]) for row in rows], pa.string()) for i in range(len(header))]
    cols += [pa.array(shapely.to_wkb(geoms), pa.binary()), pa.array(reasons, pa.string())]
    return pa.record_batch(cols, schema=schema)


@contextmanager
def open_table(path: Path, opts: ReadOptions) -> Iterator[Source]:
    if path.suffix.lower() == ".xlsx":
        enc = EncodingDecision("UTF-8", "XLSX stores text as Unicode")
        rows: Iterable[tuple[int, list[object]]] = _xlsx_rows(path, opts.layer)
        driver = "XLSX"
    else:
        enc = decide_text_file(path, opts.encoding)
        rows = _csv_rows(path, enc.encoding)
        driver = "CSV"
    it = iter(rows)
    try:
        _, first = next(it)
    except StopIteration:
        raise IngestError(f"{path}: the table is empty (no header row)") from None
    header = [str(h).strip().strip("\ufeff") if h is not None else f"column_{i + 1}" for i, h in enumerate(first)]
    kind, ia, ib = find_columns(header, path)
    attrs = [h for i, h in enumerate(header) if kind != "wkt" or i != ia]
    schema = pa.schema([pa.field(h, pa.string()) for h in header] + [pa.field(WKB, pa.binary()),
                                                                     pa.field(REASON, pa.string())])
    if kind == "wkt":
        schema = schema.remove(ia)

    def batches() -> Iterator[pa.RecordBatch]:
        buf: list[list[object]] = []
        lines: list[int] = []
        for line, row in it:
            if not any(v not in (None, "") for v in row):
                continue  # blank line
            if len(row) != len(header):
                if driver == "XLSX" and len(row) > len(header) and all(v is None for v in row[len(header):]):
                    row = row[: len(header)]
                else:
                    raise IngestError(f"{path}: line {line} has {len(row)} columns, the header has {len(header)}; "
                                      "the quoting or the separators are broken there — fix and load again")
            buf.append(row)
            lines.append(line)
            if len(buf) >= opts.batch_size:
                yield _out(buf, lines)
                buf, lines = [], []
        if buf:
            yield _out(buf, lines)

    def _out(buf: list[list[object]], lines: list[int]) -> pa.RecordBatch:
        b = _batch(buf, lines, header, kind, ia, ib, pa.schema(
            [pa.field(h, pa.string()) for h in header] + [pa.field(WKB, pa.binary()), pa.field(REASON, pa.string())]))
        return b.drop_columns([header[ia]]) if kind == "wkt" else b

    if kind == "lonlat":
        crs, how = "EPSG:4326", f"lon/lat columns «{header[ia]}»/«{header[ib]}»: WGS 84 by convention"
    else:
        crs, how = None, "not declared (a table)"
    yield Source(path=path, opened=path, driver=driver, crs=crs, crs_decided_by=how, encoding=enc,
                 geometry_type="Point" if kind != "wkt" else "Unknown", fields=attrs, schema=schema,
                 batches=batches(), axis_xy_from_columns=(kind == "xy"),
                 notes={"coordinate_columns": [header[ia], header[ib]] if kind != "wkt" else [header[ia]]})
