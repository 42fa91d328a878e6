"""The printable passport: each hromada's page as an A4 PDF (``/passport/<KATOTTH>.pdf``), written at build
time by WeasyPrint from the same HTML and the node's CSS with its print rules (no browser, no internet;
Cyrillic from the DejaVu fonts of Debian's fonts-dejavu-core). WeasyPrint needs Debian's pango
(scripts/install-system.sh); a machine without it keeps the HTML pages and says why there is no PDF."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from geoportal.errors import PublishError
from geoportal.portal import ASSETS

log = logging.getLogger(__name__)


def available() -> str | None:
    """None when PDFs can be written here, else the reason they cannot."""
    try:
        import weasyprint  # noqa: F401  (loads pango through cffi at import)
    except (ImportError, OSError) as e:
        return f"WeasyPrint cannot load ({e}); install pango (scripts/install-system.sh) and weasyprint"
    return None


def write_pdf(html: str, folder: Path, target: Path) -> Path:
    """``html`` (a page of ``folder``) printed to ``target``, written aside and moved into place."""
    from weasyprint import HTML, default_url_fetcher

    def fetch(url: str) -> dict:  # type: ignore[type-arg]
        """The node's stylesheet from the package (the page links it as ../assets/portal.css); nothing from
        the network."""
        if url.endswith("/assets/portal.css"):
            return {"file_obj": (ASSETS / "portal.css").open("rb"), "mime_type": "text/css"}
        if not url.startswith("file:"):
            raise ValueError(f"not fetched while printing: {url}")
        return default_url_fetcher(url)

    tmp = target.with_suffix(".pdf.tmp")
    quiet = logging.getLogger("weasyprint")  # it warns for every screen-only CSS rule it skips, on every page
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        HTML(string=html, base_url=str(folder) + "/", url_fetcher=fetch).write_pdf(tmp, presentational_hints=True)
    except Exception as e:  # noqa: BLE001 - WeasyPrint raises many kinds; the page that failed is what matters
        tmp.unlink(missing_ok=True)
        raise PublishError(f"{target.name}: the printable passport could not be written ({type(e).__name__}: {e})") from e
    finally:
        quiet.setLevel(level)
    tmp.replace(target)
    return target


def write_pdfs(pages: list[tuple[str, Path]], folder: Path) -> None:
    """Each (html, target) of ``folder`` printed as by :func:`write_pdf`, on every core: WeasyPrint's layout
    is pure Python and a node's 66 hromada pages took most of a build on one core.

    Worker processes are forked only while this process runs no other thread (a fork would copy a lock
    another thread holds); otherwise, and for a handful of pages, the pages are printed here one by one."""
    workers = min(os.cpu_count() or 1, len(pages) // 4)
    if workers < 2 or threading.active_count() > 1:
        for html, target in pages:
            write_pdf(html, folder, target)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        # every page is waited for: the first failure is raised (a PublishError naming the page) after the
        # others have finished, so no worker is left writing when the build reports it
        futures = [pool.submit(write_pdf, html, folder, target) for html, target in pages]
        errors = [f.exception() for f in futures]
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
