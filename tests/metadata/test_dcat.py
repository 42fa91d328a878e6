"""The served DCAT-AP catalog (/dcat.jsonld): 0 violations of the DCAT-AP 3.0.0 SHACL shapes (and 2.1.1),
read back with rdflib the way ckanext-dcat's euro_dcat_ap profile maps it to CKAN datasets and resources."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from pyshacl import validate
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef

from geoportal.config import load_config
from tests.conftest import DEMO_CONFIG, ServedNode

CFG = load_config(DEMO_CONFIG)

SHAPES = Path("/work/shared/schemas/dcat-ap")
if not SHAPES.exists():
    SHAPES = Path(__file__).resolve().parents[3] / "shared" / "schemas" / "dcat-ap"
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
SH = Namespace("http://www.w3.org/ns/shacl#")


@pytest.fixture(scope="module")
def graph(demo_node: ServedNode) -> Graph:
    r = requests.get(demo_node.base_url + "/dcat.jsonld", timeout=60)
    assert r.status_code == 200
    return Graph().parse(data=r.text, format="json-ld", publicID=demo_node.base_url + "/dcat.jsonld")


def violations(g: Graph, *files: str) -> list[str]:
    shapes = Graph()
    for f in files:
        shapes.parse(SHAPES / f, format="turtle")
    _, report, _ = validate(g, shacl_graph=shapes, inference="none", allow_warnings=True)
    return sorted(f"{report.value(r, SH.focusNode)} {report.value(r, SH.resultPath)}: "
                  f"{report.value(r, SH.resultMessage)}"
                  for r in report.subjects(RDF.type, SH.ValidationResult)
                  if report.value(r, SH.resultSeverity) == SH.Violation)


@pytest.mark.skipif(not SHAPES.exists(), reason="the DCAT-AP SHACL shapes are not available")
@pytest.mark.parametrize("files", [
    ("3.0.0_shapes.ttl", "3.0.0_range.ttl", "3.0.0_shapes_recommended.ttl"),
    ("2.1.1_dcat-ap_2.1.1_shacl_shapes.ttl", "2.1.1_dcat-ap_2.1.1_shacl_range.ttl"),
])
def test_no_dcat_ap_violations(graph: Graph, files: tuple[str, ...]) -> None:
    assert violations(graph, *files) == []


def test_datasets_are_not_their_own_distributions(graph: Graph) -> None:
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == len(CFG.public_datasets) + 3  # and the hromada passports, decisions, projects
    distributions = set(graph.subjects(RDF.type, DCAT.Distribution))
    assert not datasets & distributions
    for ds in datasets:
        titles = list(graph.objects(ds, DCT.title))
        assert sorted(t.language for t in titles) == ["en", "uk"], titles
        for dist in graph.objects(ds, DCAT.distribution):
            assert isinstance(graph.value(dist, DCT["format"]), URIRef)
            assert isinstance(graph.value(dist, DCAT.mediaType), URIRef)
            media = str(graph.value(dist, DCAT.mediaType))
            assert media.startswith("https://www.iana.org/assignments/media-types/") and " " not in media, media


def test_apis_are_data_services_serving_the_datasets(graph: Graph) -> None:
    services = set(graph.subjects(RDF.type, DCAT.DataService))
    assert {str(s).rsplit("#", 1)[1] for s in services} == {f"service-{k}" for k in ("ogcapi", "wms", "wfs", "csw")}
    assert all(graph.value(s, DCAT.endpointURL) and graph.value(s, DCAT.endpointDescription) for s in services)
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    data_services = {s for s in services if not str(s).endswith("csw")}
    from passport.build import passport_dataset

    from decisions.publish import register_dataset

    declared = {d.id: set(d.services) for d in [*CFG.public_datasets, passport_dataset(CFG, Path("x.gpkg")),
                                                *(register_dataset(CFG, i, Path("x.gpkg"), "MultiPolygon")
                                                  for i in ("decisions", "projects"))]}
    for s in data_services:  # each API serves exactly the datasets that declare it (the raster: WMS only)
        kind = str(s).rsplit("-", 1)[1]
        expected = {d for d in datasets if kind in declared[str(d).rsplit("#", 1)[1]]}
        assert set(graph.objects(s, DCAT.servesDataset)) == expected, kind
    for ds in datasets:
        via = {graph.value(d, DCAT.accessService) for d in graph.objects(ds, DCAT.distribution)} - {None}
        assert via == {s for s in data_services if ds in set(graph.objects(s, DCAT.servesDataset))}
    catalog = next(graph.subjects(RDF.type, DCAT.Catalog))
    assert set(graph.objects(catalog, DCAT.service)) == services


def test_themes(graph: Graph) -> None:
    for ds in graph.subjects(RDF.type, DCAT.Dataset):
        themes = {str(t) for t in graph.objects(ds, DCAT.theme)}
        assert any(t.startswith("http://publications.europa.eu/resource/authority/data-theme/") for t in themes)
    hromadas = next(d for d in graph.subjects(RDF.type, DCAT.Dataset) if str(d).endswith("#hromadas"))
    assert URIRef("http://inspire.ec.europa.eu/theme/au") in set(graph.objects(hromadas, DCAT.theme))


def _value(g: Graph, s: object, p: URIRef, lang: str = "uk") -> str | None:
    """ckanext-dcat's _object_value: the literal in the portal's language first, else any."""
    values = list(g.objects(s, p))
    for v in values:
        if isinstance(v, Literal) and v.language == lang:
            return str(v)
    return str(values[0]) if values else None


def test_what_ckanext_dcat_euro_dcat_ap_maps(graph: Graph) -> None:
    """The fields the euro_dcat_ap profile reads for a CKAN dataset and its resources."""
    for ds in graph.subjects(RDF.type, DCAT.Dataset):
        pkg = {
            "title": _value(graph, ds, DCT.title), "notes": _value(graph, ds, DCT.description),
            "tags": [str(k) for k in graph.objects(ds, DCAT.keyword)],
            "identifier": _value(graph, ds, DCT.identifier), "url": _value(graph, ds, DCAT.landingPage),
            "theme": [str(t) for t in graph.objects(ds, DCAT.theme)],
            "modified": _value(graph, ds, DCT.modified), "issued": _value(graph, ds, DCT.issued),
            "publisher_name": _value(graph, graph.value(ds, DCT.publisher), FOAF.name),
            "contact_name": _value(graph, graph.value(ds, DCAT.contactPoint), VCARD.fn),
            "contact_email": _value(graph, graph.value(ds, DCAT.contactPoint), VCARD.hasEmail),
            "spatial": _value(graph, graph.value(ds, DCT.spatial), LOCN.geometry),
        }
        assert all(pkg.values()), pkg
        assert pkg["contact_email"].startswith("mailto:") and pkg["spatial"].startswith("POLYGON")
        licences = {graph.value(d, DCT.license) for d in graph.objects(ds, DCAT.distribution)}
        assert len(licences) == 1 and None not in licences  # CKAN's license_id comes from the distributions
        for dist in graph.objects(ds, DCAT.distribution):
            fmt = graph.value(dist, DCT["format"])
            res = {"name": _value(graph, dist, DCT.title),
                   "url": _value(graph, dist, DCAT.downloadURL) or _value(graph, dist, DCAT.accessURL),
                   # ckanext-dcat: a dct:format that is a dct:IMT gives its label and rdf:value
                   "format": _value(graph, fmt, RDFS.label), "mimetype": _value(graph, fmt, RDF.value)}
            assert all(res.values()), res
            assert "," not in res["name"]
