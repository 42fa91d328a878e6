"""The one value every document source yields (:class:`Doc`), in a module of its own so that the sources in
other modules (:mod:`search.registers`, :mod:`search.network`) and the registry that lists them
(:mod:`search.documents`) import it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Doc:
    """One findable thing, as the index stores it and a hit shows it."""

    id: str
    type: str  # dataset | service | passport | decision | project (the document types of the registry)
    title_uk: str
    title_en: str = ""
    text: str = ""  # abstract, keywords, organisation: searched, not shown
    node: str = ""  # the node that published it (its id, or its URL when harvested from further away)
    level: str = ""  # oblast | raion | hromada | settlement (of its territory)
    theme: str = ""
    organisation: str = ""
    territory: list[str] = field(default_factory=list)  # KATOTTH codes
    formats: list[str] = field(default_factory=list)
    licence: str = ""
    access: str = "public"
    key: str = ""  # the dataset key <origin node id>/<dataset id> (catalog.access_marker); "" for no dataset
    updated: str = ""  # ISO date
    bbox: tuple[float, float, float, float] | None = None  # lon/lat
    links: list[dict[str, str]] = field(default_factory=list)
    status: str = ""  # a decision's status, a project's stage (decisions.model); "" for other types
    summary: str = ""  # shown under the title (a decision's summary); searched too
    place: str = ""  # a passport's hromada name: what the page's hromada picker lists


def level_of(katotth: str) -> str:
    """The level of a KATOTTH code by its digits: UA + oblast 2 + raion 2 + hromada 3 + settlement 3 …"""
    d = katotth[2:]
    if len(d) < 10:
        return ""
    if d[2:4] == "00":
        return "oblast"
    if d[4:7] == "000":
        return "raion"
    if d[7:10] == "000":
        return "hromada"
    return "settlement"
