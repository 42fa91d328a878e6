"""A client for the tests of the access front: requests from chosen loopback addresses, a cookie-keeping
browser that shows every Set-Cookie attribute, and the served node those tests share (see conftest)."""

from __future__ import annotations

import base64
import http.client
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from tests.conftest import ROOT, ServedNode, derived_config, serve_node

AUDIENCE = "zhytomyr-network"
OBLAST_ISSUER = "https://oblast.example.org"
PASSWORD = "correct horse battery staple"
OBLAST_ORG = "UA18000000000041385"
PUBLISHER = "publisher-token-of-the-test"


def geoportal(*args: str, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "geoportal.cli", *args], input=stdin, text=True,
                          capture_output=True, cwd=ROOT, check=check, timeout=120)


@dataclass
class Node:
    served: ServedNode
    other_config: Path
    other_workdir: Path

    @property
    def host_port(self) -> tuple[str, int]:
        u = urlsplit(self.served.base_url)
        return u.hostname or "127.0.0.1", u.port or 80

    def cli(self, *args: str, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess[str]:
        return geoportal(*args, "--config", str(self.served.config), "--workdir", str(self.served.workdir),
                         stdin=stdin, check=check)


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name, "")

    def all(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> dict:
        return json.loads(self.body)


def request(node: Node, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None,
            source: str = "127.0.0.1") -> Answer:
    """One HTTP request from loopback address ``source`` (no redirects followed, no cookies kept)."""
    host, port = node.host_port
    conn = http.client.HTTPConnection(host, port, timeout=60, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return Answer(r.status, r.headers, r.read())
    finally:
        conn.close()


class Browser:
    """A minimal cookie-keeping client, so the tests see every Set-Cookie attribute the node sends."""

    def __init__(self, node: Node, source: str):
        self.node, self.source, self.cookies = node, source, {}

    def _remember(self, a: Answer) -> None:
        for c in a.all("Set-Cookie"):
            name, _, rest = c.partition("=")
            value = rest.split(";")[0]
            if "Max-Age=0" in c:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def go(self, method: str, path: str, form: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> Answer:
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        a = request(self.node, method, path, h, body, self.source)
        self._remember(a)
        return a

    def csrf(self, path: str = "/login") -> str:
        page = self.go("GET", path)
        m = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert m, page.text
        return m.group(1)

    def login(self, name: str, password: str = PASSWORD, next_path: str = "/whoami") -> Answer:
        return self.go("POST", "/login", {"csrf_token": self.csrf(), "name": name, "password": password,
                                          "next": next_path})

    def whoami(self) -> dict:
        a = self.go("GET", "/whoami?f=json")
        assert a.status == 200, a.text
        return a.json()


def basic(name: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start_access_node(base: Path) -> Node:
    """The sample node with an ``access:`` section, users made by the CLI, and a second workspace (the
    oblast's identity node) whose JWKS file the served node lists in ``trusted_issuers``."""
    # the oblast's identity node: a workspace of its own, whose public keys the served node trusts
    other_cfg = derived_config(base / "oblast-idp.yaml", access={"issuer": OBLAST_ISSUER, "audience": AUDIENCE})
    other_wd = base / "oblast-idp"
    geoportal("users", "add", "oleh", "--role", "official", "--org", OBLAST_ORG, "--config", str(other_cfg),
              "--workdir", str(other_wd), stdin=PASSWORD + "\n")
    jwks_file = base / "oblast-jwks.json"
    jwks_file.write_text(geoportal("token", "jwks", "--config", str(other_cfg), "--workdir", str(other_wd)).stdout)
    cfg = derived_config(base / "node.yaml", passport=None, access={  # no passport: no test of it reads one
        "audience": AUDIENCE,
        "token_ttl": 600,
        "login": {"max_failures": 3, "window": 600, "lockout": 120},
        "trusted_issuers": [{"id": OBLAST_ISSUER, "jwks_file": str(jwks_file),
                             "roles": {"official": "official", "admin": "official"}}],
    })
    workdir = base / "node"
    for name, role, extra in (("alice", "citizen", []), ("bohdan", "official", ["--org", OBLAST_ORG]),
                              ("victim", "citizen", []), ("gone", "citizen", []), ("qgis", "citizen", []),
                              ("changer", "citizen", []), ("qgis-desktop", "citizen", [])):
        geoportal("users", "add", name, "--role", role, *extra, "--config", str(cfg), "--workdir", str(workdir),
                  stdin=PASSWORD + "\n")
    served = serve_node(cfg, workdir, env={"GEOPORTAL_CSW_TOKENS": PUBLISHER})
    return Node(served, other_cfg, other_wd)


def audit(node: Node) -> list[dict]:
    lines = (node.served.workdir / "audit.log").read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines if x.strip()]
