"""The passport as a stage of the node build: recomputed after an ingest changed one of its sources,
kept as a new version, and published like a dataset (OGC API collection ``hromada-passports`` whose item
ids are KATOTTH codes, an ISO record in the catalog, JSON/CSV/HTML under ``/passport/``)."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Callable

from geoportal import plugins
from geoportal.config import Dataset, NodeConfig
from geoportal.errors import ConfigError
from geoportal.links import getfeature_url, wfs_typename, wms_layer
from geoportal.portal import Site
from geoportal.model import UKRAINE_BBOX, Endpoints, FieldInfo, QualityReport, StoredLayer, Workspace, write_atomic
from geoportal.ukrainian import clean_name
from ingest.store.gpkg import GpkgTable
from passport.aggregations import Engine
from passport.compute import Result, compute
from passport.config import PassportConfig, load_passport_config
from passport.publish import PAGES, publish
from passport.store import LAYER
from passport.tables import Tables
from passport.serve import FULL_DIR
from passport.withhold import restricted_sources, withhold

DATASET_ID = "hromada-passports"


def engine_for(cfg: NodeConfig) -> Engine:
    """The passport engine registered for the node's storage backend (``passport_engine`` in plugins)."""
    try:
        engine = plugins.load("passport_engine", cfg.storage.backend)
    except plugins.PluginError as e:
        raise ConfigError(f"{cfg.config_path}: passports are not computed on storage '{cfg.storage.backend}' "
                          f"({e}); store the hromada boundaries in GeoPackage or PostGIS") from None
    return engine.for_storage(cfg.storage)


def signature(cfg: NodeConfig, pcfg_path: Path, pcfg: PassportConfig, layers: dict[str, StoredLayer]) -> str:
    """What a computation depends on: the indicator declarations, the source versions, the tables."""
    h = hashlib.sha256(pcfg_path.read_bytes())
    h.update(f"pages:{PAGES}".encode())  # what the published files say changed: write them once more
    sources = {pcfg.hromadas.dataset} | {i.source for i in pcfg.indicators if i.source}
    for s in sorted(x for x in sources if x and x in layers):
        h.update(f"{s}:{layers[s].location.to_dict()}:{layers[s].version}:{layers[s].checksum}".encode())
    h.update(f"restricted:{sorted(restricted_sources(cfg))}".encode())  # who may see what changes the output
    for name, path in sorted(Tables(cfg, pcfg).paths.items()):
        h.update(name.encode() + path.read_bytes())
    return h.hexdigest()


def passport_dataset(cfg: NodeConfig, gpkg: Path) -> Dataset:
    return Dataset.model_validate({
        "id": DATASET_ID, "source": gpkg, "theme": "passport", "topic_category": "society",
        # hromadas as the units of these statistics; as fine as the coarsest source aggregated
        "inspire_theme": "Statistical units", "scale": max((d.scale for d in cfg.datasets if d.scale), default=None),
        "title": {"uk": f"Паспорти ресурсного потенціалу громад: {cfg.node.name.uk}",
                  "en": f"Resource potential passports of the hromadas: {cfg.node.name.en}"},
        "abstract": {"uk": "Показники кожної територіальної громади (площа, населення, населені пункти, природно-"
                           "заповідний фонд, географічні об’єкти) з джерелом, версією та датою кожного значення.",
                     "en": "Indicators of every hromada (area, population, settlements, nature protection sites, "
                           "geographic objects), each with its source, version and date."},
        "keywords": {"uk": ["паспорт громади", "ресурсний потенціал", "КАТОТТГ"],
                     "en": ["hromada passport", "resource potential", "KATOTTH"]},
        "licence": "CC-BY-4.0", "label": "name_uk", "services": ["ogcapi", "wms", "wfs", "downloads"],
    })


def build_passport(cfg: NodeConfig, ws: Workspace, layers: dict[str, StoredLayer],
                   progress: Callable[[str], None] = lambda m: None,
                   force: bool = False) -> tuple[Dataset, StoredLayer] | None:
    """Compute (when a source, a table or passport.yaml changed, or ``force``) and publish the passports;
    None when the node has no passport. Call it after every ingest: an unchanged node costs one checksum."""
    if cfg.passport is None:
        return None
    pcfg_path = cfg.resolve(cfg.passport)
    pcfg = load_passport_config(pcfg_path)
    out = ws.root / "passport"
    sig = signature(cfg, pcfg_path, pcfg, layers)
    state_path = out / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    gpkg = out / "passports.gpkg"
    if force or state.get("signature") != sig or not gpkg.exists():
        computed = compute(cfg, pcfg, layers, engine_for(cfg), progress=progress)
        res = withhold(cfg, pcfg, computed)
        res.signature = sig
        publish(res, pcfg, out, services=service_links(passport_dataset(cfg, gpkg)), site=Site.of_config(cfg))
        publish_full(cfg, ws, computed, res, pcfg, services=service_links(passport_dataset(cfg, gpkg)))
        state = {"signature": sig, "computed_at": res.computed_at, "version": state.get("version", 0) + 1,
                 "hromadas": len(res.hromadas), "engine": res.engine,
                 "bbox": _bbox([h.geometry for h in res.hromadas if h.geometry is not None])}
        write_atomic(state_path, json.dumps(state, indent=1))
        progress(f"passport: {state['hromadas']} hromadas, version {state['version']} ({res.engine})")
    titles = field_titles(pcfg)
    layer = StoredLayer(
        dataset_id=DATASET_ID, location=GpkgTable(str(gpkg), LAYER), geometry_type="MultiPolygon",
        feature_count=state["hromadas"], bbox=tuple(state["bbox"]), crs="EPSG:4326",  # type: ignore[arg-type]
        fields=tuple(FieldInfo(name, kind, titles.get(name)) for name, kind in
                     [("name_uk", "string"), ("name_en", "string"), ("raion", "string")]
                     + [(i.id, "number") for i in pcfg.indicators]),
        checksum=sig, version=state["version"], loaded_at=state["computed_at"], id_column="katotth",
        report=QualityReport(dataset=DATASET_ID, source=str(pcfg_path), features_written=state["hromadas"],
                             version=state["version"], loaded_at=state["computed_at"], field_titles=titles))
    return passport_dataset(cfg, gpkg), layer


def publish_full(cfg: NodeConfig, ws: Workspace, computed: Result, public: Result, pcfg: PassportConfig,
                 services: dict[str, str]) -> None:
    """The passports as computed, for the callers allowed every source the public ones withhold
    (``<workspace>/passport-full``, served per caller by :mod:`passport.serve`, never as a static folder);
    with ``withheld.json`` naming those sources. Nothing withheld: no full variant."""
    full = ws.root / FULL_DIR
    if not public.withheld:
        shutil.rmtree(full, ignore_errors=True)
        return
    sources = sorted({(pcfg.hromadas.dataset if i.source == "boundary" else i.source)
                      for i in pcfg.indicators if i.id in public.withheld} & restricted_sources(cfg))
    publish(replace(computed, withheld=set(), signature=public.signature), pcfg, full, services=services,
            site=Site.of_config(cfg))
    write_atomic(full / "withheld.json", json.dumps({"indicators": sorted(public.withheld), "sources": sources},
                                                    indent=1))


def service_links(ds: Dataset) -> dict[str, str]:
    """The services of the passport layer as links relative to ``/passport/`` (the pages are static and do
    not know the node's address); names from :mod:`geoportal.links`, as everywhere else."""
    ep = Endpoints("..")
    out = {"OGC API": f"{ep.items(ds.id)}?f=html"} if "ogcapi" in ds.services else {}
    if wms_layer(ds):
        out["WMS"] = ep.wms
    getfeature = getfeature_url(ep, ds)
    if getfeature:
        out[f"WFS ({wfs_typename(ds)})"] = getfeature
    return out


def field_titles(pcfg: PassportConfig) -> dict[str, str]:
    """The titles a person sees for the passport layer's columns (QGIS aliases, WMS GetFeatureInfo, the
    GeoPackage's data columns): the indicator's Ukrainian title with its unit."""
    titles = {"katotth": "Код КАТОТТГ", "name_uk": "Назва громади", "name_en": "Назва громади латиницею",
              "raion": "Район"}
    titles.update({i.id: f"{i.title.uk}, {i.unit.uk}" if i.unit.uk else i.title.uk for i in pcfg.indicators})
    return {k: clean_name(v) for k, v in titles.items()}


def _bbox(geoms: list) -> list[float]:
    import shapely

    if not geoms:
        return list(UKRAINE_BBOX)
    return [float(b) for b in shapely.total_bounds(geoms)]
