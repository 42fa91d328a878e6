"""Which text encoding a DBF or CSV file uses, and how that was decided.

Ukrainian municipal files come in UTF-8, Windows-1251 (most desktop GIS) or CP866 (old DOS-era
registers). A ``.cpg`` sidecar wins when present. Otherwise the bytes decide: valid UTF-8 is UTF-8; else
the candidate single-byte code page whose decoding yields the most Cyrillic letters (and the fewest
box-drawing or control symbols) wins. The DBF language driver byte is reported but not trusted alone:
many tools write a wrong one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

SAMPLE_BYTES = 1 << 20
CANDIDATES = ("cp1251", "cp866")
# DBF language driver ids (byte 29 of the header) that name a Cyrillic code page
_LDID = {0x26: "cp866", 0x65: "cp866", 0x66: "cp866", 0xC9: "cp1251"}
_CPG_ALIASES = {"1251": "cp1251", "866": "cp866", "utf8": "UTF-8", "utf-8": "UTF-8", "65001": "UTF-8"}


@dataclass(frozen=True)
class EncodingDecision:
    encoding: str
    decided_by: str  # one readable sentence for the report


def _is_cyr_letter(ch: str) -> bool:
    return ("\u0400" <= ch <= "\u04ff") and ch.isalpha()


def _score(text: str) -> float:
    """Higher is more plausible Ukrainian/Russian text: lower-case Cyrillic counts most."""
    score = 0.0
    for ch in text:
        if ord(ch) < 128:
            continue
        if _is_cyr_letter(ch):
            score += 1.0 if ch.islower() else 0.5
        else:
            score -= 1.0
    return score


def decide_bytes(sample: bytes, what: str) -> EncodingDecision:
    """Decide the encoding of a byte sample of text (CSV content or DBF records)."""
    if not any(b >= 0x80 for b in sample):
        return EncodingDecision("UTF-8", f"{what}: ASCII only, read as UTF-8")
    cut = sample
    # the sample may end inside a multi-byte character
    for trim in range(4):
        try:
            (cut[: len(cut) - trim] if trim else cut).decode("utf-8")
            return EncodingDecision("UTF-8", f"{what}: the bytes are valid UTF-8")
        except UnicodeDecodeError as e:
            if e.start < len(cut) - 4:
                break
    scores = {cp: _score(sample.decode(cp, errors="replace")) for cp in CANDIDATES}
    best = max(scores, key=lambda k: scores[k])
    shown = ", ".join(f"{k}={v:.0f}" for k, v in scores.items())
    return EncodingDecision(best, f"{what}: not UTF-8; Cyrillic letter statistics chose {best} ({shown})")


def read_cpg(path: Path) -> str | None:
    cpg = path.with_suffix(".cpg")
    if not cpg.exists():
        cpg = path.with_suffix(".CPG")
    if not cpg.exists():
        return None
    raw = cpg.read_text(encoding="ascii", errors="ignore").strip().lower()
    return _CPG_ALIASES.get(raw.replace("ansi ", "").replace("cp", ""), raw or None)


def decide_dbf(shp: Path) -> EncodingDecision:
    """The encoding of a shapefile's attributes: .cpg, else the bytes of the .dbf records."""
    cpg = read_cpg(shp)
    if cpg:
        return EncodingDecision(cpg, f"{shp.with_suffix('.cpg').name}: declares {cpg}")
    dbf = shp.with_suffix(".dbf")
    with open(dbf, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return EncodingDecision("UTF-8", f"{dbf.name}: no records, read as UTF-8")
        header_len = struct.unpack("<H", head[8:10])[0]
        fh.seek(header_len)
        sample = fh.read(SAMPLE_BYTES)
    ldid = _LDID.get(head[29])
    d = decide_bytes(sample, dbf.name + " (no .cpg)")
    if ldid:
        agree = "agrees" if ldid == d.encoding else f"disagrees; the records decide ({d.encoding})"
        d = EncodingDecision(d.encoding, f"{d.decided_by}; the DBF language byte says {ldid}, which {agree}")
    return d


def decide_text_file(path: Path, declared: str | None = None) -> EncodingDecision:
    """The encoding of a CSV-like text file (a UTF-8 BOM counts as UTF-8)."""
    if declared:
        return EncodingDecision(declared, f"{path.name}: given in the configuration ({declared})")
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if sample.startswith(b"\xef\xbb\xbf"):
        return EncodingDecision("utf-8-sig", f"{path.name}: UTF-8 byte order mark")
    return decide_bytes(sample, path.name)
