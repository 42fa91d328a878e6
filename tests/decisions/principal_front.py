"""``python tests/decisions/principal_front.py CONFIG WORKDIR PORT``: ``geoportal serve`` with a small WSGI
wrapper that takes the caller from the test header ``X-Test-Principal: NAME|ROLE[,ROLE]|KATOTTH`` and puts it
where the access front will (``environ["geoportal.principal"]``). Tests only: it stands in for the login
front (helper authweb) so the decision writes can be driven through HTTP by any user the test names."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from access.config import Role
from access.principal import Principal
from access.web import PRINCIPAL
from geoportal import serve


def principal(header: str | None) -> Principal | None:
    if not header:
        return None
    name, roles, org = (header.split("|") + ["", ""])[:3]
    return Principal(name=name, roles=frozenset(Role(r) for r in roles.split(",") if r), organisation=org or None)


class WithPrincipal(serve.NodeApp):
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ.pop(PRINCIPAL, None)
        p = principal(environ.get("HTTP_X_TEST_PRINCIPAL"))
        if p is not None:
            environ[PRINCIPAL] = p
        return super().__call__(environ, start_response)


def main() -> None:
    from geoportal.cli import _serve

    config, workdir, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    serve.NodeApp = WithPrincipal  # type: ignore[misc]
    _serve(Path(config), Path(workdir), "127.0.0.1", port, None, 1)


if __name__ == "__main__":
    main()
