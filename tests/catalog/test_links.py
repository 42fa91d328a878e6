"""Catalog links survive pycsw: pycsw 2.6 keeps a record's links as one comma-separated string, so a link
name or description with a comma ("Shapefile (zip, UTF-8)") came back split into a broken title. Read back
through CSW (Dublin Core, with OWSLib) and OGC API Records, every link equals an online resource of the
ISO record (read independently with lxml)."""

from __future__ import annotations

import requests
from lxml import etree
from owslib.csw import CatalogueServiceWeb

from tests.conftest import ServedNode

GMD = "{http://www.isotc211.org/2005/gmd}"
GCO = "{http://www.isotc211.org/2005/gco}"
RID = "UA18000000000041385.zhytomyr-oblast.hromadas"


def iso_links(node: ServedNode) -> set[tuple[str, str, str, str]]:
    """(url, protocol, name, description) of every online resource of the record, from the XML file itself."""
    root = etree.parse(str(node.workdir / "records" / f"{RID}.xml")).getroot()
    out = set()
    for res in root.iter(GMD + "CI_OnlineResource"):
        if res.getparent().tag != GMD + "onLine":
            continue
        out.add((res.findtext(f"{GMD}linkage/{GMD}URL"), res.findtext(f"{GMD}protocol/{GCO}CharacterString"),
                 res.findtext(f"{GMD}name/{GCO}CharacterString"),
                 res.findtext(f"{GMD}description/{GCO}CharacterString")))
    return out


def test_no_commas_in_link_names_and_descriptions(demo_node: ServedNode) -> None:
    links = iso_links(demo_node)
    assert any("Shapefile" in d for *_, d in links)
    assert [x for x in links if "," in "".join(x[1:])] == []


def test_links_survive_csw_dublin_core(demo_node: ServedNode) -> None:
    csw = CatalogueServiceWeb(demo_node.base_url + "/csw", timeout=60)
    csw.getrecordbyid(id=[RID], esn="full")
    got = {(r["url"], r["scheme"]) for r in csw.records[RID].references}
    assert got == {(url, protocol) for url, protocol, *_ in iso_links(demo_node)}


def test_links_survive_ogc_api_records(demo_node: ServedNode) -> None:
    item = requests.get(f"{demo_node.base_url}/ogcapi/collections/catalog/items/{RID}", params={"f": "json"},
                        timeout=60).json()
    got = {(link["href"], link.get("title")) for link in item["links"] if "rel" not in link}
    assert got == {(url, protocol) for url, protocol, *_ in iso_links(demo_node)}
