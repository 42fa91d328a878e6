"""Text → index terms, the same way for documents and queries, so that what a user types meets what a
record says however either was written.

Why each step:

* **NFC and Latin look-alikes** (``ingest.text.normalise_text``): "Овpуцька" typed or stored with a Latin
  ``p`` is the same word as "Овруцька".
* **Apostrophe variants** (’ ' ʼ ` ‘ ′): Ukrainian text uses all of them for one sign; they are unified
  to ``'`` (the form of the pymorphy3 dictionary) for lemmatising, then dropped from the term, so
  "пам’ятка", "пам'ятка" and "памʼятка" are one term.
* **Lower case** by Unicode ``casefold`` (SQLite's own folding is ASCII-only).
* **Lemmas** (pymorphy3 with pymorphy3-dicts-uk): "громади", "громадою" → "громада".
* **Transliteration** (KMU 2010, ``ingest.text.transliterate``): a Latin query ("ovruch") is matched against
  the transliterated words of a record by stem prefix, so a place name finds its adjective ("Овруцька"
  → "ovrutska").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ingest.text import normalise_text, transliterate

APOSTROPHES = re.compile(r"[’'ʼ`‘′ʹ]")
# a word: letters/digits, with apostrophes inside (пам'ятка); '_' is not part of a word
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
MAX_TERMS = 32  # a query of more words is cut: nobody types more, and it bounds the FTS expression


@lru_cache(maxsize=1)
def _morph() -> Any:
    """The Ukrainian analyser (0.2 s to load, ~15 MB): made once per process, on first use."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="uk")


def _is_cyrillic(word: str) -> bool:
    return any("\u0400" <= c <= "\u04ff" for c in word)


@lru_cache(maxsize=200_000)
def lemmas(word: str) -> tuple[str, ...]:
    """The distinct normal forms of a lower-case Cyrillic word (best parse first), apostrophes dropped."""
    out: list[str] = []
    for p in _morph().parse(word)[:3]:
        lemma = p.normal_form.replace("'", "")
        if lemma not in out:
            out.append(lemma)
    return tuple(out) or (word.replace("'", ""),)


def words(text: str) -> list[str]:
    """The normalised lower-case words of ``text`` (apostrophes unified to ``'``, kept inside words)."""
    text = APOSTROPHES.sub("'", normalise_text(text)[0]).casefold()
    return WORD.findall(text)


@dataclass(frozen=True)
class Terms:
    """What a text contributes to the index: exact terms (lemmas, surface forms, Latin and digit words)
    and transliterations of its Cyrillic words."""

    terms: list[str]
    translit: list[str]


def document_terms(text: str) -> Terms:
    """Index terms of a document's text (duplicates kept: bm25 counts them)."""
    terms: list[str] = []
    translit: list[str] = []
    for w in words(text):
        plain = w.replace("'", "")
        if _is_cyrillic(w):
            ls = lemmas(w)
            terms.extend(ls)
            if plain not in ls:
                terms.append(plain)
            translit.append(_translit(plain))
        else:
            terms.append(plain)
    return Terms(terms, translit)


@lru_cache(maxsize=200_000)
def _translit(word: str) -> str:
    return _ascii(transliterate(word))


def _ascii(word: str) -> str:
    return re.sub(r"[^0-9a-z]", "", word.lower())


@dataclass(frozen=True)
class QueryTerm:
    """One word of a query and the index terms that satisfy it (any of them)."""

    word: str
    exact: tuple[str, ...]  # in the terms columns
    translit_prefix: str | None = None  # a prefix of the translit column
    prefix: str | None = None  # a prefix of the terms columns (codes)


def query_terms(text: str) -> list[QueryTerm]:
    """The query's words, each with its alternatives; at most MAX_TERMS words."""
    out: list[QueryTerm] = []
    for w in words(text)[:MAX_TERMS]:
        plain = w.replace("'", "")
        if _is_cyrillic(w):
            exact = tuple(dict.fromkeys((*lemmas(w), plain)))
            # and by the start of the word, as a Latin query is: a place name and its adjective differ in the
            # last letters (Овруч → Овруцька, Коростень → Коростенська) and no dictionary knows both
            out.append(QueryTerm(w, exact, translit_prefix=_stem(_translit(plain))))
        elif plain.isdigit() or (plain[:2] == "ua" and plain[2:].isdigit()):
            out.append(QueryTerm(w, (plain,), prefix=plain if len(plain) >= 4 else None))
        else:
            out.append(QueryTerm(w, (plain,), translit_prefix=_stem(_ascii(plain))))
    return out


def _stem(t: str) -> str | None:
    """The part of a (transliterated) word that a prefix match uses: all but its last two letters, at least
    four; None for words shorter than that."""
    return t[:max(4, len(t) - 2)] if len(t) >= 4 else None
