"""Access views: what a caller may get, decided once, shared by everyone with the same rights — and, for any
rule, never a feature outside its area or an attribute it hides (property test over the real providers and
Debian's GDAL)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.config import AccessConfig, Role
from access.principal import ANONYMOUS, Principal
from access.rules import Policy
from access.views import anonymous_view, build_view
from geoportal.model import RowFilter
from ingest import ingest_file
from tests.access.conftest import OLEVSK, OVRUCH

ROOT = Path(__file__).resolve().parents[2]
SITES = ROOT / "data" / "geonames-ua" / "pzo-zytomyrska.geojson"
SHAPEFILE = ROOT / "data" / "boundaries" / "hromadas_30km_russia_belarus.shp"


def official(name: str, org: str) -> Principal:
    return Principal(name, frozenset({Role.official}), organisation=org)


class FakeLayer:
    """Only what build_view asks of a stored layer."""

    kind = "vector"
    geometry_column = "geom"


class Areas:
    def __init__(self, known: dict[str, str]):
        self.known = known

    def wkt(self, area):  # type: ignore[no-untyped-def]
        return area.wkt or self.known.get(area.katotth or "")


BOX = "POLYGON((28 51, 29 51, 29 52, 28 52, 28 51))"


def views_of(node_config, principals):  # type: ignore[no-untyped-def]
    cfg = node_config()
    layers = {d.id: FakeLayer() for d in cfg.datasets}
    policy = Policy.from_config(cfg)
    return cfg, [build_view(cfg, layers, policy, p, Areas({OVRUCH: BOX})) for p in principals]


def test_the_anonymous_view_is_the_public_datasets_without_limits(node_config) -> None:  # type: ignore
    cfg, (v,) = views_of(node_config, [ANONYMOUS])
    assert v.visible() == [d.id for d in cfg.public_datasets]
    assert all(not g.limited for d in v.datasets for _, g in d.grants)
    assert v.key == anonymous_view(cfg, {d.id: FakeLayer() for d in cfg.datasets}).key


def test_callers_with_the_same_rights_share_one_view(node_config) -> None:  # type: ignore[no-untyped-def]
    callers = [official("a", OVRUCH), official("b", OVRUCH), official("c", OLEVSK)]
    _, (a, b, c) = views_of(node_config, callers)
    assert a.key == b.key  # two officials of Ovruch: one set of generated configs
    assert a.key != c.key  # Olevsk's officials see other rows of the cadastre... or none of it


def test_area_limit_becomes_a_spatial_row_filter_and_hidden_attributes(node_config) -> None:  # type: ignore
    _, (v,) = views_of(node_config, [official("a", OVRUCH)])
    g = v.grant("cadastre", "ogcapi")
    assert g is not None and g.row_filter == f"S_INTERSECTS(geom, {BOX})" and g.hidden == ("owner",)
    assert v.grant("cadastre", "wfs") is None  # the rule denying Ovruch's officials WFS


def test_an_area_the_node_cannot_draw_gives_nothing(node_config) -> None:  # type: ignore[no-untyped-def]
    _, (v,) = views_of(node_config, [official("c", OLEVSK)])  # no polygon known for Olevsk here
    assert v.grant("cadastre", "ogcapi") is None and "cadastre" not in v.visible()


def test_an_operation_rule_narrows_the_wms_requests(node_config) -> None:  # type: ignore[no-untyped-def]
    _, (v,) = views_of(node_config, [Principal("c", frozenset({Role.citizen}))])
    wms = v.grant("roads", "wms")
    assert wms is not None and "GetFeatureInfo" not in wms.operations and "GetMap" in wms.operations


# -- property: whatever the rule, no feature outside its area, no hidden attribute --------------------

@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    layer = ingest_file(SITES, tmp_path_factory.mktemp("sites") / "sites.gpkg", "sites")
    meta, fids, wkb, fields = pyogrio.raw.read(layer.location.path, layer=layer.location.table,
                                               return_fids=True)
    _, _, hwkb, hfields = pyogrio.raw.read(SHAPEFILE, columns=["COD_3"])
    hromadas = {c: g for c, g in zip(hfields[0], shapely.from_wkb(hwkb)) if c and c.startswith("UA18")}
    status = list(fields[list(meta["fields"]).index("administratyvnyi_status")])
    return layer, list(fids), list(shapely.from_wkb(wkb)), status, hromadas, [str(f) for f in meta["fields"]]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_view_returns_a_feature_outside_its_area_or_a_hidden_attribute(sites, data):  # type: ignore
    from publishers.ogcapi.gpkg import GeoPackageProvider
    from publishers.pygeoapi import _provider

    layer, fids, geoms, status, hromadas, columns = sites
    codes = data.draw(st.lists(st.sampled_from(sorted(hromadas)), min_size=0, max_size=3, unique=True))
    box = data.draw(st.none() | st.tuples(st.floats(27.0, 29.5), st.floats(49.8, 51.5), st.floats(0.05, 1.5)))
    national = data.draw(st.booleans())
    hidden = tuple(sorted(data.draw(st.sets(st.sampled_from(columns), max_size=3))))
    parts = [hromadas[c] for c in codes] + ([shapely.box(box[0], box[1], box[0] + box[2], box[1] + box[2])]
                                            if box else [])
    area = shapely.union_all(parts) if parts else None
    rule: dict = {"roles": ["official"], "dataset": "sites", "effect": "limit", "limit": {}}
    if area is not None:
        rule["limit"]["area"] = area.wkt
    if national:
        rule["limit"]["filter"] = "administratyvnyi_status = 'загальнодержавного значення'"
    if hidden:
        rule["limit"]["hide_attributes"] = list(hidden)
    if not rule["limit"]:
        rule["limit"]["hide_attributes"] = [columns[0]]
        hidden = (columns[0],)
    policy = Policy({"sites": "officials"}, AccessConfig.model_validate({"rules": [rule]}))

    class Cfg:
        datasets = [type("D", (), {"id": "sites", "services": ["ogcapi", "wms", "wfs", "downloads"],
                                   "access": type("A", (), {"value": "officials"})(), "label": None})()]

    view = build_view(Cfg(), {"sites": layer}, policy, official("o", OVRUCH))
    grant = view.grant("sites", "ogcapi")
    assert grant is not None and grant.hidden == hidden
    want = {int(f) for f, g, s in zip(fids, geoms, status)
            if (area is None or shapely.intersects(g, area))
            and (not national or s == "загальнодержавного значення")}
    narrowed = layer.restricted(RowFilter(grant.row_filter)) if grant.row_filter else layer
    provider = GeoPackageProvider(_provider(Cfg.datasets[0], narrowed, grant.hidden))
    got = provider.query(limit=10000)
    assert {int(f["id"]) for f in got["features"]} == want
    assert all(not set(hidden) & set(f["properties"]) for f in got["features"])
    # a client's own bbox of the whole oblast widens nothing
    wide = provider.query(limit=10000, bbox=[22.0, 44.0, 40.0, 53.0])
    assert {int(f["id"]) for f in wide["features"]} == want
    # Debian's GDAL reads the same rows through the SQL that MapServer and ogr2ogr are given
    out = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", *narrowed.location.ogr_source()],
                         capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    assert len(json.loads(out.stdout)["features"]) == len(want)


def test_tiles_of_a_view_draw_only_layers_its_getmap_allows(tmp_path: Path) -> None:
    """Tile mode is no OWS request (MapServer ignores wms_enable_request there): the view's list decides."""
    from geoportal.serve import MapServerCGI, Tiles

    seen: list[str] = []

    class Recorder(MapServerCGI):
        def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
            seen.append(environ["QUERY_STRING"])
            start_response("200 OK", [("Content-Type", "image/png")])
            return [b"png"]

    tiles = Tiles(Recorder(tmp_path / "mapserver.conf"), allowed={"roads"})
    status: list[str] = []
    tiles({"PATH_INFO": "/roads,cadastre/6/37/21.png"}, lambda s, h: status.append(s))
    tiles({"PATH_INFO": "/roads/6/37/21.png"}, lambda s, h: status.append(s))
    assert status[0].startswith("404") and status[1].startswith("200")
    assert len(seen) == 1 and "layers=roads" in seen[0]
