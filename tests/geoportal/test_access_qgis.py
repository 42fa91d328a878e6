"""QGIS's authentication configuration (method Basic) against the access front: WMS, WFS and OGC API
Features load with the user's credentials, and the node knows who loaded them (its audit log says so);
with a wrong password every layer fails. PyQGIS runs with the SYSTEM python as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.geoportal.access_client import PASSWORD, Node, audit

QGIS_PYTHON = "/usr/bin/python3"
CHECK = Path(__file__).with_name("qgis_auth_check.py")


def _has_pyqgis() -> bool:
    if not Path(QGIS_PYTHON).exists():
        return False
    return subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode == 0


pytestmark = [pytest.mark.qgis, pytest.mark.slow,
              pytest.mark.skipif(not _has_pyqgis(), reason="PyQGIS (Debian python3-qgis) is not installed")]


def load_in_qgis(node: Node, user: str, password: str, tmp_path: Path) -> dict[str, dict]:
    base = node.served.base_url
    ds = next(d for d, layer in sorted(node.served.layers.items()) if layer["location"]["backend"] != "cog")
    spec = {"user": user, "password": password, "layers": [
        {"name": ds, "provider": "wms", "uri": f"crs=EPSG:4326&format=image/png&layers={ds}&styles=&url={base}/ows"},
        {"name": ds, "provider": "WFS", "uri": f"url='{base}/ows' typename='gp:{ds}' version='2.0.0' srsname='EPSG:4326'"},
        {"name": ds, "provider": "OAPIF", "uri": f"url='{base}/ogcapi' typename='{ds}'"},
    ]}
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(QT_QPA_PLATFORM="offscreen", PATH="/usr/bin:/bin", HOME=str(tmp_path),
               QGIS_AUTH_DB_DIR_PATH=str(tmp_path))  # a fresh QGIS profile and authentication database
    out = subprocess.run([QGIS_PYTHON, str(CHECK), str(tmp_path / "spec.json")], capture_output=True, text=True,
                         env=env, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("[")][-1]
    return {r["provider"]: r for r in json.loads(line)}


# a user no other test logs in as: a Basic login is audited once, then remembered for a minute
USER = "qgis-desktop"


def test_qgis_basic_authentication_configuration(access_node: Node, tmp_path: Path) -> None:
    before = len(audit(access_node))
    ok = load_in_qgis(access_node, USER, PASSWORD, tmp_path / "right")
    assert all(r["valid"] for r in ok.values()), ok
    assert ok["WFS"]["count"] == ok["OAPIF"]["count"] > 0
    logins = [e for e in audit(access_node)[before:] if e["action"] == "login" and e["user"] == USER]
    assert logins and {e["outcome"] for e in logins} == {"ok"}

    try:
        bad = load_in_qgis(access_node, USER, "not the password", tmp_path / "wrong")
        assert not any(r["valid"] for r in bad.values()), bad
    finally:  # QGIS connects from 127.0.0.1 like other tests: do not leave that address locked out
        from access.users import open_users
        from geoportal.config import load_config

        users = open_users(load_config(access_node.served.config), access_node.served.workdir)
        users.clear_failures("addr:127.0.0.1")
        users.clear_failures(f"user:{USER}")
