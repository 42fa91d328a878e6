"""ISO 19139 records: valid against the schemas, bilingual, stable ids, readable by OWSLib; supplied
records validated; hostile XML refused; DCAT for CKAN."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from owslib.iso import MD_Metadata

from geoportal.config import load_config
from geoportal.errors import MetadataError
from geoportal.model import Endpoints, FieldInfo, QualityReport, StoredLayer
from ingest.store.gpkg import GpkgTable
from metadata.dcat import dcat_catalog
from metadata.records import dataset_record, record_id, service_record
from metadata.validate import check_iso19139, parse_xml, validate_iso19139

ROOT = Path(__file__).resolve().parents[2]
CFG = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
EP = Endpoints("http://geo.example.org")
SAMPLES = Path("/work/shared/metadata-samples/owslib-resources")
if not SAMPLES.exists():
    SAMPLES = ROOT.parent / "shared" / "metadata-samples" / "owslib-resources"


def layer(ds_id: str = "hromadas") -> StoredLayer:
    return StoredLayer(
        dataset_id=ds_id, location=GpkgTable("/x.gpkg", ds_id), geometry_type="MultiPolygon", feature_count=6,
        bbox=(27.33, 50.88, 29.51, 51.68), crs="EPSG:4326", fields=(FieldInfo("admin_3", "string"),),
        checksum="ab" * 32, version=3, loaded_at="2026-11-24T10:00:00+00:00",
        report=QualityReport(source="/data/hromadas.shp", features_read=126, features_written=6,
                             geometries_repaired=1, text_values_repaired=6, source_crs="EPSG:4326",
                             encoding="UTF-8"))


def record(ds_id: str = "hromadas") -> bytes:
    return dataset_record(CFG, CFG.dataset(ds_id), layer(ds_id), EP)


def test_every_dataset_and_service_record_validates() -> None:
    for ds in CFG.datasets:
        assert validate_iso19139(record(ds.id)) == [], ds.id
    pairs = [(ds, layer(ds.id)) for ds in CFG.datasets]
    for kind in ("ogcapi", "wms", "wfs", "csw"):
        xml = service_record(CFG, kind, EP, pairs)
        assert validate_iso19139(xml) == [], kind
        assert b"srv:SV_ServiceIdentification" in xml


def test_titles_and_abstracts_in_ukrainian_and_english() -> None:
    xml = record().decode("utf-8")
    ds = CFG.dataset("hromadas")
    for text in (ds.title.uk, ds.title.en, ds.abstract.uk, ds.abstract.en):
        assert text in xml
    assert f'<gmd:LocalisedCharacterString locale="#eng">{ds.title.en}' in xml


def test_identifier_is_stable() -> None:
    assert record_id(CFG, "hromadas") == "UA18000000000041385.zhytomyr-oblast.hromadas"
    assert record() == record()


def test_owslib_reads_title_bbox_links_and_lineage() -> None:
    md = MD_Metadata(parse_xml(record()))
    ident = md.identification[0] if isinstance(md.identification, list) else md.identification
    assert ident.title == CFG.dataset("hromadas").title.uk
    assert float(ident.bbox.minx) == pytest.approx(27.33)
    urls = {o.protocol: o.url for o in md.distribution.online}
    assert urls["OGC:WMS"] == "http://geo.example.org/ows"
    assert urls["OGC API - Features"] == "http://geo.example.org/ogcapi/collections/hromadas"
    assert "UA18000000000041385" in " ".join(k for kw in ident.keywords for k in kw.keywords
                                             if isinstance(k, str)) or "UA18000000000041385" in record().decode()
    assert "ab" * 8 in md.dataquality.lineage


def test_inspire_theme_with_thesaurus() -> None:
    xml = record("nature-protection").decode("utf-8")
    assert "Protected sites" in xml and "GEMET - INSPIRE themes, version 1.0" in xml


def test_real_sample_record_validates() -> None:
    sample = SAMPLES / "csw_geobretagne_mdmetadata.xml"
    if not sample.exists():
        pytest.skip("shared/metadata-samples not beside the repository")
    check_iso19139(sample.read_bytes(), sample.name)


def test_broken_record_refused_with_readable_list() -> None:
    bad = record().replace(b"<gmd:dateStamp>", b"<gmd:dateStampX>").replace(b"</gmd:dateStamp>", b"</gmd:dateStampX>")
    with pytest.raises(MetadataError) as ei:
        check_iso19139(bad, "supplied.xml")
    msg = str(ei.value)
    assert "supplied.xml" in msg and "line " in msg and "dateStampX" in msg


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
           '<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd">&e;</gmd:MD_Metadata>').encode()
    with pytest.raises(MetadataError, match="entity"):
        parse_xml(xxe, "xxe.xml")


def test_not_xml_names_the_line() -> None:
    with pytest.raises(MetadataError, match=r"bad\.xml: not well-formed XML \(line 2\)"):
        parse_xml(b"<a>\n<b></a>", "bad.xml")


def test_dcat_catalog_for_ckan() -> None:
    items = [(ds, layer(ds.id)) for ds in CFG.public_datasets]
    cat = json.loads(json.dumps(dcat_catalog(CFG, items, EP)))
    assert cat["@type"] == "dcat:Catalog"
    assert len(cat["dcat:dataset"]) == len(items)
    d = cat["dcat:dataset"][1]
    assert {"@value": CFG.dataset("hromadas").title.uk, "@language": "uk"} in d["dct:title"]
    media = {x["dcat:mediaType"]["@id"].rsplit("/", 2)[-2] + "/" + x["dcat:mediaType"]["@id"].rsplit("/", 1)[-1]
             for x in d["dcat:distribution"]}
    assert {"application/geopackage+sqlite3", "application/geo+json", "text/csv"} <= media
    assert d["dct:identifier"] == record_id(CFG, "hromadas")
