"""The metadata stage of a build: one ISO 19139 record per public dataset and per declared service, each
validated against the XSDs before the catalog sees it, and the node's DCAT catalog.

Records are restamped only when their content changed (:func:`metadata.records.restamp`), so a harvester
that asks "what changed since" gets only what did.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable

from geoportal import services
from geoportal.config import NodeConfig
from geoportal.model import Endpoints, StoredLayer, Workspace, write_atomic
from metadata.dcat import dcat_catalog
from metadata.records import dataset_record, record_id, restamp, service_record
from metadata.rules import warn_failures
from metadata.validate import check_iso19139, parse_xml

log = logging.getLogger(__name__)


def _quiet(msg: str) -> None:
    log.info(msg)


def write_records(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints,
                  progress: Callable[[str], None] = _quiet) -> dict[str, Path]:
    """One ISO 19139 record per public dataset and per service, in ws.records (old ones removed)."""
    ws.records.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    pairs = [(ds, layers[ds.id]) for ds in cfg.public_datasets if ds.id in layers]
    for ds, layer in pairs:
        rid = record_id(cfg, ds.id)
        path = ws.records / f"{rid}.xml"
        if ds.record is not None:  # a record the custodian wrote: validated, used as it is
            xml = cfg.resolve(ds.record).read_bytes()
            check_iso19139(xml, str(cfg.resolve(ds.record)))
            rid = _file_identifier(xml) or rid
            path = ws.records / f"{rid}.xml"
        else:
            xml = restamp(dataset_record(cfg, ds, layer, ep), path.read_bytes() if path.exists() else None)
            check_iso19139(xml, f"generated record of dataset '{ds.id}'")
        warn_failures(xml, f"record of dataset '{ds.id}'", log)  # INSPIRE/NSDI gaps, e.g. no 'scale:'
        write_atomic(path, xml)
        write_atomic(ws.downloads / f"{ds.id}.xml", path.read_bytes())
        written[rid] = path
    for svc in services.declared(cfg):
        if not svc.record:
            continue
        rid = record_id(cfg, f"service-{svc.name}")
        path = ws.records / f"{rid}.xml"
        xml = restamp(service_record(cfg, svc.name, ep, pairs), path.read_bytes() if path.exists() else None)
        check_iso19139(xml, f"generated {svc.name} service record")
        write_atomic(path, xml)
        written[rid] = path
    for stale in ws.records.glob("*.xml"):
        if stale not in written.values():
            stale.unlink()
    write_atomic(ws.root / "dcat.jsonld", json.dumps(dcat_catalog(cfg, pairs, ep), ensure_ascii=False, indent=1))
    progress(f"metadata: {len(written)} ISO 19139 records (valid against the XSDs) in {ws.records}, DCAT catalog")
    return written


def _file_identifier(xml: bytes) -> str | None:
    ident = parse_xml(xml).findtext("{http://www.isotc211.org/2005/gmd}fileIdentifier/"
                                    "{http://www.isotc211.org/2005/gco}CharacterString")
    return ident.strip() if ident else None
