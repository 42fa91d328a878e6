"""INSPIRE and NSDI metadata rules: every record the node generates passes them (and the XSDs); official
INSPIRE template records and the node's own records, broken one element at a time, fail with the right
rule on the right element; ``geoportal validate-record --rules`` reports them and exits non-zero."""

from __future__ import annotations

import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Callable

import pytest
from lxml import etree

from geoportal.config import load_config
from geoportal.model import Endpoints
from metadata.records import dataset_record, service_record
from metadata.rules import NS, check_record
from metadata.validate import validate_iso19139
from decisions.publish import register_dataset
from passport.build import passport_dataset
from tests.metadata.test_records import layer

ROOT = Path(__file__).resolve().parents[2]
EP = Endpoints("http://geo.example.org")
SAMPLES = Path("/work/shared/metadata-samples")
if not SAMPLES.exists():
    SAMPLES = ROOT.parent / "shared" / "metadata-samples"
TEMPLATE = SAMPLES / "inspire-md-templates" / "Metadata_datasets_series_cc2.xml"
SERVICE_TEMPLATE = SAMPLES / "inspire-md-templates" / "Metadata_service_cc7_harmonised.xml"


@lru_cache(maxsize=1)
def generated() -> tuple[tuple[str, bytes], ...]:
    out = []
    for config in sorted((ROOT / "config" / "nodes").glob("*.yaml")):
        cfg = load_config(config)
        datasets = [*cfg.public_datasets, passport_dataset(cfg, Path("/x.gpkg")),
                    *(register_dataset(cfg, i, Path("/x.gpkg"), "MultiPolygon") for i in ("decisions", "projects"))]
        for ds in datasets:
            out.append((f"{cfg.node.id}/{ds.id}", dataset_record(cfg, ds, layer(ds.id), EP)))
        pairs = [(ds, layer(ds.id)) for ds in datasets]
        for kind in ("ogcapi", "wms", "wfs", "csw"):
            out.append((f"{cfg.node.id}/service-{kind}", service_record(cfg, kind, EP, pairs)))
    return tuple(out)


def test_every_generated_record_passes_inspire_nsdi_and_the_xsd() -> None:
    records = generated()
    assert len(records) >= 4 * 6
    for name, xml in records:
        assert validate_iso19139(xml) == [], name
        assert [str(f) for f in check_record(xml, ["inspire", "nsdi"], name)] == [], name


@pytest.mark.parametrize("sample", [TEMPLATE, SERVICE_TEMPLATE])
def test_official_inspire_templates_pass_the_inspire_rules(sample: Path) -> None:
    assert [str(f) for f in check_record(sample.read_bytes(), ["inspire"])] == []


def _drop(xpath: str) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        found = root.xpath(xpath, namespaces=NS)
        assert found, xpath
        for el in found:
            el.getparent().remove(el)
    return mutate


def _set(xpath: str, attr: str | None, value: str) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        found = root.xpath(xpath, namespaces=NS)
        assert found, xpath
        for el in found:
            if attr:
                el.set(attr, value)
            else:
                el.text = value
    return mutate


def _anchor_to_text(xpath: str) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        for a in root.xpath(xpath, namespaces=NS):
            cs = etree.Element(f"{{{NS['gco']}}}CharacterString")
            cs.text = a.text
            a.getparent().replace(a, cs)
    return mutate


IDENT = "gmd:identificationInfo/gmd:MD_DataIdentification"
GEMET = (f"{IDENT}/gmd:descriptiveKeywords[gmd:MD_Keywords/gmd:thesaurusName/gmd:CI_Citation/gmd:title"
         "[contains(., 'GEMET - INSPIRE themes')]]")
BROKEN_TEMPLATE = [  # (what is broken, mutation, rule, the failing element's path ends with)
    ("no unique resource identifier", _drop(f"{IDENT}/gmd:citation/gmd:CI_Citation/gmd:identifier"),
     "INSPIRE-1.5", "gmd:citation/gmd:CI_Citation/gmd:identifier"),
    ("no INSPIRE theme", _drop(GEMET), "INSPIRE-3.1", "MD_DataIdentification/gmd:descriptiveKeywords"),
    ("thesaurus without date", _drop(f"{GEMET}/gmd:MD_Keywords/gmd:thesaurusName/gmd:CI_Citation/gmd:date"),
     "INSPIRE-3.2", "gmd:thesaurusName/gmd:CI_Citation/gmd:date"),
    ("no spatial resolution", _drop(f"{IDENT}/gmd:spatialResolution"), "INSPIRE-6.2",
     "MD_DataIdentification/gmd:spatialResolution"),
    ("no conformity", _drop("gmd:dataQualityInfo/*/gmd:report"), "INSPIRE-7",
     "gmd:dataQualityInfo/gmd:DQ_DataQuality/gmd:report"),
    ("access limitation as free text", _anchor_to_text(
        f"{IDENT}/gmd:resourceConstraints/gmd:MD_LegalConstraints/gmd:otherConstraints/gmx:Anchor"
        "[contains(@xlink:href, 'LimitationsOnPublicAccess')]"), "INSPIRE-8.2", "gmd:otherConstraints"),
    ("metadata contact is the custodian", _set("gmd:contact/gmd:CI_ResponsibleParty/gmd:role/gmd:CI_RoleCode",
                                               "codeListValue", "custodian"),
     "INSPIRE-10.1", "gmd:contact/gmd:CI_ResponsibleParty/gmd:role/gmd:CI_RoleCode"),
    ("no distribution format", _drop("gmd:distributionInfo/gmd:MD_Distribution/gmd:distributionFormat"),
     "INSPIRE-ENC", "gmd:distributionInfo/gmd:MD_Distribution/gmd:distributionFormat"),
    ("no lineage", _drop("gmd:dataQualityInfo/*/gmd:lineage"), "INSPIRE-6.1", "gmd:lineage"),
    ("bounding box inverted", _set(f"{IDENT}//gmd:southBoundLatitude/gco:Decimal", None, "89"), "INSPIRE-4.1",
     "gmd:EX_GeographicBoundingBox"),
]


def _broken(sample: bytes, mutate: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(sample)
    mutate(root)
    return etree.tostring(root)


@pytest.mark.parametrize("what, mutate, rule, element", BROKEN_TEMPLATE, ids=[b[0] for b in BROKEN_TEMPLATE])
def test_broken_template_fails_the_right_rule_on_the_right_element(what: str, mutate: Callable, rule: str,
                                                                    element: str) -> None:
    failures = check_record(_broken(TEMPLATE.read_bytes(), mutate), ["inspire"])
    assert [f.rule for f in failures] == [rule], [str(f) for f in failures]
    assert failures[0].element.endswith(element), failures[0].element
    assert failures[0].line and failures[0].line > 1


def _own(kind: str = "hromadas") -> bytes:
    records = dict(generated())
    return records[f"zhytomyr-oblast/{kind}"]


BROKEN_OWN = [  # the node's own record, broken: INSPIRE and NSDI rules
    ("hromadas", "locale id does not match the translations",
     _set("gmd:locale/gmd:PT_Locale", "id", "locale-fr"), "INSPIRE-ML", "gmd:LocalisedCharacterString"),
    ("hromadas", "identifier without namespace",
     _drop(f"{IDENT}/gmd:citation/gmd:CI_Citation/gmd:identifier/gmd:RS_Identifier/gmd:codeSpace"),
     "INSPIRE-1.5", "gmd:RS_Identifier/gmd:codeSpace"),
    ("service-wms", "service without category",
     _drop("gmd:identificationInfo/srv:SV_ServiceIdentification/gmd:descriptiveKeywords"
           "[.//gmx:Anchor[contains(@xlink:href, 'SpatialDataServiceCategory')]]"),
     "INSPIRE-3.3", "SV_ServiceIdentification/gmd:descriptiveKeywords"),
    ("service-wms", "unknown service type",
     _set("gmd:identificationInfo/srv:SV_ServiceIdentification/srv:serviceType/gco:LocalName", None, "WMS"),
     "INSPIRE-2.2", "srv:serviceType/gco:LocalName"),
    ("hromadas", "metadata not in Ukrainian",
     _set("gmd:language/gmd:LanguageCode", "codeListValue", "eng"), "NSDI-LANG", "gmd:language/gmd:LanguageCode"),
    ("hromadas", "no data holder",
     _drop(f"{IDENT}/gmd:pointOfContact[.//gmd:CI_RoleCode/@codeListValue='custodian']"), "NSDI-HOLDER",
     "MD_DataIdentification/gmd:pointOfContact"),
    ("hromadas", "no KATOTTH code",
     _drop(f"{IDENT}/gmd:extent/gmd:EX_Extent/gmd:geographicElement[gmd:EX_GeographicDescription]"),
     "NSDI-KATOTTH", "gmd:EX_GeographicDescription"),
    ("hromadas", "no state of readiness", _drop(f"{IDENT}/gmd:status"), "NSDI-STATUS", "gmd:status"),
]


@pytest.mark.parametrize("kind, what, mutate, rule, element", BROKEN_OWN, ids=[b[1] for b in BROKEN_OWN])
def test_broken_own_record_fails_the_right_rule(kind: str, what: str, mutate: Callable, rule: str,
                                                element: str) -> None:
    failures = check_record(_broken(_own(kind), mutate), ["inspire", "nsdi"])
    assert [f.rule for f in failures] == [rule], [str(f) for f in failures]
    assert failures[0].element.endswith(element), failures[0].element


def test_cli_reports_each_failure_and_exits_non_zero(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(_own())
    bad = tmp_path / "bad.xml"
    bad.write_bytes(_broken(TEMPLATE.read_bytes(), BROKEN_TEMPLATE[0][1]))
    ok = subprocess.run([sys.executable, "-m", "geoportal.cli", "validate-record", str(good), "--rules", "inspire",
                         "--rules", "nsdi"], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    assert "passes the inspire/nsdi rules" in ok.stdout
    ko = subprocess.run([sys.executable, "-m", "geoportal.cli", "validate-record", str(bad), "--rules", "inspire"],
                        capture_output=True, text=True, cwd=ROOT)
    assert ko.returncode == 6
    assert "[INSPIRE-1.5]" in ko.stderr and "gmd:citation/gmd:CI_Citation/gmd:identifier" in ko.stderr


def test_build_warns_about_rule_gaps_without_failing(tmp_path: Path) -> None:
    """A node config without 'scale:' still builds; the build names the INSPIRE rule the record misses."""
    import yaml

    from tests.conftest import derived_config

    cfg = derived_config(tmp_path / "noscale.yaml", ROOT / "config" / "nodes" / "korostenskyi-raion.yaml",
                         children=[])
    raw = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    for ds in raw["datasets"]:
        ds.pop("scale", None)
    cfg.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "geoportal.cli", "build", str(cfg), "--workdir",
                          str(tmp_path / "wd")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "[INSPIRE-6.2]" in run.stderr and "gmd:spatialResolution" in run.stderr
