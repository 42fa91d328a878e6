"""The passport's words as a Ukrainian reader checks them: plural forms, one apostrophe, tidy names, and a
rank that says out of how many hromadas and why (only 6 of the 66 have boundaries in the sample data)."""

from __future__ import annotations

import json
import re

import pytest
import requests

from geoportal.ukrainian import OBJECTS, clean_name, counted, plural_form, unit_after

ASCII_APOSTROPHE_IN_WORD = re.compile(r"[А-Яа-яІіЇїЄєҐґ]['ʼ`][А-Яа-яІіЇїЄєҐґ]")


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 об’єктів"), (1, "1 об’єкт"), (2, "2 об’єкти"), (4, "4 об’єкти"), (5, "5 об’єктів"),
    (11, "11 об’єктів"), (12, "12 об’єктів"), (14, "14 об’єктів"), (21, "21 об’єкт"), (22, "22 об’єкти"),
    (25, "25 об’єктів"), (101, "101 об’єкт"), (111, "111 об’єктів"), (1234, "1\u202f234 об’єкти"),
])
def test_counted_objects(n: int, text: str) -> None:
    assert counted(n, *OBJECTS) == text


def test_units_agree_with_the_number() -> None:
    assert [unit_after(v, "осіб") for v in (1, 3, 5, 21, 2.5, None)] == ["особа", "особи", "осіб", "особа",
                                                                         "особи", "осіб"]
    assert unit_after(3, "км²") == "км²" and plural_form(13, "a", "b", "c") == "c"


def test_names_are_tidied() -> None:
    assert clean_name("  Андрушківська \u00a0") == "Андрушківська"
    assert clean_name("Прем'єрська  громада") == "Прем’єрська громада"


@pytest.fixture(scope="module")
def passports(demo_node):  # type: ignore[no-untyped-def]
    r = requests.get(demo_node.base_url + "/passport/passports.json", timeout=60)
    assert r.status_code == 200
    return r.json()


def test_rank_says_out_of_how_many_and_why(demo_node, passports) -> None:  # type: ignore[no-untyped-def]
    code = "UA18060190000071101"  # Olevska: has a boundary
    page = requests.get(f"{demo_node.base_url}/passport/{code}.html", timeout=60).content.decode("utf-8")
    area = page[page.index('id="area_km2"'):]
    area = area[:area.index("</section>")]
    assert "місце 1 з 6 громад, для яких є межі" in area and "rank 1 of 6 hromadas with boundaries" in area
    pop = page[page.index('id="population_total"'):]
    pop = pop[:pop.index("</section>")]
    assert re.search(r"місце \d+ з 66 громад / rank \d+ of 66 hromadas", pop), pop
    doc = next(d for d in passports if d["katotth"] == code)
    assert doc["indicators"]["area_km2"]["of_text"]["uk"] == "з 6 громад, для яких є межі"


def test_generated_text_has_one_apostrophe_and_tidy_names(demo_node, passports) -> None:  # type: ignore[no-untyped-def]
    for d in passports:
        for name in (d["name"]["uk"], d["raion"]["uk"]):
            assert name == " ".join(name.split()), f"stray spaces in {name!r} ({d['katotth']})"
    assert any(d["name"]["uk"] == "Андрушківська" for d in passports)  # 'Андрушківська ' in the codifier
    text = json.dumps(passports, ensure_ascii=False)
    for url in ("/passport/index.html", f"/passport/{passports[0]['katotth']}.html", "/"):
        text += requests.get(demo_node.base_url + url, timeout=60).content.decode("utf-8")
    text = text.replace("&#39;", "'").replace("&#x27;", "'")
    bad = sorted({m.group(0) for m in ASCII_APOSTROPHE_IN_WORD.finditer(text)})
    assert not bad, f"apostrophes other than ’ in generated text: {bad}"
    assert "66 громад" in text  # the count on the index page takes the plural form


def test_service_records_count_datasets_in_ukrainian() -> None:
    from geoportal.ukrainian import DATASETS

    assert [counted(n, *DATASETS) for n in (1, 3, 5)] == ["1 набір даних", "3 набори даних", "5 наборів даних"]


def test_passport_index_links_the_services_by_their_served_names(demo_node, passports) -> None:  # type: ignore[no-untyped-def]
    page = requests.get(demo_node.base_url + "/passport/index.html", timeout=60).content.decode("utf-8")
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', page)]
    wfs = [h for h in hrefs if "SERVICE=WFS" in h]
    assert wfs and all("TYPENAMES=gp:hromada-passports" in h for h in wfs), hrefs
    r = requests.get(requests.compat.urljoin(demo_node.base_url + "/passport/index.html", wfs[0]), timeout=60)
    with_boundary = sum(d["indicators"]["area_km2"]["value"] is not None for d in passports)
    assert r.status_code == 200 and len(r.json()["features"]) == with_boundary == 6  # WFS serves geometries
