"""The passport portal (issue #13): the choropleth of every indicator with its classes and legend, the
ranking that says out of how many, the comparison of 2–4 hromadas, and the printable PDF of each hromada —
on the served sample node, in headless Chromium and with pdftotext (an independent reader of the PDF).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import requests

from passport.choropleth import NO_DATA, classify
from tests.browser import chromium, colours_in, needs_chromium

OVRUCH, OLEVSK, ZHYTOMYR = "UA18060170000069581", "UA18060190000071101", "UA18040190000029215"


def test_classes_hold_every_value_once_and_never_claim_an_empty_range() -> None:
    values = [1, 1, 1, 2, 9, 100, 3.5, None, 40, 41, 42]
    c = classify(values)
    assert len(c.colours) == 5 and len(set(c.colours)) == 5  # five classes, five colours, light to dark
    counts = {col: sum(1 for v in values if v is not None and c.colour(v) == col) for col in c.colours}
    assert all(n > 0 for n in counts.values()) and sum(counts.values()) == 10
    for (lo, hi), col in zip(c.labels, c.colours):  # the legend's range is what the class really holds
        members = [v for v in values if v is not None and c.colour(v) == col]
        assert (min(members), max(members)) == (lo, hi)
    assert c.colour(None) == NO_DATA
    assert classify([7, 7, 7]).labels == ((7.0, 7.0),)  # one value: one class
    assert classify([]).colours == ()


@pytest.mark.slow
def test_a_map_per_indicator_with_legend_and_ranking(demo_node) -> None:  # type: ignore[no-untyped-def]
    base = demo_node.base_url + "/passport/"
    index = requests.get(base, timeout=30).text
    assert index.count('<li><a href="map-') >= 10 and 'aria-current="page">Площа території' in index
    page = requests.get(base + "map-population_total.html", timeout=30).text
    assert page.count("<path ") == 6  # the six hromadas that have a boundary on this node
    assert "Без меж на карті" in page and "60 громад" in page  # and those that do not, said
    assert "з 66 громад" in page  # the ranking says out of how many
    rows = page.split('<tbody>')[1].split('</tbody>')[0]
    assert rows.index("Житомирська") < rows.index("Овруцька")  # the city hromada ranks first by population


@pytest.mark.slow
@needs_chromium
def test_choropleth_renders_in_chromium(demo_node, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    with chromium(1000, 900) as browser:
        browser.get(demo_node.base_url + "/passport/map-population_total.html")
        svg = browser.find_element(By.CSS_SELECTOR, "svg.map")
        assert svg.size["width"] > 300 and svg.size["height"] > 150
        fills = {p.get_attribute("fill") for p in svg.find_elements(By.TAG_NAME, "path")}
        assert len(fills) >= 3, f"the hromadas are not told apart by colour: {fills}"
        legend = browser.find_elements(By.CSS_SELECTOR, ".legend li")
        assert len(legend) >= 3
        shot = svg.screenshot_as_png
        (tmp_path / "choropleth.png").write_bytes(shot)
        assert colours_in(shot) > 8, "the map is blank"
        # the selector: another indicator is another map
        browser.find_element(By.LINK_TEXT, "Річки").click()
        assert browser.current_url.endswith("map-rivers.html")
        assert "Річки" in browser.find_element(By.ID, "map-h").text


@pytest.mark.slow
@needs_chromium
def test_comparison_of_hromadas(demo_node) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    with chromium(1000, 900) as browser:
        browser.get(f"{demo_node.base_url}/passport/compare.html?h={OVRUCH}&h={OLEVSK}&h={ZHYTOMYR}")
        table = browser.find_element(By.ID, "cmp")
        heads = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")][1:]
        assert heads == ["Овруцька", "Олевська", "Житомирська"]
        population = next(r for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")
                          if r.find_element(By.TAG_NAME, "th").text.startswith("Населення (1.1.2022)"))
        cells = [td.text for td in population.find_elements(By.TAG_NAME, "td")]
        assert all("з 66" in c for c in cells), cells  # each value with its rank of 66
        assert "best" in population.find_elements(By.TAG_NAME, "td")[2].get_attribute("class")  # Zhytomyr: largest
        # the form keeps the choice; one hromada alone is not a comparison
        assert len([b for b in browser.find_elements(By.CSS_SELECTOR, "input[name=h]") if b.is_selected()]) == 3
        browser.get(f"{demo_node.base_url}/passport/compare.html?h={OVRUCH}")
        assert not browser.find_elements(By.ID, "cmp")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_printable_pdf_of_a_hromada(demo_node, tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = requests.get(f"{demo_node.base_url}/passport/{OVRUCH}.pdf", timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    pdf = tmp_path / "ovruch.pdf"
    pdf.write_bytes(r.content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Овруцька територіальна громада" in text and OVRUCH in text
    assert "Населення" in text and "з 66 громад" in text
    assert "Увійти" not in text and "Знайти" not in text  # printed without the site's header
    page = requests.get(f"{demo_node.base_url}/passport/{OVRUCH}.html", timeout=30).text
    assert f'href="{OVRUCH}.pdf"' in page
