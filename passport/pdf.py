"""The printable passport: each hromada's page as an A4 PDF (``/passport/<KATOTTH>.pdf``), printed by
WeasyPrint from the page's HTML and the node's CSS with its print rules (no browser, no internet; Cyrillic from
the DejaVu fonts of Debian's fonts-dejavu-core). WeasyPrint needs Debian's pango (scripts/install-system.sh); a
machine without it keeps the HTML pages and says why there is no PDF.

A PDF is printed when it is first asked for (:func:`printed`, called by :mod:`passport.serve`), not by the
build: printing the 66 pages of an oblast's hromadas took ~20 s of CPU, over half of the node's whole build,
and every change of a source the passports use computes them again, while most PDFs are never opened. The
first request of a page waits ~1–2 s; the PDF is then kept beside its page until the page is written again
(a PDF older than its page is printed anew). ``python -m passport.pdf PAGE.html …`` prints pages ahead."""

from __future__ import annotations

import logging
import sys
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


def fresh(page: Path, target: Path) -> bool:
    """Whether ``target`` was printed from ``page`` as it is now: a PDF is written after the page it is printed
    from, so one older than its page (the passports computed again) is stale."""
    try:
        return target.stat().st_mtime_ns >= page.stat().st_mtime_ns
    except OSError:
        return False


_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
#: one page printed at a time by a serving process: a print is a process of ~100 MB, and a caller asking for
#: every passport at once would otherwise start one per thread of every worker
_PRINTING = threading.BoundedSemaphore(1)
PRINT_TIMEOUT = 120.0


def printed(page: Path) -> Path:
    """The PDF of ``page`` (``<folder>/<KATOTTH>.html``), printed now unless a fresh one is there already.

    The page is printed in a process of its own, so that a node's serving workers neither load WeasyPrint
    (~50 MB each) nor wait for its layout under the interpreter lock; the threads of this process that ask
    for one page at once wait for one print, and pages are printed one at a time. A page written again while it was printed (a build running) is
    printed once more from what is there now. Raises PublishError naming the page when it cannot be printed;
    nothing half-written is left."""
    import subprocess

    target = page.with_suffix(".pdf")
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(target, threading.Lock())
    with lock:
        for _ in range(3):
            if fresh(page, target):
                return target
            before = page.stat()
            try:
                with _PRINTING:
                    done = subprocess.run([sys.executable, "-m", "passport.pdf", str(page)], capture_output=True,
                                          text=True, timeout=PRINT_TIMEOUT,
                                          cwd=Path(__file__).resolve().parent.parent)
            except subprocess.TimeoutExpired:
                target.with_suffix(".pdf.tmp").unlink(missing_ok=True)
                raise PublishError(f"{target.name}: printing took over {PRINT_TIMEOUT:.0f} s") from None
            if done.returncode != 0:
                why = (done.stderr.strip().splitlines() or ["no message"])[-1]
                raise PublishError(f"{target.name}: the printable passport could not be written: {why}")
            after = page.stat()
            if (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns):
                return target
            target.unlink(missing_ok=True)  # printed from a page replaced meanwhile
    raise PublishError(f"{target.name}: its page kept changing while it was printed; ask again once the "
                       "build is done")


def main(argv: list[str]) -> int:
    """``python -m passport.pdf PAGE.html …``: print each page to the PDF beside it."""
    if not argv:
        print("usage: python -m passport.pdf PAGE.html [PAGE.html …]", file=sys.stderr)
        return 2
    why = available()
    if why:
        print(why, file=sys.stderr)
        return 1
    for name in argv:
        page = Path(name)
        try:
            html = page.read_text(encoding="utf-8")
            write_pdf(html, page.parent, page.with_suffix(".pdf"))
        except (OSError, UnicodeError) as e:
            print(f"{page}: cannot read the page ({e})", file=sys.stderr)
            return 1
        except PublishError as e:
            print(str(e), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
