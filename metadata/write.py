"""The metadata stage of a build: one ISO 19139 record per dataset and per declared service, each
validated against the XSDs before the catalog sees it, and the node's DCAT catalog.

Every dataset gets its record, whatever its access level: the record carries the level, the catalog mode
and the custodian as its access marker (:mod:`catalog.access_marker`), and the catalog shows each caller
what the node's policy allows (:mod:`catalog.access_view`). Only public datasets' records go to the
downloads folder and into the service records and the public DCAT file; the DCAT entries of the others
are kept aside (``dcat-restricted.json``) and served to those allowed. The node's access facts are
written for the serving processes (``access-policy.json``).

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
from catalog.access_marker import stamp
from catalog.access_view import marker_for, write_policy
from metadata.dcat import dcat_catalog, dcat_restricted
from metadata.records import dataset_record, record_id, restamp, service_record
from metadata.rules import warn_failures
from metadata.validate import check_iso19139, parse_xml

log = logging.getLogger(__name__)


def _quiet(msg: str) -> None:
    log.info(msg)


def write_records(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer], ep: Endpoints,
                  progress: Callable[[str], None] = _quiet) -> dict[str, Path]:
    """One ISO 19139 record per dataset and per service, in ws.records (old ones removed)."""
    ws.records.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    every = [(ds, layers[ds.id]) for ds in cfg.datasets if ds.id in layers]
    pairs = [(ds, layer) for ds, layer in every if ds.access.value == "public"]
    for ds, layer in every:
        marker = marker_for(cfg, ds.id)
        rid = record_id(cfg, ds.id)
        path = ws.records / f"{rid}.xml"
        if ds.record is not None:  # a record the custodian wrote: validated, used as it is
            xml = stamp(cfg.resolve(ds.record).read_bytes(), marker)
            check_iso19139(xml, str(cfg.resolve(ds.record)))
            rid = _file_identifier(xml) or rid
            path = ws.records / f"{rid}.xml"
        else:
            xml = restamp(stamp(dataset_record(cfg, ds, layer, ep), marker),
                          path.read_bytes() if path.exists() else None)
            check_iso19139(xml, f"generated record of dataset '{ds.id}'")
        warn_failures(xml, f"record of dataset '{ds.id}'", log)  # INSPIRE/NSDI gaps, e.g. no 'scale:'
        write_atomic(path, xml)
        public_copy = ws.downloads / f"{ds.id}.xml"
        if marker.level == "public":
            write_atomic(public_copy, path.read_bytes())
        else:
            public_copy.unlink(missing_ok=True)
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
    restricted = [(ds, layer) for ds, layer in every if ds.access.value != "public"]
    write_atomic(ws.root / "dcat-restricted.json",
                 json.dumps(dcat_restricted(cfg, restricted, ep), ensure_ascii=False, indent=1))
    write_policy(cfg, ws.root)
    progress(f"metadata: {len(written)} ISO 19139 records (valid against the XSDs) in {ws.records}, DCAT catalog")
    return written


def _file_identifier(xml: bytes) -> str | None:
    ident = parse_xml(xml).findtext("{http://www.isotc211.org/2005/gmd}fileIdentifier/"
                                    "{http://www.isotc211.org/2005/gco}CharacterString")
    return ident.strip() if ident else None
