"""The map viewer (``/map``) in real headless Chromium (Debian ``chromium`` + ``chromium-driver``, driven by
Selenium) against the served sample node: what a person sees and does — two layers over the offline basemap,
identify, place search, a share link, a PNG export, a phone-sized screen, the keyboard — and what an auditor
measures: axe-core violations, the page weight, and that no request leaves the node.

Each check reads the result independently of the viewer's code: pixels of the screenshot, the node's own
GeoJSON downloads and WMS capabilities (OWSLib), the browser's performance entries.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

webdriver = pytest.importorskip("selenium.webdriver")
from PIL import Image  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
WAIT = 120  # seconds: tiles and images come from MapServer CGI, slow on a busy 2-core machine

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="Debian chromium and chromium-driver are not installed"),
    pytest.mark.skipif(not (ROOT / "web" / "dist" / "map.js").is_file(), reason="the viewer is not built: make web"),
]


@pytest.fixture()
def browser() -> Iterator[Callable[..., Any]]:
    """A factory of fresh headless Chromium sessions (empty cache: the first load is what is measured)."""
    drivers: list[Any] = []

    def make(width: int = 1200, height: int = 800, phone: bool = False) -> Any:
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", f"--window-size={width},{height}"):
            opts.add_argument(arg)
        if phone:
            opts.add_experimental_option("mobileEmulation", {"deviceMetrics": {
                "width": width, "height": height, "pixelRatio": 2, "touch": True}})
        d = webdriver.Chrome(service=Service(DRIVER), options=opts)
        d.set_script_timeout(WAIT)
        drivers.append(d)
        return d

    yield make
    for d in drivers:
        d.quit()


def wait_until(d: Any, script: str, what: str, timeout: float = WAIT, done: Callable[[], str] | None = None) -> Any:
    """Poll ``script`` until it is truthy; ``done``: what the page shows instead, for the failure message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = d.execute_script(script)
        if value:
            return value
        time.sleep(0.25)
    shown = f" (the page shows: {done()!r})" if done else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{shown}")


def rendered(d: Any) -> None:
    """The viewer has its layer list and the map has drawn every tile and image it asked for."""
    wait_until(d, "return document.body.dataset.ready === 'true'", "the layer list")
    wait_until(d, "return document.body.dataset.rendered", "the map to finish drawing")


def open_map(d: Any, base: str, suffix: str = "") -> None:
    d.get(f"{base}/map/{suffix}")
    rendered(d)


def map_pixels(d: Any) -> Image.Image:
    """The map area of a screenshot (the panel and header cut off)."""
    shot = Image.open(io.BytesIO(d.get_screenshot_as_png())).convert("RGB")
    r = d.find_element(By.ID, "map").rect
    scale = shot.width / d.execute_script("return window.innerWidth")
    return shot.crop(tuple(int(v * scale) for v in (r["x"], r["y"], r["x"] + r["width"], r["y"] + r["height"])))


def colours(img: Image.Image) -> int:
    return len(img.getcolors(maxcolors=1 << 20) or [])


def changed_share(a: Image.Image, b: Image.Image) -> float:
    from PIL import ImageChops

    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > 24 else 0)
    return diff.histogram()[255] / (a.width * a.height)


def state(d: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(d.current_url).fragment)


def resources(d: Any) -> list[dict[str, Any]]:
    return d.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => ({name: e.name, transfer: e.transferSize, body: e.encodedBodySize, status: e.responseStatus}))")


def check(d: Any, element_id: str, on: bool) -> None:
    box = d.find_element(By.ID, element_id)
    if box.is_selected() != on:
        box.click()


def axe_violations(d: Any) -> list[dict[str, Any]]:
    d.execute_script(AXE.read_text(encoding="utf-8"))
    return d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => ({id: v.id,"
        " impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));")


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_two_layers_over_the_offline_basemap(demo_node, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from owslib.wms import WebMapService

    d = browser()
    open_map(d, demo_node.base_url, "#layers=hromadas,geographic-names")
    # the layer list is the node's WMS capabilities, read here independently with OWSLib
    wms = WebMapService(f"{demo_node.base_url}/ows", version="1.3.0", timeout=120)
    named = {name for name, layer in wms.contents.items() if not layer.layers}
    listed = {e.get_attribute("value") for e in d.find_elements(By.CSS_SELECTOR, "#layer-list input[type=checkbox]")}
    assert listed == named and {"hromadas", "geographic-names"} <= listed
    themes = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#layer-list legend")]
    assert "Адміністративний устрій" in themes and "Географічні назви" in themes
    legends = d.find_elements(By.CSS_SELECTOR, ".mv-legend img")
    assert len(legends) == 2
    wait_until(d, "return [...document.querySelectorAll('.mv-legend img')].every(i => i.complete && i.naturalWidth > 0)",
               "the legends (GetLegendGraphic)")
    loaded = resources(d)
    assert any("/tiles/" in r["name"] and r["status"] == 200 for r in loaded), "no basemap tile was loaded"
    for name in ("hromadas", "geographic-names"):
        assert any("REQUEST=GetMap" in r["name"] and f"LAYERS={name}&" in r["name"] and r["status"] == 200
                   for r in loaded), f"no GetMap of {name}"

    both = map_pixels(d)
    both.save(tmp_path / "two-layers.png")
    assert colours(both) > 50, "the map area is nearly blank"
    blue = sum(n for n, (r, g, b) in both.getcolors(1 << 20) if b > 150 and r < 90 and 80 < g < 150)
    assert blue > 200, "no points of the geographic names (#2171b5) on the map"

    check(d, "layer-hromadas", False)
    check(d, "layer-geographic-names", False)
    rendered(d)
    basemap = map_pixels(d)
    basemap.save(tmp_path / "basemap.png")
    assert colours(basemap) > 10, "the offline basemap drew nothing"
    assert changed_share(both, basemap) > 0.01, "turning two layers off changed nothing"
    assert "layers" not in state(d)

    check(d, "basemap", False)
    rendered(d)
    empty = map_pixels(d)
    assert changed_share(basemap, empty) > 0.01, "the basemap checkbox changed nothing"
    assert state(d)["base"] == ["0"]


def test_identify_shows_the_attributes_under_their_original_titles(demo_node, browser) -> None:  # type: ignore[no-untyped-def]
    doc = requests.get(f"{demo_node.base_url}/downloads/geographic-names.geojson", timeout=60).json()
    feature = next(f for f in doc["features"] if f["properties"]["unormovana_nazva"] == "Тетерів")
    lon, lat = feature["geometry"]["coordinates"][:2]
    d = browser()
    open_map(d, demo_node.base_url, f"#map=12/{lat}/{lon}&layers=geographic-names")
    ActionChains(d).move_to_element(d.find_element(By.ID, "map")).click().perform()  # the feature is at the centre
    wait_until(d, "return document.querySelector('#info-body table')",
               "the GetFeatureInfo table", done=lambda: d.find_element(By.ID, "info-body").text)
    info = d.find_element(By.ID, "info")
    assert info.is_displayed()
    rows = {th.text: th.find_element(By.XPATH, "following-sibling::td").text
            for th in info.find_elements(By.CSS_SELECTOR, "th")}
    assert "Унормована назва" in rows and "Вид географічного об’єкту" in rows, rows
    names = [td.text for td in info.find_elements(By.XPATH, "//th[text()='Унормована назва']/following-sibling::td")]
    assert "Тетерів" in names
    assert "Фізико-географічні об’єкти" in info.find_element(By.CSS_SELECTOR, "caption").text
    # the same from the keyboard: Escape closes it, the button asks at the centre of the map
    d.find_element(By.ID, "map").send_keys(Keys.ESCAPE)
    assert not info.is_displayed()
    d.find_element(By.ID, "identify-centre").send_keys(Keys.ENTER)
    wait_until(d, "return document.querySelector('#info-body table')", "the table again")


@pytest.mark.parametrize("q", ["ovruch", "овруч"])
def test_place_search_moves_the_map_to_ovruch(demo_node, browser, q: str) -> None:  # type: ignore[no-untyped-def]
    from shapely.geometry import Point, shape

    doc = requests.get(f"{demo_node.base_url}/downloads/hromadas.geojson", timeout=60).json()
    hromada = shape(next(f for f in doc["features"] if f["properties"]["admin_3"] == "Овруцька")["geometry"])
    d = browser()
    open_map(d, demo_node.base_url)
    before = state(d)["map"][0]
    field = d.find_element(By.ID, "place-q")
    field.send_keys(q, Keys.ENTER)
    wait_until(d, "return document.getElementById('status').textContent.includes('Овруч')", "the place")
    first = d.find_element(By.CSS_SELECTOR, "#place-results li button")
    assert first.text.splitlines()[0] == "Овруч"
    assert "Овруцька громада" in first.text
    zoom, lat, lon = (float(v) for v in state(d)["map"][0].split("/"))
    assert state(d)["map"][0] != before
    assert hromada.contains(Point(lon, lat)), (lon, lat)
    assert zoom >= 9


def test_share_link_round_trip(demo_node, browser) -> None:  # type: ignore[no-untyped-def]
    d = browser()
    open_map(d, demo_node.base_url)
    check(d, "layer-hromadas", True)
    check(d, "layer-nature-protection", True)
    opacity = d.find_element(By.ID, "layer-hromadas-opacity")
    for _ in range(3):
        opacity.send_keys(Keys.ARROW_LEFT)  # 100 → 70, by keyboard
    before = state(d)["map"][0]
    d.find_element(By.ID, "map").send_keys("+")  # OpenLayers' keyboard zoom
    wait_until(d, f"return location.hash.includes('layers=') && !location.hash.includes('map={before}&')",
               "the state in the hash", 60)
    rendered(d)
    link = d.find_element(By.ID, "share-url").get_attribute("value")
    shared = parse_qs(urlsplit(link).fragment)
    assert shared["layers"] == ["hromadas:70,nature-protection"]

    d.get("about:blank")
    d.get(link)
    rendered(d)
    assert d.find_element(By.ID, "layer-hromadas").is_selected()
    assert d.find_element(By.ID, "layer-nature-protection").is_selected()
    assert not d.find_element(By.ID, "layer-geographic-names").is_selected()
    assert d.find_element(By.ID, "layer-hromadas-opacity").get_attribute("value") == "70"
    assert d.find_element(By.ID, "layer-nature-protection-opacity").get_attribute("value") == "100"
    restored = state(d)
    assert restored["layers"] == shared["layers"]
    z1, lat1, lon1 = (float(v) for v in shared["map"][0].split("/"))
    z2, lat2, lon2 = (float(v) for v in restored["map"][0].split("/"))
    assert (z2, lat2, lon2) == pytest.approx((z1, lat1, lon1), abs=1e-4)


def test_export_png_is_the_map(demo_node, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = browser()
    open_map(d, demo_node.base_url, "#layers=hromadas,geographic-names")
    d.find_element(By.ID, "export").click()
    wait_until(d, "return !document.getElementById('export-link').hidden", "the exported image")
    href = d.find_element(By.ID, "export-link").get_attribute("href")
    assert href.startswith("data:image/png;base64,")
    png = base64.b64decode(href.split(",", 1)[1])
    (tmp_path / "export.png").write_bytes(png)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    r = d.find_element(By.ID, "map").rect
    assert (img.width, img.height) == (round(r["width"]), round(r["height"]))
    assert colours(img) > 50
    assert changed_share(img, map_pixels(d).resize(img.size)) < 0.25, "the export does not look like the map"


def test_accessibility_weight_and_no_request_leaves_the_node(demo_node, browser) -> None:  # type: ignore[no-untyped-def]
    d = browser()
    open_map(d, demo_node.base_url, "#layers=hromadas,geographic-names")
    entries = resources(d)
    origin = urlsplit(demo_node.base_url)
    outside = [e["name"] for e in entries if urlsplit(e["name"]).hostname not in ("127.0.0.1", "localhost")]
    assert outside == [], outside
    page = [e for e in entries if "/tiles/" not in e["name"] and "REQUEST=GetMap" not in e["name"]]
    weight = sum(max(e["transfer"] or 0, e["body"] or 0) for e in page)
    assert weight < 500_000, f"first load is {weight} bytes without the map images: " + json.dumps(page)
    assert all(urlsplit(e["name"]).port == origin.port for e in entries)

    violations = axe_violations(d)
    assert serious(violations) == [], json.dumps(violations, ensure_ascii=False, indent=1)
    d.get(f"{demo_node.base_url}/map/?lang=en#layers=hromadas")
    rendered(d)
    assert d.find_element(By.CSS_SELECTOR, "html").get_attribute("lang") == "en"
    assert d.find_element(By.CSS_SELECTOR, "label[for=layer-hromadas]").text.startswith("Territorial communities")
    violations = axe_violations(d)
    assert serious(violations) == [], json.dumps(violations, ensure_ascii=False, indent=1)


def test_phone_screen_and_keyboard(demo_node, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = browser(360, 740, phone=True)
    open_map(d, demo_node.base_url, "#layers=hromadas")
    assert d.execute_script("return window.innerWidth") == 360
    assert d.execute_script("return document.documentElement.scrollWidth") <= 360, "the page scrolls sideways"
    toggle = d.find_element(By.ID, "panel-toggle")
    panel = d.find_element(By.ID, "panel")
    assert toggle.get_attribute("aria-expanded") == "false" and not panel.is_displayed()  # a phone opens on the map
    assert d.find_element(By.ID, "map").rect["width"] == 360
    assert toggle.rect["height"] >= 44 and toggle.rect["width"] >= 44  # a finger-sized target
    scale = d.find_element(By.CSS_SELECTOR, ".ol-scale-line").rect
    credit = d.find_element(By.CSS_SELECTOR, ".ol-attribution").rect
    # the scale bar never covers the sources' credit (which spanned a phone's width)
    apart = (scale["x"] + scale["width"] <= credit["x"] or credit["x"] + credit["width"] <= scale["x"]
             or scale["y"] + scale["height"] <= credit["y"] or credit["y"] + credit["height"] <= scale["y"])
    assert apart, (scale, credit)
    map_pixels(d).save(tmp_path / "phone-map.png")
    assert colours(map_pixels(d)) > 20

    # the panel by keyboard: the skip link first, then the toggle
    d.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert d.switch_to.active_element.get_attribute("class") == "mv-skip"
    d.switch_to.active_element.send_keys(Keys.TAB)
    assert d.switch_to.active_element.get_attribute("id") == "panel-toggle"
    d.switch_to.active_element.send_keys(Keys.ENTER)
    assert toggle.get_attribute("aria-expanded") == "true" and panel.is_displayed()
    assert panel.rect["width"] <= 360
    assert d.switch_to.active_element.get_attribute("id") == "panel-toggle"  # a disclosure keeps the focus
    for _ in range(4):  # past the header's two links and its data search box, into the panel: the place search
        d.switch_to.active_element.send_keys(Keys.TAB)
    assert d.switch_to.active_element.get_attribute("id") == "place-q"
    d.switch_to.active_element.send_keys("ovruch", Keys.ENTER)
    wait_until(d, "return document.getElementById('status').textContent.includes('Овруч')", "the place")
    box = d.find_element(By.ID, "layer-geographic-names")
    d.execute_script("arguments[0].scrollIntoView()", box)
    box.send_keys(Keys.SPACE)
    assert box.is_selected() and "geographic-names" in state(d)["layers"][0]
    d.save_screenshot(str(tmp_path / "phone-panel.png"))
    assert d.execute_script("return document.documentElement.scrollWidth") <= 360
    violations = axe_violations(d)
    assert serious(violations) == [], json.dumps(violations, ensure_ascii=False, indent=1)
    toggle.click()
    assert not panel.is_displayed()
