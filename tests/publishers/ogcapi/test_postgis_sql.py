"""The PostGIS provider on a real PostGIS with hostile names: quotes, semicolons, '%', Cyrillic in the
table, its columns and the values of filters and sorts. Each answer is checked against a plain read."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql
from pygeofilter.parsers.cql2_json import parse as cql2_json

from pygeoapi.provider.base import ProviderInvalidQueryError
from publishers.ogcapi.postgis import PostGISProvider

SCHEMA = "ворожа; схема"
TABLE = "місця'; DROP TABLE x; --"
NAME, QUOTE, SEMI, PCT, DQ = "назва", "it's", "a;b", "частка_%", 'x"y'
ROWS = [("Овруч", "O'Brien", "1; DROP TABLE t", 0.5, 'he said "hi"'),
        ("Олевськ", "плане'та", "%s", 1.5, "%(x)s"),
        ("Коростень", "--", "'; SELECT 1; --", 2.5, "\\")]


@pytest.fixture(scope="module")
def provider(postgis_dsn: str) -> PostGISProvider:
    with psycopg.connect(postgis_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("CREATE TABLE {}.{} (fid serial PRIMARY KEY, {} text, {} text, {} text, {} float8, "
                             "{} text, geom geometry(Point, 4326))").format(
            sql.Identifier(SCHEMA), sql.Identifier(TABLE), *map(sql.Identifier, (NAME, QUOTE, SEMI, PCT, DQ))))
        for i, row in enumerate(ROWS):
            # values as literals, no parameters: psycopg would read the '%' of a column name as a placeholder
            conn.execute(sql.SQL("INSERT INTO {}.{} ({}, {}, {}, {}, {}, geom) VALUES ({}, {}, {}, {}, {}, "
                                 "ST_SetSRID(ST_MakePoint({}, 51), 4326))").format(
                sql.Identifier(SCHEMA), sql.Identifier(TABLE), *map(sql.Identifier, (NAME, QUOTE, SEMI, PCT, DQ)),
                *map(sql.Literal, (*row, 28.0 + i))))
    return PostGISProvider({"name": "x", "type": "feature", "data": {"dsn": postgis_dsn, "search_path": [SCHEMA]},
                            "table": TABLE, "id_field": "fid", "geom_field": "geom"})


def test_every_hostile_column_comes_back_as_a_property(provider: PostGISProvider) -> None:
    fc = provider.query(limit=10)
    assert fc["numberMatched"] == 3
    got = [tuple(f["properties"][c] for c in (NAME, QUOTE, SEMI, PCT, DQ)) for f in fc["features"]]
    assert got == ROWS
    assert provider.get(fc["features"][0]["id"])["properties"][QUOTE] == "O'Brien"


@pytest.mark.parametrize("column,value", [(QUOTE, "O'Brien"), (SEMI, "1; DROP TABLE t"), (SEMI, "%s"),
                                          (DQ, "%(x)s"), (NAME, "Олевськ"), (SEMI, "'; SELECT 1; --")])
def test_filters_on_hostile_columns_and_values(provider: PostGISProvider, column: str, value: str) -> None:
    expected = [r for r in ROWS if r[(NAME, QUOTE, SEMI, PCT, DQ).index(column)] == value]
    fc = provider.query(limit=10, filterq=cql2_json({"op": "=", "args": [{"property": column}, value]}))
    assert [f["properties"][NAME] for f in fc["features"]] == [r[0] for r in expected]
    fc = provider.query(limit=10, properties=[(column, value)])
    assert fc["numberMatched"] == len(expected) == 1


def test_like_in_and_sort_on_hostile_columns(provider: PostGISProvider) -> None:
    fc = provider.query(limit=10, filterq=cql2_json({"op": "like", "args": [{"property": QUOTE}, "%'%"]}))
    assert {f["properties"][QUOTE] for f in fc["features"]} == {"O'Brien", "плане'та"}
    fc = provider.query(limit=10, filterq=cql2_json({"op": "in", "args": [{"property": SEMI}, ["%s", "x"]]}))
    assert [f["properties"][NAME] for f in fc["features"]] == ["Олевськ"]
    fc = provider.query(limit=10, sortby=[{"property": PCT, "order": "-"}], select_properties=[PCT, SEMI])
    assert [f["properties"][PCT] for f in fc["features"]] == [2.5, 1.5, 0.5]
    assert set(fc["features"][0]["properties"]) == {PCT, SEMI}
    fc = provider.query(limit=1, offset=10**30)
    assert fc["features"] == [] and fc["numberMatched"] == 3


def test_unknown_or_injected_names_are_refused_as_client_errors(provider: PostGISProvider) -> None:
    err = ProviderInvalidQueryError
    for flt in ({"op": "=", "args": [{"property": 'fid" OR 1=1 --'}, 1]},
                {"op": "=", "args": [{"property": "назва; DROP TABLE x"}, "a"]}):
        with pytest.raises(err):
            provider.query(filterq=cql2_json(flt))
    with pytest.raises(err):
        provider.query(sortby=[{"property": "fid; DROP TABLE x", "order": "+"}])
    with pytest.raises(err):
        provider.query(properties=[('"; --', "1")])
    with pytest.raises(err):  # a value the column cannot hold is the client's error too
        provider.query(filterq=cql2_json({"op": ">", "args": [{"property": PCT}, "not a number"]}))
    with pytest.raises(err):
        provider.query(filterq=cql2_json({"op": "like", "args": [{"property": PCT}, "1%"]}))
    assert provider.query(limit=10)["numberMatched"] == 3  # the table is still there


def test_spatial_filter_under_a_generic_plan(postgis_dsn: str, provider: PostGISProvider) -> None:
    """psycopg prepares a statement after a few runs and PostgreSQL may then plan it generically: the filter
    geometry is a typed parameter (not a function of one, re-evaluated per row), and answers the same."""
    from psycopg.conninfo import make_conninfo
    from pygeofilter.parsers.cql2_text import parse as cql2_text

    generic = PostGISProvider({"name": "x", "type": "feature", "table": TABLE, "id_field": "fid", "geom_field": "geom",
                               "data": {"dsn": make_conninfo(postgis_dsn, options="-c plan_cache_mode=force_generic_plan"),
                                        "search_path": [SCHEMA]}})
    box = cql2_text("S_INTERSECTS(geom, POLYGON((27.5 50.5, 28.5 50.5, 28.5 51.5, 27.5 51.5, 27.5 50.5)))")
    for _ in range(8):  # past psycopg's prepare threshold (5)
        fc = generic.query(limit=10, filterq=box)
        assert (fc["numberMatched"], [f["properties"][NAME] for f in fc["features"]]) == (1, ["Овруч"])
