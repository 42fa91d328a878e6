"""The parameter checks of the OGC API front, the outward rounding of extents and the OpenAPI rewrite,
on their own (the served behaviour is in test_errors.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.pipeline import _bbox_4326
from publishers.ogcapi import guard
from publishers.ogcapi.cql import bbox_2d, to_sql
from publishers.ogcapi.gpkg import quote_ident
from publishers.ogcapi.openapi_doc import UnresolvedReference, localize
from publishers.pygeoapi import outward


@pytest.mark.parametrize("value", ["2024-01-31", "2024-01-31T12:00:00Z", "2024-01-31T12:00:00.5+02:00",
                                   "2024-01-01/2024-12-31", "../2024-01-01", "2024-01-01/..", "/2024-01-01",
                                   "2024-01-01/"])
def test_valid_datetimes_pass(value: str) -> None:
    assert guard.check_datetime(value) is None


@pytest.mark.parametrize("value", ["garbage", "2024-13-01", "2024-02-30", "2024-01-31T25:00:00Z",
                                   "2024-01-31T12:00:00", "..", "2024-12-31/2024-01-01", "a/b/c", ""])
def test_invalid_datetimes_name_the_value(value: str) -> None:
    msg = guard.check_datetime(value)
    assert msg and repr(value) in msg


@pytest.mark.parametrize("value,ok", [("1,2,3,4", True), ("1,2,0,3,4,9", True), ("-1.5,2e1,3,4", True),
                                      ("1,2,3", False), ("1,2,3,4,5", False), ("nan,2,3,4", False),
                                      ("1,2,inf,4", False), ("1,2,3,x", False), ("", False)])
def test_bbox(value: str, ok: bool) -> None:
    assert (guard.check_bbox(value) is None) == ok


def test_sortby_and_unknown_parameters() -> None:
    assert guard.check_sortby("-name,+code", ["name", "code"]) is None
    for bad in ("", "-", "name,", "nope"):
        assert guard.check_sortby(bad, ["name", "code"])
    msg = guard.check_items([("f", "json"), ("nazva", "x"), ("bbx", "1"), ("zzz", "2")], ["nazva"])
    assert msg and "bbx, zzz" in msg and "nazva" in msg
    assert guard.check_items([("q", "x")], ["title"], record=True) is None
    assert guard.check_items([("q", "x")], ["title"])  # features have no free-text search
    assert guard.check_items([("filter", "title = 'x'")], ["title"], record=True)  # the CSW facade has no CQL


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-180, 180, allow_nan=False), min_size=2, max_size=2),
       st.lists(st.floats(0, 10, allow_nan=False), min_size=2, max_size=2))
def test_extents_are_rounded_outward(lo: list[float], size: list[float]) -> None:
    bbox = [lo[0], lo[1], lo[0] + size[0], lo[1] + size[1]]
    for rounded in (outward(bbox), list(_bbox_4326(bbox, "EPSG:4326"))):
        assert rounded[0] <= bbox[0] and rounded[1] <= bbox[1]
        assert rounded[2] >= bbox[2] and rounded[3] >= bbox[3]
    # a bbox rounded inward to 7 decimals by an older ingest still gets its features back
    inward = [round(b, 7) for b in bbox]
    wide = outward(inward)
    assert wide[0] <= bbox[0] and wide[1] <= bbox[1] and wide[2] >= bbox[2] and wide[3] >= bbox[3]


def test_bbox_2d_drops_the_heights() -> None:
    assert bbox_2d([1, 2, 3, 4]) == [1, 2, 3, 4]
    assert bbox_2d([1, 2, -5, 3, 4, 5]) == [1, 2, 3, 4]


def test_openapi_rewrite_refuses_a_remote_reference_it_does_not_know() -> None:
    doc = {"paths": {"/x": {"get": {"responses": {"200": {"$ref": "https://example.org/other.yaml#/x"}}}}}}
    with pytest.raises(UnresolvedReference, match="example.org"):
        localize(doc, set())


def test_a_deeply_nested_filter_is_a_client_error() -> None:
    from pygeoapi.provider.base import ProviderInvalidQueryError
    from pygeofilter.parsers.cql2_json import parse

    flt = parse({"op": "and", "args": [{"op": "=", "args": [{"property": "a"}, i]} for i in range(3000)]})
    with pytest.raises(ProviderInvalidQueryError, match="nested too deeply"):
        to_sql(flt, {"a"}, quote_ident)
