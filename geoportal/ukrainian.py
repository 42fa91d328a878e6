"""Ukrainian text as a reader expects it: plural forms of counted nouns, one apostrophe, tidy names.

Every page and document the node generates counts things (``1 об’єкт``, ``2 об’єкти``, ``5 об’єктів``) and
names places read from spreadsheets; these functions are the one place for those rules.
"""

from __future__ import annotations

import re

#: the Ukrainian apostrophe (U+2019), the one used in all generated text
APOSTROPHE = "\u2019"
_APOSTROPHES = re.compile(r"(?<=\w)['\u02bc\u02b9\u0060\u00b4\u2018](?=\w)")


def plural_form(n: int, one: str, few: str, many: str) -> str:
    """The noun form that goes with ``n``: 1, 21, 101 → one; 2–4, 22–24 → few; 0, 5–20, 25–30, 111 → many."""
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def counted(n: int, one: str, few: str, many: str) -> str:
    """``n`` with its noun, thousands grouped by a thin space: ``counted(12345, *OBJECTS)`` → ``12 345 об’єктів``."""
    return f"{int(n):,}".replace(",", "\u202f") + " " + plural_form(n, one, few, many)


OBJECTS = ("об’єкт", "об’єкти", "об’єктів")
HROMADAS = ("громада", "громади", "громад")
HROMADAS_OF = ("громади", "громад", "громад")  # "3 з 6 громад", "1 з 21 громади": genitive after "з"
DATASETS = ("набір даних", "набори даних", "наборів даних")
SETTLEMENTS = ("населений пункт", "населені пункти", "населених пунктів")


def apostrophes(text: str) -> str:
    """Every apostrophe inside a word made U+2019 (’): sources mix ', ʼ, ` and ‘."""
    return _APOSTROPHES.sub(APOSTROPHE, text)


def clean_name(text: str | None) -> str:
    """A name as read from a table, tidied: whitespace collapsed and trimmed, apostrophes made one."""
    return apostrophes(" ".join((text or "").split()))


#: units written as a counted noun, with their three forms (a unit like "км²" or "од." does not change)
UNIT_FORMS = {"осіб": ("особа", "особи", "осіб"), "особа": ("особа", "особи", "осіб")}


def unit_after(value: float | None, unit: str) -> str:
    """The unit in the form that agrees with the number before it: ``1 особа``, ``3 особи``, ``5 осіб``; a
    fraction takes the genitive singular (``2,5 особи``), which is the "few" form of these nouns."""
    forms = UNIT_FORMS.get(unit)
    if forms is None or value is None:
        return unit
    if float(value).is_integer():
        return plural_form(int(value), *forms)
    return forms[1]
