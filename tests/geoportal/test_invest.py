"""The investment map (issue #13): investment sites as a dataset of their own target schema, validated by the
node's ingest; the sample clearly marked as an example; published like any dataset (OGC API, WMS); ``/invest/``
with filters that narrow the list and the map in headless Chromium, and a page per site.
"""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest
import requests
from owslib.wms import WebMapService

from geoportal.config import load_config
from geoportal.invest import is_invest
from ingest import ingest_file
from ingest.pipeline import Plan
from ingest.schema import load_schema
from tests.browser import chromium, needs_chromium

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "schemas" / "investment-sites.yaml"
SAMPLE = ROOT / "data" / "invest" / "investment-sites-example.csv"


def test_the_sample_passes_the_schema_and_is_marked_as_an_example(tmp_path: Path) -> None:
    layer = ingest_file(SAMPLE, tmp_path / "o.gpkg", "sites", plan=Plan(schema=load_schema(SCHEMA)))
    assert layer.feature_count == 8 and layer.report.features_rejected == 0
    meta, _, _, data = pyogrio.raw.read(tmp_path / "o.gpkg", layer="sites")
    cols = dict(zip(meta["fields"], data))
    assert all(n.startswith("ПРИКЛАД — ") for n in cols["name_uk"])  # every site says it is an example
    assert all(e.endswith("@example.org") for e in cols["email"])
    assert sorted(cols["area_ha"]) == [0.8, 1.1, 4.2, 6.3, 9.7, 12.5, 30.0, 48.0]  # "12,5" read as a number
    assert layer.report.field_titles["dist_power_km"] == "Відстань до електромереж, км"
    cfg = load_config(ROOT / "config/nodes/zhytomyr-oblast.yaml")
    ds = next(d for d in cfg.datasets if is_invest(d))
    assert ds.title.uk.startswith("ПРИКЛАД — ") and ds.title.en.startswith("EXAMPLE — ")


def test_a_site_outside_the_schema_is_rejected_with_its_reason(tmp_path: Path) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    bad = lines[1].replace(";грінфілд;", ";замок;").replace(";12,5;", ";12,5;")
    empty_area = lines[2].replace(";4,2;", ";;")
    (tmp_path / "s.csv").write_text("\n".join([lines[0], bad, empty_area, lines[3]]) + "\n", encoding="utf-8")
    layer = ingest_file(tmp_path / "s.csv", tmp_path / "o.gpkg", "sites", plan=Plan(schema=load_schema(SCHEMA)))
    assert layer.feature_count == 1 and layer.report.features_rejected == 2  # never silently dropped
    info = pyogrio.read_info(tmp_path / "o.gpkg", layer="sites__rejected")
    _, _, _, rej = pyogrio.raw.read(tmp_path / "o.gpkg", layer="sites__rejected")
    reasons = sorted(rej[list(info["fields"]).index("reject_reason")])
    assert any("site_type" in r and "codelist" in r for r in reasons), reasons
    assert any("area_ha" in r and "required" in r for r in reasons), reasons


@pytest.mark.slow
def test_published_like_any_dataset(demo_node) -> None:  # type: ignore[no-untyped-def]
    fc = requests.get(f"{demo_node.base_url}/ogcapi/collections/investment-sites/items",
                      params={"f": "json", "limit": 50}, timeout=30).json()
    assert len(fc["features"]) == 8
    assert {f["properties"]["site_type"] for f in fc["features"]} >= {"грінфілд", "браунфілд", "індустріальний парк"}
    wms = WebMapService(f"{demo_node.base_url}/ows", version="1.3.0", timeout=60)
    assert "investment-sites" in wms.contents
    page = requests.get(f"{demo_node.base_url}/datasets/investment-sites/", timeout=30)
    assert page.status_code == 200 and "ПРИКЛАД" in page.text


@pytest.mark.slow
def test_a_page_per_site(demo_node) -> None:  # type: ignore[no-untyped-def]
    r = requests.get(f"{demo_node.base_url}/invest/INV-003/", timeout=30)
    assert r.status_code == 200
    page = r.text
    assert "ПРИКЛАД — Індустріальний парк «Олевськ»" in page and "Ця ділянка вигадана" in page
    assert "Відстань до електромереж, км" in page and "Доступна потужність, кВт" in page  # original titles
    assert "Олевська" in page  # the hromada it lies in (linked by KATOTTH at ingest)
    item = next(h for h in __import__("re").findall(r'href="([^"]+)"', page) if "/items/" in h)
    assert requests.get(item.replace("&amp;", "&"), timeout=30).status_code == 200


@pytest.mark.slow
@needs_chromium
def test_filters_narrow_the_list_and_the_map(demo_node) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    def shown(browser) -> list[str]:  # type: ignore[no-untyped-def]
        return [li.get_attribute("data-slug") for li in browser.find_elements(By.CSS_SELECTOR, "#sites li.site")
                if li.is_displayed()]

    def markers(browser) -> int:  # type: ignore[no-untyped-def]
        return len(browser.find_elements(By.CSS_SELECTOR, "#map path.leaflet-interactive"))

    with chromium(1200, 1000) as browser:
        browser.get(f"{demo_node.base_url}/invest/")
        assert browser.find_element(By.ID, "example-note").is_displayed()
        assert len(shown(browser)) == 8 and markers(browser) == 8
        tiles = browser.find_elements(By.CSS_SELECTOR, "#map img.leaflet-tile")
        assert tiles and all("/tiles/" in t.get_attribute("src") for t in tiles)  # the node's own basemap

        Select(browser.find_element(By.ID, "f-type")).select_by_visible_text("грінфілд")
        assert sorted(shown(browser)) == ["INV-001", "INV-006", "INV-007"] and markers(browser) == 3
        power = browser.find_element(By.ID, "f-power")
        power.send_keys("1")
        assert sorted(shown(browser)) == ["INV-001", "INV-007"] and markers(browser) == 2
        assert browser.find_element(By.CSS_SELECTOR, "#count strong").text == "2"

        browser.get(f"{demo_node.base_url}/invest/?area_min=5&road_max=0.5")  # a shared, filtered view
        assert sorted(shown(browser)) == ["INV-001", "INV-003", "INV-007", "INV-008"]
        browser.find_element(By.LINK_TEXT, "ПРИКЛАД — Індустріальний парк «Олевськ»").click()
        assert browser.current_url.endswith("/invest/INV-003/")


def test_a_config_written_elsewhere_still_finds_the_schema(tmp_path: Path) -> None:
    """The sample network and the tests write node configs to other folders (geoportal.config.absolutize)."""
    from ingest.schema import resolve_schema_path
    from tests.conftest import derived_config

    cfg = load_config(derived_config(tmp_path / "elsewhere.yaml"))
    ds = next(d for d in cfg.datasets if is_invest(d))
    assert resolve_schema_path(tmp_path, str(ds.schema_)) == SCHEMA
