"""The view and the marker without servers: the SQL a view gives selects exactly the variants its modes
say (checked on a real SQLite table against :meth:`CatalogView.mode`); a view cannot be forged or altered
without the secret; a key cannot smuggle SQL; the marker round-trips through a record and a broken one
fails closed; a harvested key is decided with the marker's lists unless the node names it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from access.config import AccessConfig, Role
from access.principal import ANONYMOUS, Principal
from catalog import access_marker
from catalog.access_marker import Marker
from catalog.access_view import POLICY_FILE, CatalogViews
from catalog.catalog_view import EVERYTHING, PUBLIC_ONLY, CatalogView

KEYS = ["n/a", "n/b", "n/c", "m/a", "m/d"]
key_sets = st.frozensets(st.sampled_from(KEYS))


def _table() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE records (identifier TEXT, geoportal_key TEXT, geoportal_level TEXT, "
               "geoportal_variant TEXT)")
    for i, key in enumerate(KEYS):
        level = "public" if i % 2 == 0 else "restricted"
        db.execute("INSERT INTO records VALUES (?,?,?,'full')", (key, key, level))
        if level != "public":
            db.execute("INSERT INTO records VALUES (?,?,?,'meta')", (key, key, level))
    db.execute("INSERT INTO records VALUES ('service', '', 'public', 'full')")
    db.execute("INSERT INTO records VALUES ('unknown', 'n/z', NULL, 'full')")  # written by CSW-T, not synced
    return db


@settings(max_examples=200, deadline=None)
@given(modes=st.dictionaries(st.sampled_from(KEYS), st.sampled_from(["full", "meta", "hide"])))
def test_the_sql_selects_what_mode_says(modes: dict[str, str]) -> None:
    view = CatalogView(*(frozenset(k for k, m in modes.items() if m == name) for name in ("full", "meta", "hide")))
    db = _table()
    got = {(i, v) for i, v in db.execute(f"SELECT identifier, geoportal_variant FROM records WHERE {view.sql()}")}
    bound, args = view.where()
    assert got == set(db.execute(f"SELECT identifier, geoportal_variant FROM records WHERE {bound}", args))
    levels = {k: l for k, l in db.execute("SELECT geoportal_key, geoportal_level FROM records WHERE "
                                          "geoportal_variant = 'full'")}
    for key in KEYS:
        mode = view.mode(key, levels[key])
        variants = {v for i, v in got if i == key}
        if mode == "full":
            assert variants == {"full"}, key
        elif mode == "metadata":
            assert variants == ({"meta"} if levels[key] != "public" else set()), key
        else:
            assert variants == set(), key
    assert ("service", "full") in got and not any(i == "unknown" for i, _ in got)
    assert len({i for i, _ in got}) == len(got)  # never two variants of one record


def test_everything_and_public_only() -> None:
    db = _table()
    assert {v for _, v in db.execute(f"SELECT identifier, geoportal_variant FROM records WHERE {EVERYTHING.sql()}")} \
        == {"full"}
    ids = {i for (i,) in db.execute(f"SELECT identifier FROM records WHERE {PUBLIC_ONLY.sql()}")}
    assert ids == {"n/a", "n/c", "m/d", "service"}


def test_search_condition_is_the_same_rule() -> None:
    from search.access import visible

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE docs (id TEXT, key TEXT, access TEXT)")
    for i, key in enumerate(KEYS):
        db.execute("INSERT INTO docs VALUES (?,?,?)", (key, key, "public" if i % 2 == 0 else "restricted"))
    view = CatalogView(frozenset({"n/b"}), frozenset({"m/a", "n/a"}), frozenset({"n/c"}))
    cond, args = visible(view, prefix="")
    found = {i for (i,) in db.execute(f"SELECT id FROM docs WHERE {cond}", args)}
    levels = dict(db.execute("SELECT key, access FROM docs"))
    assert found == {k for k in KEYS if view.mode(k, levels[k]) != "hide"} == {"n/b", "m/a", "m/d"}


def test_a_view_is_signed() -> None:
    view = CatalogView(frozenset({"n/b"}), frozenset({"m/a"}))
    header = view.encode("secret")
    assert CatalogView.decode(header, "secret") == view
    assert CatalogView.decode(header, "other") is None
    assert CatalogView.decode(header, "") is None
    payload, sig = header.rsplit(".", 1)
    forged = EVERYTHING.encode("guess").rsplit(".", 1)[0] + "." + sig
    assert CatalogView.decode(forged, "secret") is None
    assert CatalogView.decode("garbage", "secret") is None


@pytest.mark.parametrize("key", ["n/a' OR '1'='1", "x", "n/a/b", "N/a", "n/a;--"])
def test_a_key_cannot_carry_sql(key: str) -> None:
    with pytest.raises(ValueError):
        CatalogView(frozenset({key}))




def test_marker_round_trips_and_broken_ones_fail_closed() -> None:
    xml = (b'<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" '
           b'xmlns:gco="http://www.isotc211.org/2005/gco"><gmd:identificationInfo><gmd:MD_DataIdentification>'
           b'<gmd:citation/><gmd:abstract/><gmd:language/></gmd:MD_DataIdentification></gmd:identificationInfo>'
           b'<gmd:distributionInfo/></gmd:MD_Metadata>')
    m = Marker("n/a", "restricted", "metadata", "UA18060170000069581", ("UA18000000000041385",), ("official",))
    stamped = access_marker.stamp(xml, m)
    root = etree.fromstring(stamped)
    assert access_marker.read(root) == m
    again = access_marker.stamp(stamped, Marker("n/a", "public"))  # replaced, never two
    assert access_marker.read(etree.fromstring(again)) == Marker("n/a", "public")
    names = [etree.QName(c).localname for c in root.find(".//{http://www.isotc211.org/2005/gmd}MD_DataIdentification")]
    assert names == ["citation", "abstract", "descriptiveKeywords", "language"]  # where the schema wants it
    assert access_marker.without_data_links(root).find("{http://www.isotc211.org/2005/gmd}distributionInfo") is None
    assert access_marker.read(etree.fromstring(xml)) is None
    # a shortened record without the thesaurus name still has its marker
    shortened = etree.fromstring(stamped)
    for t in shortened.iter("{http://www.isotc211.org/2005/gmd}thesaurusName"):
        t.getparent().remove(t)
    assert access_marker.read(shortened) == m
    for bad in ("geoportal:access=secret", "geoportal:dataset=../x", "free text"):
        broken = stamped.replace(b"geoportal:access=restricted", bad.encode())
        assert access_marker.read(etree.fromstring(broken)) == access_marker.broken()


def test_a_harvested_key_is_decided_by_its_marker_unless_the_node_names_it(tmp_path: Path) -> None:
    access = AccessConfig.model_validate({"datasets": {"o/named": {"roles": ["citizen"], "catalog": "hide"}}})
    (tmp_path / POLICY_FILE).write_text(json.dumps({"node": "n", "levels": {"own": "officials"},
                                                    "access": access.model_dump(mode="json")}))
    db = sqlite3.connect(tmp_path / "catalog.db")
    db.execute("CREATE TABLE records (identifier TEXT, geoportal_key TEXT, geoportal_level TEXT, "
               "geoportal_variant TEXT, geoportal_marker TEXT)")
    for m in (Marker("n/own", "officials", "metadata"),
              Marker("o/open", "restricted", "metadata", organisations=("UA18060170000069581",)),
              Marker("o/named", "restricted", "metadata", organisations=("UA18060170000069581",))):
        db.execute("INSERT INTO records VALUES (?,?,?,'full',?)", (m.key, m.key, m.level, json.dumps(m.to_dict())))
    db.commit()
    db.close()
    views = CatalogViews(tmp_path, tokens={"t"})
    hromada = Principal("h", frozenset({Role.official}), organisation="UA18060170000069581")
    citizen = Principal("c", frozenset({Role.citizen}))
    # the node's own dataset by its config (no access.datasets entry: hidden), the harvested ones by their
    # markers (open to the hromada, 'metadata' for the others) unless the node names them (o/named: citizens)
    assert views.for_principal(ANONYMOUS) == CatalogView(meta=frozenset({"o/open"}))
    assert views.for_principal(hromada) == CatalogView(full=frozenset({"n/own", "o/open"}))
    assert views.for_principal(citizen) == CatalogView(full=frozenset({"o/named"}), meta=frozenset({"o/open"}))
    assert views.for_environ({"HTTP_X_GEOPORTAL_HARVEST": "t"}) == EVERYTHING
    assert views.for_environ({"HTTP_X_GEOPORTAL_HARVEST": "x"}) == views.for_principal(ANONYMOUS)
