"""The access front on a served node: logging in with the form, Basic and bearer tokens, SSO, caching.

The node (``access_node`` in conftest: the sample node with an ``access:`` section, users made with the real
``geoportal users add``) is shared by the tests. Each test talks from its own loopback address (127.0.0.N),
so the per-address login limit of one test does not lock out another, as with two clients on a network.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import derived_config
from tests.geoportal.access_client import (
    AUDIENCE,
    OBLAST_ISSUER,
    OBLAST_ORG,
    PASSWORD,
    PUBLISHER,
    Browser,
    Node,
    audit,
    basic,
    bearer,
    geoportal,
    request,
)


@pytest.fixture
def node(access_node: Node) -> Node:
    return access_node


# -- the web form --------------------------------------------------------------------------------------

def test_form_login_sets_a_safe_cookie_and_whoami_shows_the_user(node: Node) -> None:
    b = Browser(node, "127.0.0.11")
    assert b.whoami()["anonymous"] is True
    a = b.login("alice")
    assert a.status == 303 and a.header("Location") == "/whoami"
    cookie = next(c for c in a.all("Set-Cookie") if c.startswith("gp_session_"))
    attrs = {p.strip().split("=")[0].lower() for p in cookie.split(";")[1:]}
    assert {"httponly", "path", "max-age"} <= attrs and "SameSite=Lax" in cookie
    assert "secure" not in attrs  # plain http here; see the https test
    assert "Max-Age=600" in cookie  # the session lasts as long as a token (access.token_ttl)
    me = b.whoami()
    assert me["name"] == "alice" and me["roles"] == ["citizen"] and me["via"] == "session"
    page = b.go("GET", "/whoami")
    assert "alice" in page.text and page.header("Cache-Control") == "no-store"
    # the password is in no log of the node
    for f in node.served.workdir.parent.glob("*.log"):
        assert PASSWORD not in f.read_text(errors="replace")
    assert PASSWORD not in (node.served.workdir / "audit.log").read_text()
    entries = [e for e in audit(node) if e.get("action") == "login" and e.get("user") == "alice"]
    assert entries and entries[-1]["outcome"] == "ok" and entries[-1]["address"] == "127.0.0.11"
    assert entries[-1]["detail"]["via"] == "form"


def test_cookie_is_secure_when_the_request_came_over_https(node: Node) -> None:
    b = Browser(node, "127.0.0.12")
    token = b.csrf()
    a = b.go("POST", "/login", {"csrf_token": token, "name": "alice", "password": PASSWORD},
             headers={"X-Forwarded-Proto": "https"})
    cookie = next(c for c in a.all("Set-Cookie") if c.startswith("gp_session_"))
    assert "Secure" in cookie


def test_login_without_or_with_a_wrong_csrf_token_is_403(node: Node) -> None:
    b = Browser(node, "127.0.0.13")
    b.csrf()
    missing = b.go("POST", "/login", {"name": "alice", "password": PASSWORD})
    assert missing.status == 403 and "Оновіть сторінку" in missing.text
    wrong = b.go("POST", "/login", {"csrf_token": "0" * 64, "name": "alice", "password": PASSWORD})
    assert wrong.status == 403
    # a token from another browser's page is no good either (it is bound to that browser's cookie)
    other = Browser(node, "127.0.0.13").csrf()
    stolen = b.go("POST", "/login", {"csrf_token": other, "name": "alice", "password": PASSWORD})
    assert stolen.status == 403
    assert b.whoami()["anonymous"] is True


def test_logout_needs_csrf_and_kills_the_session_on_the_node(node: Node) -> None:
    b = Browser(node, "127.0.0.14")
    b.login("alice")
    old = dict(b.cookies)
    no_token = b.go("POST", "/logout", {})
    assert no_token.status == 403 and b.whoami()["name"] == "alice"
    a = b.go("POST", "/logout", {"csrf_token": b.csrf("/logout")})
    assert a.status == 303
    assert b.whoami()["anonymous"] is True
    # the old cookie, replayed, no longer works: the session is gone from the node, not just the browser
    replay = request(node, "GET", "/whoami?f=json",
                     {"Cookie": "; ".join(f"{k}={v}" for k, v in old.items())}, source="127.0.0.14")
    assert replay.json()["anonymous"] is True
    assert any(c.startswith("gp_session_") and "Max-Age=0" in c for c in replay.all("Set-Cookie"))
    assert any(e["action"] == "logout" and e["user"] == "alice" for e in audit(node))


def test_wrong_password_on_the_form_is_401_without_a_basic_popup(node: Node) -> None:
    b = Browser(node, "127.0.0.15")
    a = b.login("alice", "not the password at all")
    assert a.status == 401
    assert not a.all("WWW-Authenticate")  # a browser must not pop up its own dialog over the form
    assert "Неправильне ім’я або пароль" in a.text
    assert not any(c.startswith("gp_session_") for c in a.all("Set-Cookie"))
    failed = [e for e in audit(node) if e["action"] == "login" and e.get("address") == "127.0.0.15"]
    assert failed and failed[-1]["outcome"] == "failed"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil",
                                    "http:/evil.example", "javascript:alert(1)", "/%0d%0aSet-Cookie:x=1",
                                    " //evil.example"])
def test_next_never_leaves_the_node(node: Node, target: str) -> None:
    b = Browser(node, "127.0.0.16")
    a = b.login("alice", next_path=target)
    assert a.status == 303
    location = a.header("Location")
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location
    assert urlsplit(location).netloc == ""
    assert "\r" not in location and "\n" not in location


def test_next_to_a_page_of_the_node_is_followed(node: Node) -> None:
    a = Browser(node, "127.0.0.16").login("alice", next_path="/search?q=roads")
    assert a.header("Location") == "/search?q=roads"


def test_login_page_is_ukrainian_first_english_on_request(node: Node) -> None:
    uk = request(node, "GET", "/login")
    assert '<html lang="uk"' in uk.text and "Пароль" in uk.text and '<label for="password">' in uk.text
    assert 'name="viewport"' in uk.text
    en = request(node, "GET", "/login?lang=en")
    assert '<html lang="en"' in en.text and "Password" in en.text
    by_browser = request(node, "GET", "/login", {"Accept-Language": "en-GB,en;q=0.9,uk;q=0.5"})
    assert '<html lang="en"' in by_browser.text
    prefers_uk = request(node, "GET", "/login", {"Accept-Language": "uk,en;q=0.8"})
    assert '<html lang="uk"' in prefers_uk.text


def test_a_disabled_user_loses_the_session_and_cannot_log_in(node: Node) -> None:
    b = Browser(node, "127.0.0.17")
    b.login("gone")
    assert b.whoami()["name"] == "gone"
    node.cli("users", "disable", "gone")
    assert b.whoami()["anonymous"] is True
    assert b.login("gone").status == 401
    assert request(node, "GET", "/whoami?f=json", basic("gone"), source="127.0.0.17").status == 401


# -- Basic (QGIS, OWSLib, GDAL) ------------------------------------------------------------------------

def test_basic_right_wrong_and_missing(node: Node) -> None:
    ok = request(node, "GET", "/whoami?f=json", basic("qgis"), source="127.0.0.21")
    assert ok.status == 200 and ok.json()["name"] == "qgis" and ok.json()["via"] == "basic"
    wrong = request(node, "GET", "/ows?service=WMS&request=GetCapabilities", basic("qgis", "nope-nope-nope"),
                    source="127.0.0.21")
    assert wrong.status == 401
    assert 'Basic realm="geoportal zhytomyr-oblast"' in wrong.header("WWW-Authenticate")
    assert wrong.body.decode().count("\n") == 1  # one line saying why
    garbage = request(node, "GET", "/", {"Authorization": "Basic %%%"}, source="127.0.0.21")
    assert garbage.status == 401 and "base64" in garbage.text
    # the services behind the front still answer a client with good credentials
    wms = request(node, "GET", "/ows?service=WMS&request=GetCapabilities", basic("qgis"), source="127.0.0.21")
    assert wms.status == 200 and b"WMS_Capabilities" in wms.body


def test_basic_lockout_is_429_with_retry_after_even_for_the_right_password(node: Node) -> None:
    for _ in range(3):
        a = request(node, "GET", "/whoami", basic("victim", "wrong password 123"), source="127.0.0.22")
        assert a.status == 401
    locked = request(node, "GET", "/whoami", basic("victim"), source="127.0.0.23")
    assert locked.status == 429
    assert 0 < int(locked.header("Retry-After")) <= 120
    form = Browser(node, "127.0.0.24").login("victim")
    assert form.status == 429 and form.header("Retry-After")
    entries = [e for e in audit(node) if e["action"] == "login" and e["user"] == "victim"]
    outcomes = [e["outcome"] for e in entries]
    assert outcomes.count("failed") == 3 and "locked" in outcomes
    assert [e["detail"].get("via") for e in entries][:4] == ["basic", "basic", "basic", "basic"]
    assert entries[-1]["detail"]["via"] == "form" and entries[0]["address"] == "127.0.0.22"


# -- bearer tokens and single sign-on ------------------------------------------------------------------

def test_bearer_token_issued_by_the_cli(node: Node) -> None:
    token = node.cli("token", "issue", "bohdan").stdout.strip()
    a = request(node, "GET", "/whoami?f=json", bearer(token), source="127.0.0.31")
    assert a.status == 200
    me = a.json()
    assert me["name"] == "bohdan" and me["roles"] == ["official"] and me["organisation"] == OBLAST_ORG
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    bad = request(node, "GET", "/whoami?f=json", bearer(tampered), source="127.0.0.31")
    assert bad.status == 401 and 'error="invalid_token"' in " ".join(bad.all("WWW-Authenticate"))
    # a token signed with the node's own key two hours ago, valid for one: expired
    import time

    from access.tokens import issue
    from access.users import open_users
    from geoportal.config import load_config

    cfg = load_config(node.served.config)
    user = open_users(cfg, node.served.workdir).require("bohdan")
    expired, _ = issue(cfg, node.served.workdir, user, ttl=3600, now=int(time.time()) - 7200)
    old = request(node, "GET", "/whoami?f=json", bearer(expired), source="127.0.0.31")
    assert old.status == 401 and "expired" in old.text


def test_a_trusted_issuers_token_is_accepted_and_mapped(node: Node) -> None:
    token = geoportal("token", "issue", "oleh", "--config", str(node.other_config), "--workdir",
                      str(node.other_workdir)).stdout.strip()
    a = request(node, "GET", "/whoami?f=json", bearer(token), source="127.0.0.32")
    assert a.status == 200, a.text
    me = a.json()
    assert me["name"] == "oleh" and me["roles"] == ["official"] and me["issuer"] == OBLAST_ISSUER
    assert me["organisation"] == OBLAST_ORG
    # the token opens the layer this node opens to officials (inside the oblast's outline), as it would at a
    # hromada whose rules allow the oblast's officials; without it the layer does not exist
    items = "/ogcapi/collections/nature-protection-register/items?f=json&limit=1000"
    a = request(node, "GET", items, bearer(token), source="127.0.0.32")
    assert a.status == 200 and a.json()["numberReturned"] > 100, a.text[:300]
    assert request(node, "GET", items, source="127.0.0.32").status == 404
    wms = "/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities"
    assert "<Name>nature-protection-register</Name>" in request(node, "GET", wms, bearer(token),
                                                                source="127.0.0.32").text


def test_a_token_of_an_untrusted_node_is_401(node: Node, tmp_path: Path) -> None:
    stranger = derived_config(tmp_path / "stranger.yaml", access={"issuer": "https://stranger.example",
                                                                  "audience": AUDIENCE})
    geoportal("users", "add", "mallory", "--role", "admin", "--config", str(stranger), "--workdir",
              str(tmp_path / "ws"), stdin=PASSWORD + "\n")
    token = geoportal("token", "issue", "mallory", "--config", str(stranger), "--workdir",
                      str(tmp_path / "ws")).stdout.strip()
    a = request(node, "GET", "/ogcapi/collections?f=json", bearer(token), source="127.0.0.33")
    assert a.status == 401 and "does not trust" in a.text


def test_jwks_is_public_and_verifies_the_nodes_tokens(node: Node) -> None:
    from joserfc import jwt
    from joserfc.jwk import KeySet

    a = request(node, "GET", "/.well-known/jwks.json")
    assert a.status == 200
    keys = a.json()
    assert keys["keys"] and all("d" not in k for k in keys["keys"])  # no private part
    token = node.cli("token", "issue", "alice").stdout.strip()
    claims = jwt.decode(token, KeySet.import_key_set(keys)).claims
    assert claims["sub"] == "alice"


# -- caching -------------------------------------------------------------------------------------------

def test_answers_to_credentialed_requests_are_private_and_vary(node: Node) -> None:
    anon = request(node, "GET", "/ogcapi/collections?f=json")
    assert "Authorization" in anon.header("Vary") and "Cookie" in anon.header("Vary")
    assert "private" not in anon.header("Cache-Control")
    with_basic = request(node, "GET", "/ogcapi/collections?f=json", basic("qgis"), source="127.0.0.41")
    assert with_basic.status == 200
    assert "private" in with_basic.header("Cache-Control") and "public" not in with_basic.header("Cache-Control")
    assert "Authorization" in with_basic.header("Vary") and "Cookie" in with_basic.header("Vary")
    b = Browser(node, "127.0.0.42")
    b.login("alice")
    page = b.go("GET", "/")
    assert "private" in page.header("Cache-Control") and "Cookie" in page.header("Vary")
    for path in ("/login", "/whoami"):
        assert b.go("GET", path).header("Cache-Control") == "no-store"


def test_publisher_tokens_still_reach_the_catalog_gate(node: Node) -> None:
    # not a JWT and not configured: refused at the front like any bad token
    a = request(node, "GET", "/csw?service=CSW&request=GetCapabilities", bearer("not-a-publisher"),
                source="127.0.0.43")
    assert a.status == 401
    ok = request(node, "GET", "/csw?service=CSW&request=GetCapabilities", bearer(PUBLISHER), source="127.0.0.43")
    assert ok.status == 200 and b"Capabilities" in ok.body


def test_switching_language_keeps_where_the_login_leads(node: Node) -> None:
    page = request(node, "GET", "/login?next=%2Fsearch")
    assert 'href="?next=%2Fsearch&amp;lang=en"' in page.text
    assert 'name="next" value="/search"' in page.text


def test_a_new_password_ends_sessions_and_the_old_password_at_once(node: Node) -> None:
    OLD, name = PASSWORD, "changer"
    assert request(node, "GET", "/whoami?f=json", basic(name, OLD), source="127.0.0.61").status == 200
    b = Browser(node, "127.0.0.61")
    b.login(name)
    out = node.cli("users", "passwd", name, stdin="a brand new password 42\n").stdout
    assert "1 web session(s) ended" in out
    assert b.whoami()["anonymous"] is True
    # the old pair was remembered by the front a moment ago; it must not outlive the change
    assert request(node, "GET", "/whoami?f=json", basic(name, OLD), source="127.0.0.61").status == 401
    new = request(node, "GET", "/whoami?f=json", basic(name, "a brand new password 42"), source="127.0.0.62")
    assert new.status == 200 and new.json()["name"] == name
