"""/search on the served sample node, read as a user or a program would: Ukrainian queries however typed
(lower case, apostrophe variants, Latin look-alikes, transliterated), the HTML page, facet counts checked
against the catalog (OWSLib) and the passports on disk, filters, paging, and hostile input (never a 500)."""

from __future__ import annotations

import html
import json
from collections import Counter
from urllib.parse import parse_qs

import pytest
import requests
from owslib.csw import CatalogueServiceWeb
from owslib.fes import PropertyIsEqualTo

pytestmark = pytest.mark.slow

OBLAST = "UA18000000000041385.zhytomyr-oblast."
OVRUCH = "UA18060170000069581"


def search(served, **params) -> dict:
    r = requests.get(served.base_url + "/search", params={"f": "json", **params}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()


def ids(answer: dict) -> list[str]:
    return [h["id"] for h in answer["hits"]]


@pytest.mark.parametrize("q, expected", [
    ("громади", OBLAST + "hromadas"),  # lower case, another form of "Територіальні громади"
    ("ТЕРИТОРІАЛЬНА ГРОМАДА", OBLAST + "hromadas"),  # upper case, the lemma of both words
    ("межею житомирської області", OBLAST + "oblast-boundary"),  # inflected
])
def test_lowercase_and_inflected_queries_find_the_dataset(demo_node, q: str, expected: str) -> None:
    assert expected in ids(search(demo_node, q=q, limit=100))


@pytest.mark.parametrize("apostrophe", ["’", "'", "ʼ", "`"])
def test_apostrophe_variants_find_the_same_datasets(demo_node, apostrophe: str) -> None:
    found = ids(search(demo_node, q=f"об{apostrophe}єкти", limit=100))
    assert OBLAST + "nature-protection" in found  # "Об'єкти природно-заповідного фонду"
    assert OBLAST + "geographic-names" in found  # "Фізико-географічні об'єкти …"


def test_latin_look_alike_letters_are_repaired_in_the_query(demo_node) -> None:
    assert f"passport:{OVRUCH}" in ids(search(demo_node, q="Овpуцька"))  # Latin p
    assert OBLAST + "oblast-boundary" in ids(search(demo_node, q="Mежа"))  # Latin M


@pytest.mark.parametrize("q, expected", [
    ("ovruch", f"passport:{OVRUCH}"),  # the town's name finds "Овруцька громада"
    ("Ovrutska", f"passport:{OVRUCH}"),
    ("mezha", OBLAST + "oblast-boundary"),
    ("Овруч", f"passport:{OVRUCH}"),  # the town in Cyrillic, as for Latin: a place and its adjective
    ("паспорт овруч", f"passport:{OVRUCH}"),
])
def test_transliterated_queries_find_cyrillic_records(demo_node, q: str, expected: str) -> None:
    assert expected in ids(search(demo_node, q=q, limit=100))


def test_hits_carry_id_bilingual_title_type_node_and_links(demo_node) -> None:
    hit = next(h for h in search(demo_node, q="межа")["hits"] if h["id"] == OBLAST + "oblast-boundary")
    assert hit["title"] == {"uk": "Межа Житомирської області", "en": "Boundary of Zhytomyr oblast"}
    assert hit["type"] == "dataset" and hit["node"] == "zhytomyr-oblast"
    hrefs = [link["href"] for link in hit["links"]]
    assert any(h.endswith("/ogcapi/collections/oblast-boundary") for h in hrefs)
    assert any(h.endswith("/downloads/oblast-boundary.gpkg") for h in hrefs)


def test_html_page_renders_the_results(demo_node) -> None:
    r = requests.get(demo_node.base_url + "/search", params={"q": "межа"}, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "Межа Житомирської області" in r.text and 'value="межа"' in r.text
    total = search(demo_node, q="межа")["total"]
    assert f"<strong>{total}</strong>" in r.text
    assert 'data-facet="type"' in r.text


def test_a_search_that_finds_nothing_says_what_to_try(demo_node) -> None:
    """"found: 0" alone leaves a person guessing: the page says nothing was found and links to a wider
    search, and that link finds something."""
    page = requests.get(demo_node.base_url + "/search", params={"q": "жодногоТакогоСлова"}, timeout=30)
    assert page.status_code == 200 and 'id=nothing' in page.text and "«жодногоТакогоСлова»" in page.text
    assert '<a href="?">' in page.text
    assert search(demo_node)["total"] > 0  # where "browse everything" leads
    filtered = requests.get(demo_node.base_url + "/search", params={"q": "межа", "type": "decision"},
                            timeout=30)
    assert "з обраними фільтрами" in filtered.text
    assert search(demo_node, q="межа", type="decision")["total"] == 0
    wider = filtered.text.split("id=nothing", 1)[1].split('href="?', 1)[1].split('"', 1)[0]
    assert parse_qs(html.unescape(wider)) == {"q": ["межа"]}
    assert search(demo_node, q="межа")["total"] > 0
    found = requests.get(demo_node.base_url + "/search", params={"q": "межа"}, timeout=30)
    assert "id=nothing" not in found.text


def test_facets_count_what_the_catalog_and_the_passports_hold(demo_node) -> None:
    answer = search(demo_node, limit=100)
    facets = {name: {v["value"]: v["count"] for v in values} for name, values in answer["facets"].items()}
    csw = CatalogueServiceWeb(demo_node.base_url + "/csw", timeout=60)
    for typ in ("dataset", "service"):
        csw.getrecords2(constraints=[PropertyIsEqualTo("dc:type", typ)], maxrecords=0)
        assert facets["type"][typ] == csw.results["matches"], typ
    passports = list((demo_node.workdir / "passport").glob("UA*.json"))
    assert facets["type"]["passport"] == len(passports) > 0
    assert answer["total"] == sum(facets["type"].values())
    # a facet's count is what filtering on it returns, and every hit then has that value
    for name, key in (("licence", "licence"), ("theme", "theme"), ("format", "formats"), ("level", "level"),
                      ("organisation", "organisation"), ("node", "node")):
        for value, count in facets[name].items():
            narrowed = search(demo_node, **{name: value, "limit": 100})
            assert narrowed["total"] == count, (name, value)
            for h in narrowed["hits"]:
                assert value in (h[key] if isinstance(h[key], list) else [h[key]])
    levels = Counter(json.loads(p.read_text(encoding="utf-8"))["katotth"][:2] for p in passports)
    assert facets["level"]["hromada"] == sum(levels.values())


def test_filters_sort_and_paging(demo_node) -> None:
    ovruch = search(demo_node, hromada=OVRUCH, type="passport", limit=100)
    assert f"passport:{OVRUCH}" in ids(ovruch)
    far = search(demo_node, bbox="22.1,48.1,22.2,48.2")  # Zakarpattia: nothing of Zhytomyr there
    assert far["total"] == 0
    first, second = search(demo_node, limit=5), search(demo_node, limit=5, offset=5)
    assert len(first["hits"]) == 5 and not set(ids(first)) & set(ids(second))
    assert any(link["rel"] == "next" for link in first["links"])
    dated = search(demo_node, q="громада", sort="date", limit=100)["hits"]
    assert [h["updated"] for h in dated] == sorted((h["updated"] for h in dated), reverse=True)
    two = search(demo_node, type="dataset,service", limit=100)
    assert {h["type"] for h in two["hits"]} == {"dataset", "service"}


@pytest.mark.parametrize("params, status", [
    ({"q": "x" * 10_000}, {400, 414}),  # 10 kB: the front's request line limit (414) or ours
    ({"q": "ab " * 300}, {400}),  # 900 characters: more than a search box takes
    ({"q": "межа\x00"}, {400}),
    ({"limit": "0"}, {400}),
    ({"limit": "-1"}, {400}),
    ({"offset": "abc"}, {400}),
    ({"bbox": "1,2,3"}, {400}),
    ({"bbox": "30,50,29,51"}, {400}),
    ({"hromada": "Овруч"}, {400}),
    ({"hromada": "UA99999999999999999"}, {400}),
    ({"sort": "random()"}, {400}),
    ({"f": "xml"}, {400}),
    ({"q": ["a", "b"]}, {400}),
])
def test_bad_parameters_are_a_400_naming_the_parameter(demo_node, params: dict, status: set) -> None:
    r = requests.get(demo_node.base_url + "/search", params={"f": "json", **params}, timeout=30)
    assert r.status_code in status, r.text[:200]
    if r.status_code == 400 and r.headers["Content-Type"].startswith("application/json"):
        assert r.json()["description"]
    elif r.status_code == 400:
        assert "parameter" in r.text


@pytest.mark.parametrize("q", ['"', '"межа', "межа OR *", "NEAR(межа область)", "title:межа", "^межа",
                               "межа AND NOT", "(", ")", "-", "*", "'; DROP TABLE docs; --", "{title}: x",
                               "%", "_", "\\", "💥", "ʼ", "\u0301"])
def test_hostile_queries_answer_without_error(demo_node, q: str) -> None:
    for fmt in ("json", "html"):
        r = requests.get(demo_node.base_url + "/search", params={"q": q, "f": fmt}, timeout=30)
        assert r.status_code == 200, (q, r.status_code, r.text[:200])
    assert search(demo_node, q=q)["total"] >= 0


def test_invalid_utf8_and_other_methods(demo_node) -> None:
    r = requests.get(demo_node.base_url + "/search?q=%ff%fe", timeout=30)
    assert r.status_code == 400
    assert requests.post(demo_node.base_url + "/search", data=b"q=x", timeout=30).status_code == 405
    assert requests.get(demo_node.base_url + "/search/nothing", timeout=30).status_code == 404
