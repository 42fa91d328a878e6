"""Hostile ``Authorization`` and ``Cookie`` headers against the served access front: never a 500."""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.geoportal.access_client import Node, request

HEADER_CHARS = st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f")
B64 = st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())
AUTHORIZATION = st.one_of(
    st.text(HEADER_CHARS, max_size=400),
    st.builds(lambda s, v: f"{s} {v}", st.sampled_from(["Basic", "basic", "Bearer", "BEARER", "Digest", "Negotiate"]),
              st.one_of(B64, st.text(HEADER_CHARS, max_size=400))),
    st.builds(lambda a, b, c: f"Bearer {a}.{b}.{c}", B64, B64, B64),
    st.builds(lambda n, p: "Basic " + base64.b64encode(f"{n}:{p}".encode()).decode(),
              st.text(max_size=80), st.text(max_size=80)),
)
COOKIE = st.one_of(
    st.text(HEADER_CHARS, max_size=400),
    st.lists(st.tuples(st.sampled_from(["gp_session_zhytomyr-oblast", "gp_pre_zhytomyr-oblast", "x", ""]),
                       st.text(HEADER_CHARS.filter(lambda c: c not in ";"), max_size=120)), max_size=4)
    .map(lambda pairs: "; ".join(f"{k}={v}" for k, v in pairs)),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(auth=st.one_of(st.none(), AUTHORIZATION), cookie=st.one_of(st.none(), COOKIE),
       path=st.sampled_from(["/whoami?f=json", "/", "/login", "/ogcapi/collections?f=json",
                             "/ows?service=WMS&request=GetCapabilities", "/logout"]),
       method=st.sampled_from(["GET", "POST", "HEAD"]))
def test_hostile_authorization_and_cookie_headers_never_make_a_500(
        access_node: Node, auth: str | None, cookie: str | None, path: str, method: str) -> None:
    headers = {}
    if auth is not None:
        headers["Authorization"] = auth.strip() or "x"
    if cookie is not None:
        headers["Cookie"] = cookie.strip() or "x=y"
    body = b"csrf_token=abc&name=alice&password=x" if method == "POST" else None
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    a = request(access_node, method, path, headers, body, source="127.0.0.51")
    assert a.status < 500, (a.status, a.body[:300])
    if auth is not None and a.status == 401:
        assert a.all("WWW-Authenticate") and a.body.count(b"\n") <= 1
