"""A row filter an access rule puts on a layer reaches the OGC API providers: items, counts and single
items show only the allowed rows on both storages, and a filter the provider cannot read stops it rather
than serving the whole layer."""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path

import psycopg
import pytest
from pygeoapi.provider.base import ProviderConnectionError, ProviderItemNotFoundError

from geoportal.model import RowFilter
from ingest import ingest_file

ROOT = Path(__file__).resolve().parents[3]
CSV = ROOT / "data" / "geonames-ua" / "fiz-geo-zhytomyrska.csv"
RULE = "vyd_heohrafichnoho_obiektu = 'річка'"


@pytest.fixture(params=["geopackage", "postgis"])
def layer(request, tmp_path):  # type: ignore[no-untyped-def]
    target = tmp_path / "names.gpkg" if request.param == "geopackage" else request.getfixturevalue("postgis_dsn")
    return ingest_file(CSV, target, "row-filter-names")  # not a table a served test node reads


def _provider(block: dict):  # type: ignore[no-untyped-def]
    """The provider class the block names, as pygeoapi loads it (a dotted path)."""
    module, _, name = block["name"].rpartition(".")
    return getattr(importlib.import_module(module), name)(block)


def _independent(layer, where: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(rows matching, one fid that does NOT match) read straight from the storage."""
    loc = layer.location.to_dict()
    if loc["backend"] == "geopackage":
        with sqlite3.connect(loc["path"]) as db:
            n = db.execute(f'SELECT count(*) FROM "{loc["table"]}" WHERE {where}').fetchone()[0]
            other = db.execute(f'SELECT fid FROM "{loc["table"]}" WHERE NOT ({where}) LIMIT 1').fetchone()[0]
    else:
        with psycopg.connect(loc["dsn"]) as db:
            n = db.execute(f'SELECT count(*) FROM "{loc["table"]}" WHERE {where}').fetchone()[0]
            other = db.execute(f'SELECT fid FROM "{loc["table"]}" WHERE NOT ({where}) LIMIT 1').fetchone()[0]
    return n, other


def test_the_provider_serves_only_the_allowed_rows(layer) -> None:  # type: ignore[no-untyped-def]
    rivers, withheld = _independent(layer, "vyd_heohrafichnoho_obiektu = 'річка'")
    narrowed = layer.restricted(RowFilter(RULE))
    provider = _provider(narrowed.location.pygeoapi_provider(layer.id_column, layer.geometry_column))
    page = provider.query(limit=10000)
    assert page["numberMatched"] == rivers == len(page["features"])
    assert {f["properties"]["vyd_heohrafichnoho_obiektu"] for f in page["features"]} == {"річка"}
    with pytest.raises(ProviderItemNotFoundError):  # by id, too
        provider.get(withheld)
    whole = _provider(layer.location.pygeoapi_provider(layer.id_column, layer.geometry_column))
    assert whole.get(withheld)["id"] in (withheld, str(withheld))


def test_an_unreadable_row_filter_stops_the_provider(layer) -> None:  # type: ignore[no-untyped-def]
    block = dict(layer.location.pygeoapi_provider(layer.id_column, layer.geometry_column), row_filter="((( broken")
    with pytest.raises(ProviderConnectionError, match="refusing to serve it unfiltered"):
        _provider(block)
