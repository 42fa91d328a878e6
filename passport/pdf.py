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
from typing import Any

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
PRINT_TIMEOUT = 120.0
#: a printer left unused this long exits (and gives back its ~100 MB); the next PDF asked for starts another
PRINTER_IDLE = 300.0


class _Printer:
    """``python -m passport.pdf --serve``, kept running for the PDFs a serving process is asked for: it loads
    WeasyPrint once (~1.4 s) where a process per page paid that for each ~0.4 s page, and the serving workers
    never load it themselves (~50 MB each). It prints one page at a time: a caller asking for every passport
    at once gets them one after the other, never a printing process per thread."""

    def __init__(self) -> None:
        self._proc: Any = None
        self._lock = threading.Lock()

    def _start(self) -> Any:
        import subprocess

        return subprocess.Popen([sys.executable, "-m", "passport.pdf", "--serve", str(PRINTER_IDLE)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                bufsize=1, cwd=Path(__file__).resolve().parent.parent)

    def print(self, page: Path) -> None:
        """Print ``page`` to the PDF beside it; PublishError naming it when it cannot be."""
        import select

        target = page.with_suffix(".pdf")
        with self._lock:
            for _ in range(2):  # a printer that exited (idle, killed) is started again, once
                if self._proc is None or self._proc.poll() is not None:
                    self._proc = self._start()
                try:
                    self._proc.stdin.write(str(page) + "\n")
                    self._proc.stdin.flush()
                except (BrokenPipeError, OSError):
                    self._proc = None
                    continue
                ready, _, _ = select.select([self._proc.stdout], [], [], PRINT_TIMEOUT)
                if not ready:
                    self._proc.kill()
                    self._proc.wait()
                    self._proc = None
                    target.with_suffix(".pdf.tmp").unlink(missing_ok=True)
                    raise PublishError(f"{target.name}: printing took over {PRINT_TIMEOUT:.0f} s")
                answer = self._proc.stdout.readline()
                if not answer:  # it exited before answering (idle at that moment, or killed)
                    self._proc.wait()
                    self._proc = None
                    continue
                if answer.startswith("ok"):
                    return
                raise PublishError(answer.partition(" ")[2].strip() or f"{target.name}: not printed")
        raise PublishError(f"{target.name}: the printing process could not be started")


_PRINTER = _Printer()


def printed(page: Path) -> Path:
    """The PDF of ``page`` (``<folder>/<KATOTTH>.html``), printed now unless a fresh one is there already.

    Printed by this process's :class:`_Printer`; the threads that ask for one page at once wait for one print.
    A page written again while it was printed (a build running) is printed once more from what is there now.
    Raises PublishError naming the page when it cannot be printed; nothing half-written is left."""
    target = page.with_suffix(".pdf")
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(target, threading.Lock())
    with lock:
        for _ in range(3):
            if fresh(page, target):
                return target
            before = page.stat()
            _PRINTER.print(page)
            after = page.stat()
            if (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns):
                return target
            target.unlink(missing_ok=True)  # printed from a page replaced meanwhile
    raise PublishError(f"{target.name}: its page kept changing while it was printed; ask again once the "
                       "build is done")


def print_page(page: Path) -> None:
    """Print ``page`` to the PDF beside it (in this process); PublishError naming the page when it cannot be."""
    try:
        html = page.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as e:
        raise PublishError(f"{page.with_suffix('.pdf').name}: its page {page.name} cannot be read ({e})") from None
    write_pdf(html, page.parent, page.with_suffix(".pdf"))


def serve(idle: float) -> int:
    """The printer's loop (``--serve IDLE``): a page's path per line in, ``ok`` or ``error <why>`` per line out;
    ends at the end of its input (its serving process gone) or after ``idle`` seconds without a page."""
    import select

    why = available()
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], idle)
        line = sys.stdin.readline() if ready else ""
        if not line:
            return 0
        page = Path(line.rstrip("\n"))
        try:
            if why:
                raise PublishError(f"{page.with_suffix('.pdf').name}: {why}")
            print_page(page)
            answer = "ok"
        except PublishError as e:
            answer = "error " + " ".join(str(e).split())
        except Exception as e:  # noqa: BLE001 - whatever failed, the page is answered and the printer goes on
            answer = "error " + " ".join(f"{page.with_suffix('.pdf').name}: {type(e).__name__}: {e}".split())
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()


def main(argv: list[str]) -> int:
    """``python -m passport.pdf PAGE.html …``: print each page to the PDF beside it."""
    if argv[:1] == ["--serve"]:
        return serve(float(argv[1]) if len(argv) > 1 else PRINTER_IDLE)
    if not argv:
        print("usage: python -m passport.pdf PAGE.html [PAGE.html …]", file=sys.stderr)
        return 2
    why = available()
    if why:
        print(why, file=sys.stderr)
        return 1
    for name in argv:
        try:
            print_page(Path(name))
        except PublishError as e:
            print(str(e), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
