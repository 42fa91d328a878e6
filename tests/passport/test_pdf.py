"""The printable passport, printed when first asked for (passport/pdf.py through passport/serve.py): a real
WeasyPrint in its own process, read back with pdftotext (an independent reader)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from geoportal.static_files import StaticFiles
from passport.serve import PassportFiles

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")

KATOTTH = "UA18040230000020763"
PAGE = ("<!doctype html><html lang='uk'><head><meta charset='utf-8'><title>{0}</title></head>"
        "<body><h1>{0}</h1><p>Населення: 1 234 осіб</p></body></html>")


def _get(app: Any, path: str) -> tuple[str, bytes]:
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "/passport"}, start))
    return seen["status"], body


def _text(pdf: bytes, tmp_path: Path) -> str:
    f = tmp_path / "read.pdf"
    f.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "passport"
    out.mkdir()
    (out / f"{KATOTTH}.html").write_text(PAGE.format("Овруцька громада"), encoding="utf-8")
    return out


def test_a_pdf_is_printed_when_first_asked_for_then_kept_until_its_page_changes(folder: Path, tmp_path: Path) -> None:
    app = PassportFiles(folder.parent, StaticFiles(folder), StaticFiles(tmp_path / "none"), None)
    pdf = folder / f"{KATOTTH}.pdf"
    assert not pdf.exists()  # the build writes none
    status, body = _get(app, f"/{KATOTTH}.pdf")
    assert status.startswith("200") and body.startswith(b"%PDF-")
    assert "Овруцька громада" in _text(body, tmp_path) and "1 234" in _text(body, tmp_path)
    printed_at = pdf.stat().st_mtime_ns
    assert _get(app, f"/{KATOTTH}.pdf")[1] == body and pdf.stat().st_mtime_ns == printed_at  # kept, not reprinted
    # the passports computed again: the page is written anew, and the PDF follows it
    (folder / f"{KATOTTH}.html").write_text(PAGE.format("Олевська громада"), encoding="utf-8")
    later = pdf.stat().st_mtime_ns + 1_000_000
    os.utime(folder / f"{KATOTTH}.html", ns=(later, later))
    status, body = _get(app, f"/{KATOTTH}.pdf")
    assert status.startswith("200") and "Олевська громада" in _text(body, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [f"{KATOTTH}.html", f"{KATOTTH}.pdf"]


def test_no_page_no_pdf_and_a_page_that_cannot_be_printed_is_a_503_naming_it(folder: Path, tmp_path: Path) -> None:
    app = PassportFiles(folder.parent, StaticFiles(folder), StaticFiles(tmp_path / "none"), None)
    for path in ("/UA00000000000000000.pdf", "/../passport/x.pdf", f"/{KATOTTH}.pdf/x"):
        assert _get(app, path)[0][:3] in ("404", "400"), path
    broken = folder / "UA18040230000099999.html"
    broken.write_bytes(b"\xff\xfe not UTF-8 \xc3\x28")
    status, body = _get(app, "/UA18040230000099999.pdf")
    assert status.startswith("503") and b"UA18040230000099999" in body, body
    assert sorted(p.name for p in folder.iterdir()) == [f"{KATOTTH}.html", broken.name]  # nothing half-written


def test_a_printer_left_idle_exits_and_the_next_pdf_starts_another(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The printing process of a serving process gives its memory back once unused, and is started again."""
    import time

    from passport import pdf

    monkeypatch.setattr(pdf, "PRINTER_IDLE", 0.5)
    printer = pdf._Printer()
    printer.print(folder / f"{KATOTTH}.html")
    first = printer._proc
    assert (folder / f"{KATOTTH}.pdf").read_bytes().startswith(b"%PDF-")
    first.wait(timeout=30)  # idle: it ends by itself
    (folder / f"{KATOTTH}.pdf").unlink()
    time.sleep(0.1)
    printer.print(folder / f"{KATOTTH}.html")
    assert printer._proc is not first and (folder / f"{KATOTTH}.pdf").read_bytes().startswith(b"%PDF-")
    printer._proc.stdin.close()  # its serving process gone: it ends
    printer._proc.wait(timeout=30)
