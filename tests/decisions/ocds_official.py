"""An independent reading of the official OCDS 1.1 schema for the tests: the vendored files are opened by path
(not through decisions.ocds_schema), checked to be the standard's files byte for byte, and a stock jsonschema
Draft 4 validator with format checking is built over them, the package schema's $ref resolved from disk."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import referencing
from referencing.jsonschema import DRAFT4

OCDS = Path(__file__).resolve().parents[2] / "decisions" / "schema" / "ocds"
#: sha256 of the standard's files (open-contracting/standard, branch 1.1, OCDS 1.1.5)
SHA256 = {"release-package-schema.json": "e186e21f2e9bb06ff798b2c5862f4f729d29f9623fcc84a9e7c029cbb1c409c1",
          "release-schema.json": "bf18280598c08c9889051a61e1cd39af8e1aebbfb9c260c31be155604026a149"}


def official_validator() -> jsonschema.Draft4Validator:
    schemas = {}
    for name, digest in SHA256.items():
        raw = (OCDS / name).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == digest, f"{name} is not the standard's file any more"
        schemas[name] = json.loads(raw)
        assert schemas[name]["id"] == f"https://standard.open-contracting.org/schema/1__1__5/{name}"
    # only these two resources: a $ref anywhere else is an error, never a download
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(
        (s["id"], DRAFT4.create_resource(s)) for s in schemas.values())
    checker = jsonschema.Draft4Validator.FORMAT_CHECKER
    assert {"date-time", "uri"} <= set(checker.checkers), "jsonschema would not check OCDS dates and URIs"
    return jsonschema.Draft4Validator(schemas["release-package-schema.json"], registry=registry,
                                      format_checker=checker)


def official_errors(pkg: Any) -> list[str]:
    """Every error of the official schema, as ``path: message``."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in official_validator().iter_errors(pkg)]
