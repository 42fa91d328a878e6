"""``/dcat.jsonld`` per caller: the node's public DCAT-AP catalog, with what the caller's view changes.

The build writes the catalog of the public datasets (``dcat.jsonld``) and, aside, the entries of the other
datasets, each in full and without distributions (``dcat-restricted.json``, see
:func:`metadata.dcat.dcat_restricted`). Per request the node's policy (``dcat`` service) decides for each
dataset: a public one hidden by a rule is taken out, a non-public one is added in full, without its
distributions (``metadata``), or not at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from catalog.catalog_view import CatalogView


def dcat_for(root: Path, view: CatalogView) -> dict[str, Any]:
    """The DCAT catalog (JSON-LD) that ``view`` may see."""
    catalog: dict[str, Any] = json.loads((root / "dcat.jsonld").read_text(encoding="utf-8"))
    aside = root / "dcat-restricted.json"
    restricted: dict[str, Any] = json.loads(aside.read_text(encoding="utf-8")) if aside.exists() else {}
    policy = root / "access-policy.json"
    node = json.loads(policy.read_text(encoding="utf-8"))["node"] if policy.exists() else ""
    base = str(catalog.get("@id", ""))
    kept = []
    for entry in catalog.get("dcat:dataset", []):
        key = f"{node}/{str(entry.get('@id', '')).rpartition('#')[2]}"
        if view.mode(key, "public") == "full":
            kept.append(entry)
    hidden_ids = {e["@id"] for e in catalog.get("dcat:dataset", [])} - {e["@id"] for e in kept}
    for key, item in sorted(restricted.items()):
        mode = view.mode(key, "restricted")
        if mode == "full":
            kept.append(item["full"])
        elif mode == "metadata":
            kept.append(item["metadata"])
    catalog["dcat:dataset"] = kept
    for svc in catalog.get("dcat:service", []):
        if "dcat:servesDataset" in svc:
            svc["dcat:servesDataset"] = [d for d in svc["dcat:servesDataset"] if d.get("@id") not in hidden_ids]
    catalog["@id"] = base
    return catalog


def dcat_body(root: Path, view: CatalogView) -> bytes:
    return json.dumps(dcat_for(root, view), ensure_ascii=False, indent=1).encode("utf-8")
