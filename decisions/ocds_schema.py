"""The official OCDS 1.1 release package schema as one jsonschema validator, offline.

``schema/ocds/`` holds the standard's own ``release-package-schema.json`` and ``release-schema.json``
unchanged (where from, which version and the licence: ``schema/ocds/README.md``). The package schema points at
the release schema by its published URL; the validator's registry holds both files under their ``id`` and
nothing else, so that ``$ref`` resolves from disk and any other reference fails instead of going to the
network. The schema declares Draft 4, and its ``date-time`` and ``uri`` formats are checked: jsonschema skips
a format silently when the library that checks it is missing (rfc3339-validator, rfc3986-validator), so a
missing one is an error here rather than a validation that passes anything.

One keyword is checked by our own function with Draft 4's meaning: ``uniqueItems``. jsonschema compares the
items of an array pairwise when they are objects, and the package's ``releases`` array is unique: 2,000
releases took 6 s and 20,000 ten minutes, so a large (or hostile) file would hold the CLI for as long. Here
each item is reduced once to a hashable form in which equal JSON values are equal (key order ignored, 1 and
1.0 alike, true and 1 not), which keeps the check linear.

A document nested deeper than :data:`MAX_DEPTH` is refused before validation, naming where: OCDS data is
about ten levels deep, and a hostile nest of thousands would otherwise end in a RecursionError somewhere
inside the validator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from collections.abc import Iterator
from typing import Any

import jsonschema
import referencing
from jsonschema.exceptions import ValidationError
from referencing.jsonschema import DRAFT4

from decisions.errors import DecisionError

PACKAGE = "release-package-schema.json"
RELEASE = "release-schema.json"
#: the formats the two files use; each must really be checked
FORMATS = ("date-time", "uri")
#: how deep a value may nest; the standard's own structures stay under twelve levels
MAX_DEPTH = 64
_MESSAGE_CHARS = 240  # a hostile value (a megabyte-long string) is not echoed whole into one error line


@dataclass(frozen=True)
class Problem:
    """One place where a document breaks the schema: its JSON path and jsonschema's message."""

    path: tuple[str | int, ...]
    message: str

    @property
    def release(self) -> int | None:
        """The index of the release the problem is in (None: the package around them)."""
        if len(self.path) >= 2 and self.path[0] == "releases" and isinstance(self.path[1], int):
            return self.path[1]
        return None

    @property
    def field(self) -> str:
        """The path inside the release (or the package), '/'-joined: ``tender/status``."""
        if self.release is not None:
            return "/".join(map(str, self.path[2:])) or "(the release itself)"
        return "/".join(map(str, self.path)) or "(the package itself)"


def load(name: str) -> dict[str, Any]:
    """One of the vendored schema files, parsed."""
    text = resources.files("decisions").joinpath("schema", "ocds", name).read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@cache
def validator() -> jsonschema.Draft4Validator:
    """The package validator, built once on first use (both files are checked against Draft 4 first)."""
    package, release = load(PACKAGE), load(RELEASE)
    for name, s in ((PACKAGE, package), (RELEASE, release)):
        if s.get("$schema") != "http://json-schema.org/draft-04/schema#":
            raise DecisionError(f"decisions/schema/ocds/{name}: not a Draft 4 schema; put the standard's file back "
                                "unchanged (see decisions/schema/ocds/README.md)")
        jsonschema.Draft4Validator.check_schema(s)
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(
        (s["id"], DRAFT4.create_resource(s)) for s in (package, release))
    checker = jsonschema.Draft4Validator.FORMAT_CHECKER
    unchecked = [f for f in FORMATS if f not in checker.checkers]
    if unchecked:
        raise DecisionError(f"jsonschema cannot check the format(s) {', '.join(unchecked)} the OCDS schema uses "
                            "(rfc3339-validator / rfc3986-validator missing); run `make install`")
    cls = jsonschema.validators.extend(jsonschema.Draft4Validator, {"uniqueItems": _unique_items})
    return cls(package, registry=registry, format_checker=checker)  # type: ignore[no-any-return]


def _unique_items(validator: Any, unique: bool, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    """Draft 4 ``uniqueItems`` in linear time; the error names the two equal items."""
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: dict[Any, int] = {}
    for i, item in enumerate(instance):
        first = seen.setdefault(_canonical(item), i)
        if first != i:
            yield ValidationError(f"items {first} and {i} are the same, and this array's items must be unique")
            return


def _canonical(value: Any) -> Any:
    """A hashable stand-in for a JSON value, equal exactly when the JSON values are equal."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, dict):
        return ("object", frozenset((k, _canonical(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    return value  # str, None, and numbers (Python's 1 == 1.0 and hash(1) == hash(1.0) are JSON's equality)


def _order(path: tuple[str | int, ...]) -> tuple[tuple[int, int | str], ...]:
    """Releases in their order (2 before 10), then the fields by name."""
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in path)


def problems(doc: Any) -> list[Problem]:
    """Every place ``doc`` breaks the release package schema, in document order; empty when it is valid."""
    deep = _too_deep(doc)
    if deep is not None:
        return [deep]
    found = [Problem(tuple(e.absolute_path), _short(e.message)) for e in validator().iter_errors(doc)]
    return sorted(found, key=lambda p: (_order(p.path), p.message))


def _too_deep(doc: Any) -> Problem | None:
    """The first value nested deeper than :data:`MAX_DEPTH` (walked without recursion), as a problem."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), doc)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_DEPTH:
            return Problem(path[:MAX_DEPTH], f"nested more than {MAX_DEPTH} levels deep here; OCDS data is about "
                                             "ten levels deep")
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        stack.extend(reversed([((*path, k), v) for k, v in items]))
    return None


def _short(message: str) -> str:
    return message if len(message) <= _MESSAGE_CHARS else message[:_MESSAGE_CHARS] + "…"
