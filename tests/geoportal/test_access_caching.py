"""A real shared cache in front of the node (nginx ``proxy_cache``) never hands one user's answer to another.

The cache is set up the careless way a deployment might: it caches every 200 for ten minutes and its key
is the URL only (not the Authorization header, not the cookie). Only the node's ``Cache-Control`` and
``Vary`` stand between a logged-in user's answer and the next anonymous visitor.
"""

from __future__ import annotations

import base64
import http.client
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from geoportal.serve import free_port, wait_for
from tests.geoportal.access_client import PASSWORD, Node

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="needs nginx (nginx-light, scripts/install-system.sh)")


@pytest.fixture(scope="module")
def cache(access_node: Node, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    d = tmp_path_factory.mktemp("nginx-cache")
    port = free_port()
    upstream = access_node.served.base_url.removeprefix("http://")
    user = "user root;\n" if os.geteuid() == 0 else ""  # its workers must reach the test's private folder
    temp = " ".join(f"{k}_temp_path {d}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (d / "nginx.conf").write_text(f"""
{user}daemon off; pid {d}/nginx.pid; error_log {d}/error.log; worker_processes 1;
events {{ worker_connections 64; }}
http {{
  access_log off; {temp}
  proxy_cache_path {d}/cache keys_zone=shared:1m;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://{upstream};
      proxy_set_header Host $http_host;
      proxy_cache shared;
      proxy_cache_valid 200 10m;
      add_header X-Cache $upstream_cache_status always;
    }}
  }}
}}
""")
    proc = subprocess.Popen([NGINX, "-c", str(d / "nginx.conf"), "-p", str(d)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for("127.0.0.1", port, "/whoami?f=json", proc=proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheader("X-Cache", ""), r.read()
    finally:
        conn.close()


BASIC = {"Authorization": "Basic " + base64.b64encode(f"qgis:{PASSWORD}".encode()).decode()}


def test_a_users_answer_is_not_served_to_the_next_anonymous_visitor(cache: int) -> None:
    status, _, body = get(cache, "/whoami?f=json&probe=1", BASIC)
    assert status == 200 and b'"qgis"' in body
    status, x_cache, body = get(cache, "/whoami?f=json&probe=1")
    assert status == 200 and b'"anonymous": true' in body and x_cache != "HIT"


def test_a_credentialed_service_answer_stays_out_of_the_shared_cache(cache: int) -> None:
    path = "/ogcapi/collections?f=json"
    status, _, _ = get(cache, path, BASIC)
    assert status == 200
    _, x_cache, _ = get(cache, path)
    assert x_cache != "HIT"  # the anonymous visitor is answered by the node, not from the user's copy


def test_anonymous_public_answers_are_still_cached(cache: int) -> None:
    get(cache, "/?probe=3")
    time.sleep(0.2)
    _, x_cache, body = get(cache, "/?probe=3")
    assert x_cache == "HIT" and b"<html" in body
