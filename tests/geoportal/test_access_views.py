"""What each role gets from every data endpoint of a served node: roles × datasets × endpoints.

The sample node with an ``access:`` section is built and served by ``geoportal serve`` (the access front in
front, users made with ``geoportal users add``); every request carries HTTP Basic credentials, as QGIS,
GDAL and OWSLib send them. What a role should see is computed independently of the node: the stored
features read with pyogrio, the hromada polygons from the source shapefile, the test with shapely. The
same matrix runs on the node stored in PostGIS.

Datasets: ``hromadas`` public; ``nature-protection`` public, cut for citizens (national sites only, the
Latin name hidden); ``nature-protection-register`` officials, each official inside their own body's
territory; ``geographic-names`` restricted to Ovruch hromada.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyogrio
import pytest
import requests
import shapely

from tests.conftest import ROOT, ServedNode, derived_config, serve_node, stop_node

PASSWORD = "correct horse battery staple"
OVRUCH = "UA18060170000069581"
OLEVSK = "UA18060190000071101"
NATIONAL = "загальнодержавного значення"
HIDDEN = "unormovana_nazva_latynytseiu"
SHAPEFILE = ROOT / "data" / "boundaries" / "hromadas_30km_russia_belarus.shp"

ACCESS = {
    "datasets": {"geographic-names": {"organisations": [OVRUCH], "log": True}},
    "rules": [
        {"roles": ["official"], "dataset": "nature-protection-register", "effect": "limit",
         "limit": {"area": "organisation"}},
        {"roles": ["citizen"], "dataset": "nature-protection", "effect": "limit",
         "limit": {"filter": f"administratyvnyi_status = '{NATIONAL}'", "hide_attributes": [HIDDEN]}},
    ],
}
USERS = {  # name → (role, extra arguments of `geoportal users add`)
    "citizen": ("citizen", []),
    "ovruch": ("official", ["--org", OVRUCH]),
    "olevsk": ("official", ["--org", OLEVSK]),
    "keeper": ("custodian", ["--datasets", "nature-protection-register"]),
    "boss": ("admin", []),
}
ROLES = ["anonymous", *USERS]
DATASETS = ["hromadas", "nature-protection", "nature-protection-register", "geographic-names"]


def geoportal(*args: str, stdin: str = "") -> str:
    return subprocess.run([os.sys.executable, "-m", "geoportal.cli", *args], input=stdin, text=True,
                          capture_output=True, cwd=ROOT, check=True, timeout=180).stdout


def make_node(base: Path, **top: object) -> ServedNode:
    import yaml

    from tests.conftest import DEMO_CONFIG
    from geoportal.config import absolutize

    raw = absolutize(yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8")), DEMO_CONFIG.parent)
    for ds in raw["datasets"]:
        if ds["id"] == "geographic-names":
            ds["access"] = "restricted"
    # no passport: not this matrix's subject, and its pages printed to PDF (twice: the public and the full
    # variant, a restricted source being withheld) were most of each node's build
    cfg = derived_config(base / "node.yaml", datasets=raw["datasets"], access=ACCESS, passport=None, **top)
    workdir = base / "node"
    for name, (role, extra) in USERS.items():
        geoportal("users", "add", name, "--role", role, *extra, "--config", str(cfg),
                  "--workdir", str(workdir), stdin=PASSWORD + "\n")
    return serve_node(cfg, workdir)


@pytest.fixture(scope="module")
def starting(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[dict[str, Future[ServedNode]]]:
    """The module's nodes (GeoPackage and PostGIS) that its selected tests use, built side by side: a
    build is a subprocess, and one alone leaves a core idle. Each fixture below waits for its own."""
    wanted = {name for item in request.session.items if getattr(item, "module", None) is request.module
              for name in item.fixturenames} & {"gpkg_node", "pg_node"}
    futures: dict[str, Future[ServedNode]] = {}
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="views-node") as pool:
        if "gpkg_node" in wanted:
            futures["gpkg_node"] = pool.submit(make_node, tmp_path_factory.mktemp("views"))
        if "pg_node" in wanted:
            try:
                dsn = request.getfixturevalue("postgis_dsn")
            except pytest.skip.Exception:
                pass  # no PostGIS: pg_node's own request of postgis_dsn skips its tests
            else:
                futures["pg_node"] = pool.submit(make_node, tmp_path_factory.mktemp("views-pg"),
                                                 storage={"backend": "postgis", "dsn": dsn, "schema": "views_node"})
        try:
            yield futures
        finally:
            for fut in futures.values():
                if fut.exception() is None:
                    stop_node(fut.result().process)


@pytest.fixture(scope="module")
def gpkg_node(starting: dict[str, Future[ServedNode]]) -> ServedNode:
    return starting["gpkg_node"].result()


# -- what each role should see, computed without the node ---------------------------------------------

def hromada(code: str) -> shapely.Geometry:
    _, _, wkb, fields = pyogrio.raw.read(SHAPEFILE, columns=["COD_3"])
    return shapely.union_all([g for c, g in zip(fields[0], shapely.from_wkb(wkb)) if c == code])


@dataclass
class Stored:
    ids: list[int]
    geoms: list[shapely.Geometry]
    props: dict[str, list[object]]


def stored(node: ServedNode, dataset: str) -> Stored:
    loc = node.layers[dataset]["location"]
    if loc["backend"] == "geopackage":
        meta, fids, wkb, fields = pyogrio.raw.read(loc["path"], layer=loc["table"], return_fids=True)
        return Stored([int(i) for i in fids], list(shapely.from_wkb(wkb)),
                      {str(c): list(v) for c, v in zip(meta["fields"], fields)})
    import psycopg

    with psycopg.connect(loc["dsn"]) as conn:
        cur = conn.execute(f'SELECT fid, ST_AsBinary(geom), administratyvnyi_status FROM "{loc["schema"]}".'
                           f'"{loc["table"]}"' if dataset == "nature-protection" else
                           f'SELECT fid, ST_AsBinary(geom), NULL FROM "{loc["schema"]}"."{loc["table"]}"')
        rows = cur.fetchall()
    return Stored([r[0] for r in rows], [shapely.from_wkb(bytes(r[1])) for r in rows],
                  {"administratyvnyi_status": [r[2] for r in rows]})


def expected(node: ServedNode, role: str, dataset: str) -> tuple[set[int] | None, set[str]]:
    """(the feature ids the role gets, None: none, the dataset does not exist for it; hidden attributes)."""
    s = stored(node, dataset)
    every = set(s.ids)
    if dataset == "hromadas" or role == "boss":
        return every, set()
    if dataset == "nature-protection":
        if role != "citizen":
            return every, set()
        status = s.props["administratyvnyi_status"]
        return {i for i, st in zip(s.ids, status) if st == NATIONAL}, {HIDDEN}
    if dataset == "nature-protection-register":
        if role == "keeper":
            return every, set()
        if role in ("ovruch", "olevsk"):
            area = hromada(OVRUCH if role == "ovruch" else OLEVSK)
            return {i for i, g in zip(s.ids, s.geoms) if shapely.intersects(g, area)}, set()
        return None, set()
    if dataset == "geographic-names":
        return (every, set()) if role == "ovruch" else (None, set())
    raise AssertionError(dataset)


class Caller:
    def __init__(self, node: ServedNode, role: str):
        self.node, self.role = node, role
        self.s = requests.Session()
        if role != "anonymous":
            self.s.auth = (role, PASSWORD)

    def get(self, path: str, **params: object) -> requests.Response:
        return self.s.get(self.node.base_url + path, params=params or None, timeout=120)


def ows(c: Caller, **params: str) -> requests.Response:
    return c.get("/ows", **params)


def wfs_ids(r: requests.Response, dataset: str) -> set[int]:
    return {int(str(f["id"]).rsplit(".", 1)[-1]) for f in r.json()["features"]}


# -- the matrix --------------------------------------------------------------------------------------

def check_role(node: ServedNode, role: str) -> None:
    c = Caller(node, role)
    listed = {col["id"] for col in c.get("/ogcapi/collections", f="json").json()["collections"]}
    caps = ows(c, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetCapabilities").text
    wfs_caps = ows(c, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetCapabilities").text
    landing = c.get("/").text
    for dataset in DATASETS:
        ids, hidden = expected(node, role, dataset)
        where = f"{role} × {dataset}"
        # OGC API Features: collections, collection, items, item, queryables, schema, HTML pages
        assert (dataset in listed) == (ids is not None), where
        col = c.get(f"/ogcapi/collections/{dataset}", f="json")
        items = c.get(f"/ogcapi/collections/{dataset}/items", f="json", limit=10000)
        html = c.get(f"/ogcapi/collections/{dataset}/items", f="html")
        queryables = c.get(f"/ogcapi/collections/{dataset}/queryables", f="json")
        schema = c.get(f"/ogcapi/collections/{dataset}/schema", f="json")
        # WMS, WFS, tiles, downloads, pages
        getmap = ows(c, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS=dataset, STYLES="",
                     CRS="EPSG:4326", BBOX="49.5,27.0,52.0,30.0", WIDTH="256", HEIGHT="256",
                     FORMAT="image/png")
        legend = ows(c, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetLegendGraphic", LAYER=dataset,
                     FORMAT="image/png", SLD_VERSION="1.1.0")
        tile = c.get(f"/tiles/{dataset}/6/37/21.png")
        dft = ows(c, SERVICE="WFS", VERSION="2.0.0", REQUEST="DescribeFeatureType", TYPENAMES=f"gp:{dataset}")
        gf = ows(c, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES=f"gp:{dataset}",
                 OUTPUTFORMAT="geojson")
        download = c.get(f"/downloads/{dataset}.geojson")
        csv = c.get(f"/downloads/{dataset}.csv")
        page = c.get(f"/datasets/{dataset}/")
        if ids is None:  # the same answers as for a dataset the node does not have
            for r in (col, items, html, queryables, schema, download, csv, page):
                assert r.status_code == 404, (where, r.url, r.status_code)
            assert f"<Name>{dataset}</Name>" not in caps, where
            assert f"gp:{dataset}<" not in wfs_caps, where
            for r in (getmap, legend, dft, gf):
                assert "image/png" not in r.headers.get("Content-Type", ""), (where, r.url)
                assert re.search(r"LayerNotDefined|InvalidParameterValue|not.*(found|defined|exist)|TypeName",
                                 r.text, re.I), (where, r.url, r.text[:300])
            assert tile.headers.get("Content-Type") != "image/png" or len(tile.content) < 1000, where
            assert f"/datasets/{dataset}/" not in landing, where
            continue
        assert col.status_code == 200 and items.status_code == 200 and html.status_code == 200, where
        got = {int(f["id"]) for f in items.json()["features"]}
        assert got == ids, (where, len(got), len(ids))
        assert items.json()["numberMatched"] == len(ids), where
        for f in items.json()["features"]:
            assert not hidden & set(f["properties"]), where
        assert not hidden & set(queryables.json()["properties"]), where
        assert not hidden & set(schema.json()["properties"]), where
        everything = set(stored(node, dataset).ids)
        outside = sorted(everything - ids)
        if outside:  # a feature the rule withholds is not there by id either
            gone = c.get(f"/ogcapi/collections/{dataset}/items/{outside[0]}", f="json")
            assert gone.status_code == 404, where
        if ids:
            one = c.get(f"/ogcapi/collections/{dataset}/items/{min(ids)}", f="json")
            assert one.status_code == 200 and not hidden & set(one.json()["properties"]), where
        assert f"<Name>{dataset}</Name>" in caps, where
        assert f"gp:{dataset}" in wfs_caps, where
        assert getmap.headers["Content-Type"].startswith("image/png"), (where, getmap.text[:300])
        assert legend.headers["Content-Type"].startswith("image/png"), where
        assert tile.headers["Content-Type"].startswith("image/png"), where
        assert dft.status_code == 200 and "complexType" in dft.text, where
        for h in hidden:
            assert f'name="{h}"' not in dft.text, where
        assert wfs_ids(gf, dataset) == ids, where
        for f in gf.json()["features"]:
            assert not hidden & set(f["properties"]), where
        assert download.status_code == 200, where
        feats = download.json()["features"]
        assert len(feats) == len(ids), where
        assert all(not hidden & set(f["properties"]) for f in feats), where
        header = csv.content.decode("utf-8-sig").splitlines()[0]
        assert not any(h in header.split(",") for h in hidden), where
        # GML (WFS's own format) and the GeoPackage download, read by GDAL
        gml = ows(c, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES=f"gp:{dataset}")
        assert gml.status_code == 200 and gml.text.count("<wfs:member>") == len(ids), (where, gml.text[:300])
        assert not any(f":{h}>" in gml.text for h in hidden), where
        gpkg = c.get(f"/downloads/{dataset}.gpkg")
        assert gpkg.status_code == 200, where
        with tempfile.NamedTemporaryFile(suffix=".gpkg") as f:
            f.write(gpkg.content)
            f.flush()
            info = pyogrio.read_info(f.name, layer=dataset)
        assert info["features"] == len(ids) and not hidden & set(info["fields"]), where
        assert page.status_code == 200 and f"/datasets/{dataset}/" in landing, where


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_features_everywhere(gpkg_node: ServedNode, role: str) -> None:
    check_role(gpkg_node, role)


def test_getfeatureinfo_shows_no_hidden_attribute(gpkg_node: ServedNode) -> None:
    """At a national site's own location a citizen's GetFeatureInfo names the site, not its Latin name."""
    s = stored(gpkg_node, "nature-protection")
    i = s.props["administratyvnyi_status"].index(NATIONAL)
    x, y = s.geoms[i].x, s.geoms[i].y
    for role, shows in (("citizen", False), ("anonymous", True)):
        r = ows(Caller(gpkg_node, role), SERVICE="WMS", VERSION="1.3.0", REQUEST="GetFeatureInfo",
                LAYERS="nature-protection", QUERY_LAYERS="nature-protection", STYLES="", CRS="EPSG:4326",
                BBOX=f"{y - 0.01},{x - 0.01},{y + 0.01},{x + 0.01}", WIDTH="101", HEIGHT="101",
                I="50", J="50", INFO_FORMAT="application/json", FEATURE_COUNT="5")
        props = [f["properties"] for f in r.json()["features"]]
        assert props, role
        assert all((HIDDEN in p) == shows for p in props), role


def test_the_whole_oblast_bbox_gives_an_official_only_their_hromada(gpkg_node: ServedNode) -> None:
    """OWSLib and GDAL with credentials, asking for everything in the oblast: only Ovruch's sites come."""
    from owslib.wfs import WebFeatureService

    ids, _ = expected(gpkg_node, "ovruch", "nature-protection-register")
    wfs = WebFeatureService(f"{gpkg_node.base_url}/ows", version="2.0.0", username="ovruch",
                            password=PASSWORD)
    assert "gp:nature-protection-register" in wfs.contents
    # OWSLib takes lon/lat and sends the axis order of EPSG:4326 (lat/lon)
    oblast = (27.0, 49.5, 30.0, 52.0, "urn:ogc:def:crs:EPSG::4326")
    data = wfs.getfeature(typename=["gp:nature-protection-register"], bbox=oblast,
                          outputFormat="geojson").read()
    assert {int(str(f["id"]).rsplit(".", 1)[-1]) for f in json.loads(data)["features"]} == ids
    env = {**os.environ, "GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": f"ovruch:{PASSWORD}"}
    for src, layer in ((f"WFS:{gpkg_node.base_url}/ows", "gp:nature-protection-register"),
                       (f"OAPIF:{gpkg_node.base_url}/ogcapi", "nature-protection-register")):
        out = subprocess.run(["ogrinfo", "-ro", "-so", src, layer], capture_output=True, text=True, env=env,
                             timeout=120).stdout
        assert f"Feature Count: {len(ids)}" in out, (src, out[-500:])
    anonymous = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{gpkg_node.base_url}/ogcapi",
                                "nature-protection-register"], capture_output=True, text=True, timeout=120)
    assert "Feature Count" not in anonymous.stdout


def test_reads_of_restricted_data_are_audited(gpkg_node: ServedNode) -> None:
    Caller(gpkg_node, "ovruch").get("/ogcapi/collections/geographic-names/items", f="json", limit=1)
    Caller(gpkg_node, "olevsk").get("/ogcapi/collections/geographic-names/items", f="json", limit=1)
    text = (gpkg_node.workdir / "audit.log").read_text(encoding="utf-8")
    lines = [json.loads(x) for x in text.splitlines()]
    reads = [e for e in lines if e.get("action") == "access.read" and e.get("dataset") == "geographic-names"]
    assert any(e["actor"] == "ovruch" and e["outcome"] == "allow" and e.get("address") for e in reads)
    assert any(e["actor"] == "olevsk" and e["outcome"] == "deny" for e in reads)


def test_answers_to_a_logged_in_caller_are_private(gpkg_node: ServedNode) -> None:
    r = Caller(gpkg_node, "ovruch").get("/ogcapi/collections/nature-protection-register/items", f="json")
    assert "private" in r.headers["Cache-Control"] and "Authorization" in r.headers["Vary"]
    # and never stored: a client's own cache (QGIS's) ignores Vary
    assert "no-store" in r.headers["Cache-Control"]



def test_a_collection_given_as_to_anybody_is_the_same_answer(gpkg_node: ServedNode) -> None:
    """An official reading a public collection their view gives exactly as the anonymous view does gets
    the very answer anybody gets (the node's own pygeoapi answers it); a collection their view cuts
    differently is not answered that way (the citizen's cut of nature-protection, the officials' register)."""
    items = "/ogcapi/collections/hromadas/items"
    anybody = Caller(gpkg_node, "anonymous").get(items, f="json", limit=50).json()
    official = Caller(gpkg_node, "ovruch").get(items, f="json", limit=50).json()
    for answer in (anybody, official):
        answer.pop("timeStamp", None)
    assert official == anybody and official["features"]
    one = f"{items}/{anybody['features'][0]['id']}"
    assert Caller(gpkg_node, "boss").get(one, f="json").json() == Caller(gpkg_node, "anonymous").get(one, f="json").json()
    cut = "/ogcapi/collections/nature-protection/items"
    assert (Caller(gpkg_node, "citizen").get(cut, f="json", limit=1000).json()["numberMatched"]
            < Caller(gpkg_node, "anonymous").get(cut, f="json", limit=1000).json()["numberMatched"])
    assert Caller(gpkg_node, "anonymous").get("/ogcapi/collections/nature-protection-register/items",
                                              f="json").status_code == 404


@pytest.fixture(scope="module")
def pg_node(postgis_dsn: str, starting: dict[str, Future[ServedNode]]) -> ServedNode:
    return starting["pg_node"].result()


@pytest.mark.parametrize("role", ["anonymous", "citizen", "ovruch", "olevsk"])
def test_the_same_on_a_postgis_node(pg_node: ServedNode, role: str) -> None:
    check_role(pg_node, role)


def test_qgis_loads_a_restricted_layer_with_its_authentication_configuration(gpkg_node: ServedNode,
                                                                               tmp_path: Path) -> None:
    """A QGIS user with a Basic authentication configuration opens the register through WMS, WFS and OGC API
    Features and gets the features of their hromada; without one, QGIS finds no such layer."""
    from tests.publishers.test_qgis import _has_pyqgis, run_qgis

    if not _has_pyqgis():
        pytest.skip("PyQGIS (Debian python3-qgis) is not installed")
    ids, _ = expected(gpkg_node, "ovruch", "nature-protection-register")
    base, ds = gpkg_node.base_url, "nature-protection-register"
    specs = []
    for who, basic in (("ovruch", ["ovruch", PASSWORD]), ("anonymous", None)):
        for provider, uri in (
                ("wms", f"crs=EPSG:4326&format=image/png&layers={ds}&styles=&url={base}/ows"),
                ("WFS", f"url='{base}/ows' typename='gp:{ds}' version='2.0.0'"),
                ("OAPIF", f"url='{base}/ogcapi' typename='{ds}'")):
            specs.append({"name": f"{who}-{provider}", "provider": provider, "uri": uri, "basic": basic,
                          "render": provider == "wms", "png": str(tmp_path / f"{who}-{provider}.png")})
    os.environ["QGIS_AUTH_DB_DIR_PATH"] = str(tmp_path)
    try:
        got = run_qgis(specs, tmp_path)
    finally:
        del os.environ["QGIS_AUTH_DB_DIR_PATH"]
    for provider in ("WFS", "OAPIF"):
        r = got[(f"ovruch-{provider}", provider)]
        assert r["valid"] and r["count"] == len(ids), r
        assert not got[(f"anonymous-{provider}", provider)]["valid"]
    assert got[("ovruch-wms", "wms")]["valid"] and got[("ovruch-wms", "wms")]["colours"] > 1
    anonymous = got[("anonymous-wms", "wms")]  # no such layer: refused, or nothing drawn
    assert not anonymous["valid"] or anonymous.get("colours", 0) <= 1, anonymous
