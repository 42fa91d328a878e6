"""A real headless Chromium for the page tests (Debian ``chromium`` driven by ``chromium-driver`` through
Selenium), with what a person or an auditor checks on a page: a screenshot that is not blank, the axe-core
accessibility audit (WCAG 2.1 A/AA rules) and the weight of the first load from the browser's own
performance entries.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: axe-core from npm (package.json devDependencies); GEOPORTAL_AXE_JS points at another copy
AXE = Path(os.environ.get("GEOPORTAL_AXE_JS") or ROOT / "node_modules" / "axe-core" / "axe.min.js")
CHROMIUM, DRIVER = "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"

needs_chromium = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
                                    reason="Debian chromium and chromium-driver are not installed "
                                           "(scripts/install-system.sh, GEOPORTAL_WITH_CHROMIUM=1)")


@contextmanager
def chromium(width: int = 1200, height: int = 900) -> Iterator[Any]:
    """A fresh headless Chromium (its own profile: nothing cached) that never reaches for the internet."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="gp-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        opts.add_argument(arg)
    if width < 500:  # a headless window is at least 500 px wide: emulate the phone's viewport instead
        opts.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height,
                                                                           "pixelRatio": 1.0}})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(90)
    driver.set_script_timeout(90)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def colours_in(png: bytes) -> int:
    """How many distinct colours a screenshot has (a blank or unstyled page has very few)."""
    import io

    from PIL import Image

    im = Image.open(io.BytesIO(png)).convert("RGB")
    return len(im.getcolors(maxcolors=1 << 22) or [])


def axe_violations(driver: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations of the loaded page at the given impacts, one line each."""
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed ({AXE}); run npm install (package.json devDependencies)")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(function (r) { done(r.violations); }, function (e) { done([{id: 'axe-error', impact: 'critical', "
        "help: String(e), nodes: []}]); });")
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] if isinstance(n["target"][0], str)
                                                                   else str(n["target"]) for n in v["nodes"][:4])
            for v in result if v.get("impact") in impacts]


def first_load_bytes(driver: Any, exclude: tuple[str, ...] = ("/tiles/",)) -> tuple[int, list[tuple[str, int]]]:
    """Bytes the page's first load brought (document and every resource, as the browser counted them),
    without the map tiles; and the resources, largest first."""
    entries = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(function (e) { return [e.name, Math.max(e.transferSize || 0, e.encodedBodySize || 0)]; });")
    kept = [(name, int(size)) for name, size in entries if not any(x in name for x in exclude)]
    return sum(size for _, size in kept), sorted(kept, key=lambda x: -x[1])


def outside_requests(driver: Any, origin: str) -> list[str]:
    """Resources the page asked from anywhere but the node itself."""
    names = driver.execute_script("return performance.getEntriesByType('resource').map(function (e) { return e.name; });")
    return [n for n in names if not n.startswith(origin) and not n.startswith(("data:", "blob:"))]
