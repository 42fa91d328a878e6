"""Text normalisation for Ukrainian data: NFC, Latin look-alike letters, ASCII field names.

Municipal files mix Cyrillic with Latin letters that look the same ("Овpуцькa" with Latin p and a), which
breaks search and joins. Inside a word that is mostly Cyrillic, such letters are replaced by their
Cyrillic twins; the number of repairs is reported, never hidden.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
import unicodedata

_LATIN_TO_CYR = str.maketrans({
    "a": "а", "c": "с", "e": "е", "i": "і", "o": "о", "p": "р", "x": "х", "y": "у",
    "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "I": "І", "K": "К", "M": "М",
    "O": "О", "P": "Р", "T": "Т", "X": "Х",
})
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _is_cyr(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _fix_word(m: re.Match[str]) -> str:
    w = m.group(0)
    cyr = sum(_is_cyr(c) for c in w)
    if cyr == 0 or cyr == len(w):
        return w
    fixed = w.translate(_LATIN_TO_CYR)
    # only accept when the whole word becomes Cyrillic: a mixed word with other Latin letters
    # (a transliteration, a code) is left as it is
    return fixed if all(_is_cyr(c) for c in fixed) else w


def normalise_text(value: str) -> tuple[str, bool]:
    """Return the NFC text with look-alike letters repaired, and whether anything changed."""
    nfc = unicodedata.normalize("NFC", value)
    fixed = _WORD.sub(_fix_word, nfc)
    return fixed, fixed != value


# KMU resolution No. 55 of 27.01.2010 (the official Ukrainian transliteration), word-initial forms
# simplified: field names only need to be stable, readable and ASCII.
_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh",
    "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "ъ": "", "ы": "y", "э": "e",
    "ё": "io", "'": "", "’": "", "ʼ": "",
}


def field_name(header: str) -> str:
    """A safe column name (ASCII snake_case, valid in SQL, GML and MapServer) for a source header.

    «Унормована назва» → ``unormovana_nazva``; «X» → ``x``. The original header is kept as the field's
    title, so nothing a user reads is lost.
    """
    s = unicodedata.normalize("NFC", header).strip().lower()
    s = "".join(_TRANSLIT.get(c, c) for c in s)
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")
    if not s:
        s = "field"
    if s[0].isdigit():
        s = "f_" + s
    if s in {"fid", "geom", "id"}:
        s = s + "_src"
    return s[:63]


_MIXED = r"\p{Cyrillic}[A-Za-z]|[A-Za-z]\p{Cyrillic}"


def normalise_column(arr: "pa.Array") -> tuple["pa.Array", int]:
    """NFC and look-alike repair over an Arrow string column; Python touches only suspect values.

    Returns the new column and how many values changed.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(arr) == 0 or arr.null_count == len(arr):
        return arr, 0
    nfc = pc.utf8_normalize(arr, form="NFC")
    suspect = pc.fill_null(pc.match_substring_regex(nfc, _MIXED), False)
    if pc.any(suspect).as_py():  # only the suspect values become Python strings, not the whole column
        fixed = [normalise_text(v)[0] for v in nfc.filter(suspect).to_pylist()]
        nfc = pc.replace_with_mask(nfc, suspect, pa.array(fixed, nfc.type))
    changed = pc.fill_null(pc.not_equal(nfc, arr), False)
    return nfc, int(pc.sum(changed).as_py() or 0)


def transliterate(text: str) -> str:
    """Ukrainian → Latin by the official KMU 2010 table, keeping capitals (for English names of places)."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        low = ch.lower()
        if low in _TRANSLIT:
            t = _TRANSLIT[low]
            out.append(t.capitalize() if ch != low else t)
        else:
            out.append(ch)
    return "".join(out)
