"""What the public passport may say: an indicator computed from a dataset that is not public (``access:``
officials or restricted) is withheld — its value, rank and average are left out and the passport says why —
and so is a ratio built on one. When the hromada boundaries themselves are not public, the public passport
carries no geometry. Otherwise a restricted layer would leak through the figures computed from it (counted
sites, their areas) to anyone who opens a passport, its CSV, JSON, GeoPackage or OGC API collection.

Showing the withheld figures to those whose role allows them is the access rules' part (access/).
"""

from __future__ import annotations

from dataclasses import replace

from geoportal.config import Access, NodeConfig
from passport.compute import Result, Value
from passport.config import PassportConfig

WITHHELD = "withheld"


def restricted_sources(cfg: NodeConfig) -> set[str]:
    """The datasets of the node that are not public."""
    return {d.id for d in cfg.datasets if d.access != Access.public}


def withheld_indicators(cfg: NodeConfig, pcfg: PassportConfig) -> set[str]:
    """Ids of the indicators whose value depends on a dataset that is not public."""
    restricted = restricted_sources(cfg)
    out = {i.id for i in pcfg.indicators
           if (pcfg.hromadas.dataset if i.source == "boundary" else i.source) in restricted}
    grew = True
    while grew:  # ratios of withheld indicators, and ratios of those
        before = len(out)
        out |= {i.id for i in pcfg.indicators if i.numerator in out or i.denominator in out}
        grew = len(out) > before
    return out


def withhold(cfg: NodeConfig, pcfg: PassportConfig, res: Result) -> Result:
    """The result as the public may see it (a new object; ``res`` is left as computed)."""
    hidden = withheld_indicators(cfg, pcfg)
    values = {iid: ({c: Value(None, v.source, WITHHELD, "") for c, v in vals.items()} if iid in hidden else vals)
              for iid, vals in res.values.items()}
    hromadas = res.hromadas
    if pcfg.hromadas.dataset in restricted_sources(cfg):
        hromadas = [replace(h, geometry=None) for h in hromadas]
    return replace(res, values=values, hromadas=hromadas, withheld=set(hidden))
