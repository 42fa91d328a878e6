"""Checks of what a person types (codes, dates, reasons), each failing with one line that says what to give."""

from __future__ import annotations

from datetime import date
from typing import Any

from decisions.errors import DecisionError
from decisions.model import KATOTTH, PARTY


def party(code: str) -> str:
    if not PARTY.match(code or ""):
        raise DecisionError(f"party '{code}' is neither a KATOTTH code (UA + 17 digits) nor a unit of a body as "
                            "CODE/unit (e.g. UA18000000000041385/ecology for an oblast department)")
    return code


def katotth(code: str, what: str) -> str:
    if not KATOTTH.match(code or ""):
        raise DecisionError(f"{what} '{code}' is not a KATOTTH code (UA + 17 digits, e.g. UA18060170000069581)")
    return code


def check_cites(cites: Any) -> Any:
    for c in cites:
        if set(c) != {"katotth", "indicator"} or not c["indicator"]:
            raise DecisionError(f"cites: each entry is {{katotth, indicator}} (KATOTTH:INDICATOR), got {c}")
        katotth(c["katotth"], "cited hromada")
    return cites


def reason(text: str | None) -> str:
    if not (text or "").strip():
        raise DecisionError("say why (--reason): every change of a decision records its reason")
    return (text or "").strip()


def day(s: str) -> str:
    try:
        date.fromisoformat(s)
    except ValueError:
        raise DecisionError(f"date '{s}': give YYYY-MM-DD") from None
    return s
