"""``GET /decisions/overdue[?as_of=YYYY-MM-DD][&f=json]``: what is overdue on that day (default: today, UTC)
in the register of this node and of every node reachable from it — at the oblast, all its hromadas — as a
page in the node's look or as JSON. It is :func:`decisions.overview.network_overdue`, the same reading as
``geoportal decision overdue --network``: each node's published ``decisions`` asked ``next_due<as_of``, so a
milestone that passed its day shows without any rebuild; a node that does not answer is listed with its error.

The page is public, as the registers it reads are. Each request asks every node once (a 10 s timeout each).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from decisions.model import STATUS_UK
from decisions.web_forms import BadForm, json_reply, node_config, page, refusal

StartResponse = Callable[..., Any]


def overdue_page(environ: dict[str, Any], start_response: StartResponse, ws_root: Path) -> Iterable[bytes]:
    from decisions.nodeurl import node_base_url
    from decisions.overview import network_overdue
    from decisions.publish import issuer_names
    from decisions.web_forms import wants_json
    from geoportal.model import Workspace

    q = parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=20)
    raw = (q.get("as_of") or [""])[0].strip() or date.today().isoformat()
    try:
        as_of = date.fromisoformat(raw).isoformat()
    except ValueError:
        e = BadForm(f"as_of: '{raw[:40]}' is not a day; give YYYY-MM-DD")
        if wants_json(environ):
            return json_reply(start_response, 400, {"code": "BadRequest", "description": str(e)})
        return refusal(environ, start_response, e, ws_root, environ.get("SCRIPT_NAME", "") + "/overdue")
    cfg = node_config(ws_root)
    found = network_overdue(cfg, node_base_url(cfg, Workspace(ws_root)), as_of=as_of)
    rows = [r for r in found if "id" in r]
    errors = [r for r in found if "error" in r]
    if wants_json(environ):
        return json_reply(start_response, 200, {"as_of": as_of, "node": cfg.node.id, "overdue": rows,
                                                "errors": errors})
    nodes = len({r["katotth"] for r in found}) or 1
    return page(environ, start_response, 200, "overdue.html", ws_root, rows=rows, errors=errors, as_of=as_of,
                node_name=cfg.node.name.uk, nodes=max(nodes, 1), status_uk=STATUS_UK,
                names=issuer_names(cfg, Workspace(ws_root)))
