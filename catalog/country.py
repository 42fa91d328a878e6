"""The country's catalog network in simulation, on one machine: an oblast node harvests its hromadas'
catalogs, then the national node harvests the oblasts (docs/scale.md has the arithmetic it checks).

Why a simulation and not 1,469 nodes: what limits the network is the catalog chain (listing, fetching,
loading ~40 kB ISO records, rebuilding a node's search index), and that runs here with real parts —
pycsw serving each hromada's and oblast's own repository through the catalog process's WSGI wrapper
(:mod:`catalog.pycsw_process.geoportal_pycsw_many`, one gunicorn for all of them instead of 66), and
the node's own harvest (:func:`catalog.federation.harvest`) into real node workspaces.

* Hromadas: ``hromadas`` catalogs of ``records`` generated, valid, bilingual ISO 19139 records each.
* The oblast: a node workspace whose children are those catalogs; harvested once from empty (the
  first harvest of a new oblast) and once more with nothing changed (what every later interval costs).
* The national node: ``oblasts`` children — the simulated oblast itself, and copies of its catalog made
  in SQL under other identifiers (``national_scale`` × its size each), served the same way.

Every figure is a wall time on this machine, with its load average, so a reader can judge it.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from geoportal.config import Link, NodeConfig
from geoportal.model import Endpoints, Workspace

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["ліс", "річка", "школа", "дорога", "земля", "озеро", "парк", "поле", "межа", "громада", "заказник"]


@dataclass(frozen=True)
class Scale:
    hromadas: int = 66  # an average oblast: 1,469 hromadas / 24 oblasts ≈ 61, the largest has 66
    records: int = 30  # ISO records a hromada publishes (datasets and services)
    oblasts: int = 24
    national_scale: float = 1.0  # each other oblast's record count, as a share of the simulated one's


@dataclass
class Step:
    name: str
    records: int
    seconds: float
    load: float  # 1-minute load average at the end
    note: str = ""

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


@dataclass
class Report:
    scale: Scale
    steps: list[Step] = field(default_factory=list)
    oblast_records: int = 0
    national_records: int = 0
    origin_kept: bool = False  # a hromada record at the national node names its hromada as origin


def template_record(cfg: NodeConfig) -> bytes:
    """One valid ISO 19139 dataset record as the node writes it (pygeometa through metadata.records)."""
    from geoportal.config import Dataset
    from geoportal.model import FieldInfo, StoredLayer
    from ingest.store.gpkg import GpkgTable
    from metadata.records import dataset_record

    ds = Dataset.model_validate({
        "id": "template", "source": str(ROOT / "data/boundaries/UA_18_Zhytomyrska.geojson"),
        "title": {"uk": "TITLE_UK", "en": "TITLE_EN"}, "abstract": {"uk": "ABSTRACT_UK", "en": "ABSTRACT_EN"}})
    layer = StoredLayer(dataset_id="template", location=GpkgTable("/x.gpkg", "t"), geometry_type="Point",
                        feature_count=1, bbox=(27.0, 50.0, 27.1, 50.1), crs="EPSG:4326",
                        fields=(FieldInfo("name", "string"),), checksum="0" * 64, version=1,
                        loaded_at="2026-11-24T10:00:00+00:00")
    return dataset_record(cfg, ds, layer, Endpoints("http://source.example.org"))


def write_records(template: bytes, out: Path, prefix: str, n: int, seed: int) -> list[Path]:
    """``n`` variants of ``template``: identifiers ``<prefix>.rNNN``, their own titles, abstract and bbox."""
    from lxml import etree

    from metadata.records import NS

    out.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    text = template.decode("utf-8")
    gco = "{%s}" % NS["gco"]
    paths = []
    for i in range(n):
        w = rnd.sample(WORDS, 3)
        x, y = rnd.uniform(22.2, 40.0), rnd.uniform(44.4, 52.3)
        t = (text.replace("TITLE_UK", f"{w[0].capitalize()} та {w[1]}, {prefix} №{i}")
             .replace("TITLE_EN", f"Dataset {i} of {prefix}").replace("ABSTRACT_UK", f"Набір даних про {w[2]} ({i})")
             .replace("ABSTRACT_EN", f"About {w[2]}"))
        root = etree.fromstring(t.encode("utf-8"))
        root.find("gmd:fileIdentifier/gco:CharacterString", NS).text = f"{prefix}.r{i:03d}"
        box = root.find(".//gmd:EX_GeographicBoundingBox", NS)
        for tag, v in (("westBoundLongitude", x), ("eastBoundLongitude", x + 0.1), ("southBoundLatitude", y),
                       ("northBoundLatitude", y + 0.1)):
            box.find(f"gmd:{tag}/{gco}Decimal", NS).text = f"{v:.5f}"
        path = out / f"{prefix}.r{i:03d}.xml"
        path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
        paths.append(path)
    return paths


class Catalogs:
    """Catalogs served by one pycsw process at ``http://127.0.0.1:<port>/<name>/csw``."""

    def __init__(self, cfg: NodeConfig, root: Path, port: int):
        self.cfg, self.root, self.port = cfg, root, port
        self.dir = root / "catalogs"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}/csw"

    def configure(self, name: str, database: Path) -> Path:
        """Serve the pycsw repository ``database`` as catalog ``name``."""
        from catalog import pycsw

        home = self.dir / name
        ws = Workspace(home)
        ws.services.mkdir(parents=True, exist_ok=True)
        text = pycsw.build_config(self.cfg, ws, Endpoints(f"http://127.0.0.1:{self.port}/{name}"), database=database)
        (home / "pycsw.cfg").write_text(text, encoding="utf-8")
        return home / "pycsw.cfg"

    def start(self) -> None:
        from catalog import pycsw
        from geoportal.serve import _die_with_parent, wait_for

        venv = pycsw.pycsw_venv()
        env = dict(os.environ, GEOPORTAL_CATALOGS_DIR=str(self.dir), GEOPORTAL_CSW_GATE_SECRET="")
        env.pop("PYTHONPATH", None)
        cmd = [str(venv / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
               "--timeout", "900", *pycsw.WORKER_RECYCLING, "--log-level", "warning", "--pythonpath", str(pycsw.APP_DIR),
               "geoportal_pycsw_many:application"]
        log = open(self.root / "catalogs.log", "ab")
        # dies with this process, even by SIGKILL (as a node's catalog process does)
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        first = next(p.name for p in sorted(self.dir.iterdir()) if (p / "pycsw.cfg").exists())
        wait_for("127.0.0.1", self.port, f"/{first}/csw?service=CSW&version=2.0.2&request=GetCapabilities",
                 timeout=60, proc=self.proc)

    def stop(self) -> None:
        from geoportal.serve import stop

        if self.proc is not None:
            stop(self.proc)


def _empty_repository(cfg: NodeConfig, root: Path) -> Path:
    """An empty pycsw repository (pycsw's own set-up), to be copied for every catalog."""
    from catalog import pycsw

    ws = Workspace(root / "empty")
    ws.services.mkdir(parents=True, exist_ok=True)
    db = root / "empty" / "catalog.db"
    config = ws.services / "pycsw.cfg"
    config.write_text(pycsw.build_config(cfg, ws, Endpoints("http://127.0.0.1"), database=db), encoding="utf-8")
    pycsw.run_loader(config, [], setup=True)
    return db


def _split(all_db: Path, empty: Path, out: Path, like: str) -> int:
    """A repository holding the rows of ``all_db`` whose identifier is LIKE ``like``."""
    shutil.copyfile(empty, out)
    with sqlite3.connect(out) as db:
        db.execute("ATTACH DATABASE ? AS src", (str(all_db),))
        db.execute("INSERT INTO records SELECT * FROM src.records WHERE identifier LIKE ?", (like,))
        n = db.execute("SELECT count(*) FROM records").fetchone()[0]
    return int(n)


def _copy_oblast(src: Path, empty: Path, out: Path, prefix: str, limit: int) -> int:
    """Another oblast's repository: ``limit`` rows of ``src`` under identifiers ``<prefix>.<identifier>``
    (in the XML too, so GetRecordById and the ISO pages deliver what the listing names)."""
    shutil.copyfile(empty, out)
    with sqlite3.connect(out) as db:
        db.execute("ATTACH DATABASE ? AS src", (str(src),))
        cols = [r[1] for r in db.execute("PRAGMA table_info(records)")]
        new_id = "? || '.' || identifier"
        sel = []
        args: list[object] = []
        for c in cols:
            if c == "identifier":
                sel.append(new_id)
                args.append(prefix)
            elif c == "xml":
                sel.append(f"replace(xml, '>' || identifier || '<', '>' || {new_id} || '<')")
                args.append(prefix)
            else:
                sel.append(c)
        db.execute(f"INSERT INTO records ({', '.join(cols)}) SELECT {', '.join(sel)} FROM src.records "
                   f"ORDER BY identifier LIMIT ?", (*args, limit))
        n = db.execute("SELECT count(*) FROM records").fetchone()[0]
    return int(n)


def hromada_catalogs(cats: Catalogs, names: list[str], records: int) -> Path:
    """A catalog per name with ``records`` generated records ``ua.o00.<name>.rNNN`` (loaded by one loader
    run into one repository, then split by SQL: 66 loader starts would cost more than the records);
    returns the empty repository the catalogs were copied from."""
    from catalog import pycsw

    template = template_record(cats.cfg)
    empty = _empty_repository(cats.cfg, cats.root)
    files = []
    for i, h in enumerate(names):
        files += write_records(template, cats.root / "records" / h, f"ua.o00.{h}", records, seed=i)
    all_db = cats.root / "all-hromadas.db"
    shutil.copyfile(empty, all_db)
    config = cats.configure("_all", all_db)
    report = pycsw.run_loader(config, [(p, "local") for p in files])
    if report["errors"]:
        raise RuntimeError(f"generated records were refused: {report['errors'][:2]}")
    shutil.rmtree(cats.dir / "_all")
    for h in names:
        (cats.dir / h).mkdir(parents=True, exist_ok=True)
        _split(all_db, empty, cats.dir / h / "catalog.db", f"ua.o00.{h}.%")
        cats.configure(h, cats.dir / h / "catalog.db")
    all_db.unlink()
    return empty


def node(cfg: NodeConfig, root: Path, node_id: str, children: list[Link]) -> tuple[NodeConfig, Workspace]:
    """An empty node catalog in ``root`` with these children (the sample oblast's config otherwise)."""
    from catalog import pycsw

    if root.exists():
        shutil.rmtree(root)
    node = cfg.node.model_copy(update={"id": node_id})
    ncfg = cfg.model_copy(update={"node": node, "children": children, "remote_services": [], "datasets": []})
    ws = Workspace(root).ensure()
    pycsw.load(ncfg, ws, Endpoints("http://127.0.0.1:1"))
    return ncfg, ws


def _count(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return int(c.execute("SELECT count(*) FROM records").fetchone()[0])


def _load() -> float:
    return os.getloadavg()[0]


def simulate(cfg: NodeConfig, root: Path, port: int, scale: Scale = Scale(),
             progress: Callable[[str], None] = print) -> Report:
    """Run the simulation in ``root`` (emptied first) with the catalogs on ``port``; see the module."""
    from catalog import pycsw
    from catalog.federation import harvest

    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    rep = Report(scale)
    cats = Catalogs(cfg, root, port)

    progress(f"generating {scale.hromadas} × {scale.records} hromada records …")
    hromadas = [f"h{i:02d}" for i in range(scale.hromadas)]
    empty = hromada_catalogs(cats, hromadas, scale.records)
    cats.start()
    try:
        progress(f"oblast harvests {scale.hromadas} hromada catalogs …")
        oblast_cfg, oblast_ws = node(cfg, root / "oblast", "o00-oblast",
                                      [Link(id=h, url=cats.url(h), type="csw") for h in hromadas])
        for name, note in (("oblast, first harvest", "from empty"), ("oblast, nothing changed", "listing only")):
            t = time.perf_counter()
            res = harvest(oblast_cfg, oblast_ws, timeout=120, progress=lambda m: None)
            secs = time.perf_counter() - t
            bad = [r for r in res if not r.ok]
            assert not bad, bad[:2]
            rep.steps.append(Step(name, sum(r.listed for r in res), secs, _load(),
                                  f"{note}; {sum(r.added + r.changed for r in res)} loaded"))
            progress(f"  {name}: {rep.steps[-1].records} records listed in {secs:.1f} s")
        rep.oblast_records = _count(oblast_ws.catalog_db)

        # the national level: the simulated oblast and copies of it, scaled
        per_oblast = max(1, round(rep.oblast_records * scale.national_scale))
        oblasts = ["o00"]
        cats.configure("o00", oblast_ws.catalog_db)
        for k in range(1, scale.oblasts):
            name = f"o{k:02d}"
            (cats.dir / name).mkdir(parents=True, exist_ok=True)
            db = cats.dir / name / "catalog.db"
            _copy_oblast(oblast_ws.catalog_db, empty, db, f"ua.{name}", per_oblast)
            cats.configure(name, db)
            oblasts.append(name)
        progress(f"national node harvests {scale.oblasts} oblast catalogs (≈{per_oblast} records each) …")
        nat_cfg, nat_ws = node(cfg, root / "national", "ua-national",
                                [Link(id=o, url=cats.url(o), type="csw") for o in oblasts])
        for name, note in (("national, first harvest", "from empty"), ("national, nothing changed", "listing only")):
            t = time.perf_counter()
            res = harvest(nat_cfg, nat_ws, timeout=300, progress=lambda m: None)
            secs = time.perf_counter() - t
            bad = [r for r in res if not r.ok]
            assert not bad, bad[:2]
            rep.steps.append(Step(name, sum(r.listed for r in res), secs, _load(),
                                  f"{note}; {sum(r.added + r.changed for r in res)} loaded"))
            progress(f"  {name}: {rep.steps[-1].records} records listed in {secs:.1f} s")
        rep.national_records = _count(nat_ws.catalog_db)
        with sqlite3.connect(f"file:{nat_ws.catalog_db}?mode=ro", uri=True) as c:
            row = c.execute("SELECT source FROM records WHERE identifier = ?",
                            (f"ua.o00.{hromadas[0]}.r000",)).fetchone()
        rep.origin_kept = row is not None and row[0] == cats.url(hromadas[0])

        # the parts of a harvest, timed alone at the national node: the search index rebuild
        from search import index as search_index

        t = time.perf_counter()
        search_index.build(nat_cfg, nat_ws)
        rep.steps.append(Step("national search index rebuild", rep.national_records, time.perf_counter() - t,
                              _load(), "runs after every harvest that changed something"))
    finally:
        cats.stop()
    return rep
