"""The parts of the login pages that decide where a browser goes and in which language."""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from geoportal.login_pages import lang_of, safe_next


@given(st.text(max_size=200))
def test_next_is_always_a_path_on_this_node(value: str) -> None:
    out = safe_next(value)
    assert out.startswith("/") and not out.startswith("//") and "\\" not in out
    parts = urlsplit(out)
    assert not parts.scheme and not parts.netloc
    assert not any(ord(c) < 32 for c in out)


@given(st.sampled_from(["https:", "//", "/\\", "http://x", "\\\\"]), st.text(max_size=50))
def test_next_refuses_other_sites(prefix: str, rest: str) -> None:
    assert safe_next(prefix + rest) == "/" or not urlsplit(safe_next(prefix + rest)).netloc


def test_next_keeps_a_path_with_its_query() -> None:
    assert safe_next("/ogcapi/collections?f=html&lang=en") == "/ogcapi/collections?f=html&lang=en"
    assert safe_next("https://evil.example/") == "/" and safe_next("//evil.example") == "/"


def test_language_ukrainian_unless_asked() -> None:
    assert lang_of({}) == "uk"
    assert lang_of({"QUERY_STRING": "lang=en"}) == "en"
    assert lang_of({"QUERY_STRING": "lang=de", "HTTP_ACCEPT_LANGUAGE": "en"}) == "en"
    assert lang_of({"HTTP_ACCEPT_LANGUAGE": "de-DE,en;q=0.7,uk;q=0.9"}) == "uk"
    assert lang_of({"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}) == "en"
    assert lang_of({"HTTP_ACCEPT_LANGUAGE": "en;q=bogus, ;;;,uk"}) == "uk"
