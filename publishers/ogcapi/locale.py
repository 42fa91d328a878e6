"""pygeoapi's HTML pages in Ukrainian: the node's catalogue of the template strings
(``publishers/ogcapi/locale/uk/LC_MESSAGES/messages.po``, text a translator can edit) compiled with babel into
the workspace, where pygeoapi reads it (``server.locale_dir``). Ukrainian is the node's first language, so
a page without ``lang=`` or ``Accept-Language`` is Ukrainian; ``?lang=en`` gives the English originals."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from geoportal.model import Workspace

SOURCE = Path(__file__).resolve().parent / "locale"


def locale_dir(ws: Workspace) -> Path:
    return ws.services / "pygeoapi-locale"


def compile_catalogues(ws: Workspace) -> Path:
    """Every ``<lang>/LC_MESSAGES/messages.po`` here → ``messages.mo`` in the workspace; returns the folder."""
    out = locale_dir(ws)
    for po in SOURCE.glob("*/LC_MESSAGES/messages.po"):
        target = out / po.relative_to(SOURCE).with_suffix(".mo")
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(po, "rb") as f:
            catalogue = read_po(f, locale=po.parts[-3])
        tmp = target.with_suffix(".mo.tmp")
        with open(tmp, "wb") as f:
            write_mo(f, catalogue)
        tmp.replace(target)
    return out
