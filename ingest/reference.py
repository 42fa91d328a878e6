"""The reference tables a node links and counts with — the KATOTTH codifier, the KOATUU → KATOTTH cross-walk,
the old councils → hromadas table, population and other tables keyed by a code — read and checked in one
place, for both readers (KATOTTH linking in ``ingest.admin``, the passport in ``passport.tables``).

A wrong reference table does not fail loudly by itself: a shifted column, a code that lost its leading zero
in Excel, a merge-conflict marker committed with the file, a cross-walk whose columns were swapped — each
just links fewer features, silently. So every table is checked when it is read: required columns, code
formats (KATOTTH ``UA`` + 17 digits, KOATUU 10 digits), duplicate keys, stray lines. An error names the file,
the line, what is wrong and what to do (:class:`~geoportal.errors.ConfigError`: the node config names the
file).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import csv
import re
from pathlib import Path

from geoportal.errors import ConfigError

if TYPE_CHECKING:
    from geoportal.config import NodeConfig

KATOTTH = re.compile(r"^UA\d{17}$")
KOATUU = re.compile(r"^\d{10}$")
_CONFLICT = re.compile(r"^(<{7}|={7}|>{7}|\|{7})(\s|$)")
CODIFIER_KEYS = ("l1", "l2", "l3", "l4", "extra", "category", "name")


class Row(dict):  # type: ignore[type-arg]
    """One data row (header name → cell) that remembers its line in the file, for error messages."""

    line: int = 0
    cells: list[str] = []


def _fail(path: Path, line: int | None, problem: str, todo: str) -> ConfigError:
    where = f"{path}, line {line}" if line else str(path)
    return ConfigError(f"{where}: {problem}; {todo}")


def read_rows(path: Path, *, delimiter: str | None = None) -> tuple[list[str], list[Row]]:
    """The header (stripped names) and the non-blank data rows of a CSV (``,`` or ``;``, UTF-8 with or
    without BOM). Refuses merge-conflict markers and rows whose cell count differs from the header's."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _fail(path, None, "file not found", "check the path in the node config") from None
    except UnicodeDecodeError as e:
        raise _fail(path, text_line(path, e.start), "not UTF-8 text",
                    "save the table as CSV UTF-8") from None
    lines = text.splitlines()
    for n, raw in enumerate(lines, 1):
        if _CONFLICT.match(raw):
            raise _fail(path, n, f"a merge-conflict marker ('{raw[:20]}')",
                        "resolve the conflict and keep one version of the rows")
    if not any(x.strip() for x in lines):
        raise _fail(path, None, "the table is empty", "give the file with its header and rows")
    first = next(x for x in lines if x.strip())
    delim = delimiter or (";" if first.count(";") > first.count(",") else ",")
    reader = csv.reader(lines, delimiter=delim)
    header: list[str] | None = None
    rows: list[Row] = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            continue
        line = reader.line_num
        if len(cells) != len(header):
            raise _fail(path, line, f"{len(cells)} cells where the header has {len(header)} — a stray or "
                        "broken line", "fix or remove the line (a ';' or ',' inside a name needs quotes)")
        row = Row(zip(header, cells))
        row.line, row.cells = line, cells
        rows.append(row)
    assert header is not None
    return header, rows


def text_line(path: Path, offset: int) -> int:
    return Path(path).read_bytes()[:offset].count(b"\n") + 1


def _require(path: Path, header: list[str], needed: list[str]) -> None:
    missing = [c for c in needed if c not in header]
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise _fail(path, 1, f"no column {names} (columns: {', '.join(header)})",
                    "use the table's published header")


def _code(path: Path, row: Row, column: str, value: str, kind: str) -> None:
    pattern, form = (KATOTTH, "'UA' and 17 digits") if kind == "katotth" else (KOATUU, "10 digits")
    if not pattern.match(value):
        hint = " (a spreadsheet may have dropped a leading 0: keep the column as text)" \
            if kind == "koatuu" and value.isdigit() and len(value) < 10 else ""
        raise _fail(path, row.line, f"{column} '{value}' is not a {kind.upper()} code ({form}){hint}",
                    "correct the code")


def _unique(path: Path, rows: list[Row], key: str, what: str) -> None:
    seen: dict[str, int] = {}
    for r in rows:
        k = r[key].strip()
        if k in seen:
            raise _fail(path, r.line, f"{what} '{k}' again (first on line {seen[k]})",
                        "keep one row per code")
        seen[k] = r.line


def codifier(path: Path) -> list[Row]:
    """The KATOTTH codifier (``;``, 7 columns: four levels, the additional level, category, name) as rows
    with keys ``l1``…``name``; every code well-formed, every unit once."""
    header, raw = read_rows(path, delimiter=";")
    if len(header) != len(CODIFIER_KEYS):
        raise _fail(path, 1, f"{len(header)} columns, the KATOTTH codifier has {len(CODIFIER_KEYS)} (four "
                    "levels, the additional level, category, name)",
                    "use the codifier as published (CSV, ';')")
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for r in raw:
        row = Row(zip(CODIFIER_KEYS, (c.strip() for c in r.cells)))
        row.line = r.line
        levels = [row[k] for k in CODIFIER_KEYS[:5] if row[k]]
        if not levels:
            raise _fail(path, row.line, "a row without any code", "remove the line or give its codes")
        for k in CODIFIER_KEYS[:5]:
            if row[k]:
                _code(path, row, f"level {CODIFIER_KEYS.index(k) + 1}", row[k], "katotth")
        if not row["category"] or not row["name"]:
            missing = "category" if not row["category"] else "name"
            raise _fail(path, row.line, f"unit {levels[-1]} has no {missing}", "complete the row")
        if levels[-1] in seen:
            raise _fail(path, row.line, f"unit {levels[-1]} again (first on line {seen[levels[-1]]})",
                        "keep one row per unit")
        seen[levels[-1]] = row.line
        rows.append(row)
    if not rows:
        raise _fail(path, None, "the codifier has no units", "give the codifier rows of the node's territory")
    return rows


def crosswalk(path: Path) -> list[tuple[str, str]]:
    """The official KOATUU → KATOTTH cross-walk: (KATOTTH, KOATUU) pairs from its first two columns.

    A KATOTTH code appears once; a KOATUU code may appear more than once (a council and its centre share
    it). A unit without a KOATUU code (created after 2020) is fine; one that maps nothing at all is not."""
    header, rows = read_rows(path)
    if len(header) < 2:
        raise _fail(path, 1, "fewer than two columns", "give the KATOTTH code first, then the KOATUU code")
    pairs: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for r in rows:
        katotth, koatuu = r.cells[0].strip(), r.cells[1].strip()
        if KOATUU.match(katotth) and KATOTTH.match(koatuu):
            raise _fail(path, r.line, "the KOATUU code is in the first column and the KATOTTH code in the "
                        "second", "put the KATOTTH column first, as in the official cross-walk")
        _code(path, r, "the KATOTTH code", katotth, "katotth")
        if katotth in seen:
            raise _fail(path, r.line, f"KATOTTH {katotth} again (first on line {seen[katotth]})",
                        "keep one row per KATOTTH code")
        seen[katotth] = r.line
        if koatuu:
            _code(path, r, "the KOATUU code", koatuu, "koatuu")
            pairs.append((katotth, koatuu))
    if not pairs:
        raise _fail(path, None, "the cross-walk maps no KOATUU code to a KATOTTH code",
                    "give the official cross-walk (KATOTTH code, KOATUU code, …)")
    return pairs


COUNCIL_COLUMNS = ["rada_code", "hromada_code", "rai_center"]


def councils(path: Path) -> list[Row]:
    """The old councils → hromadas table: each council (KOATUU ``rada_code``) once, in one hromada."""
    header, rows = read_rows(path)
    _require(path, header, COUNCIL_COLUMNS)
    for r in rows:
        _code(path, r, "rada_code", r["rada_code"].strip(), "koatuu")
        _code(path, r, "hromada_code", r["hromada_code"].strip(), "katotth")
    _unique(path, rows, "rada_code", "council")
    if not rows:
        raise _fail(path, None, "the councils table maps no council", "give its rows")
    return rows


def keyed_table(path: Path, key: str, key_type: str = "katotth", *, unique: bool = False) -> list[Row]:
    """A table of values per unit (population, a region's own table): the key column present, every
    non-empty key a well-formed code of ``key_type``, each key once when ``unique`` (one row per unit)."""
    header, rows = read_rows(path)
    _require(path, header, [key])
    for r in rows:
        k = r[key].strip()
        if k:
            _code(path, r, key, k, key_type)
    if unique:
        _unique(path, [r for r in rows if r[key].strip()], key, key)
    return rows


def check_node(cfg: "NodeConfig") -> list[str]:
    """Read every reference table a node config names, as linking and the passport will: the first problem
    of each raises ConfigError naming the file and line. Returns what was checked, for the CLI to say."""
    ref = cfg.reference
    checked = []
    if ref.codifier is not None:
        checked.append(f"codifier: {len(codifier(cfg.resolve(ref.codifier)))} units")
    if ref.koatuu_crosswalk is not None:
        checked.append(f"KOATUU cross-walk: {len(crosswalk(cfg.resolve(ref.koatuu_crosswalk)))} pairs")
    if ref.councils is not None:
        checked.append(f"councils: {len(councils(cfg.resolve(ref.councils)))} councils")
    if ref.population is not None:
        rows = keyed_table(cfg.resolve(ref.population), "hromada_code", unique=True)
        checked.append(f"population: {len(rows)} hromadas")
    return checked
