"""The node's catalog: a pycsw 2.6 configuration and its repository, loaded from the node's ISO records.

pycsw 2.6 needs SQLAlchemy < 2 and an old OWSLib, which the rest of the node cannot share, so it lives in
its own virtual environment (``.venv-pycsw``, made by ``make``) and is only ever run as a separate
process: ``pycsw-admin.py`` to load the repository, gunicorn to serve it. The repository is built aside
and moved into place, so a running catalog never sees half a load.
"""

from __future__ import annotations

import configparser
import io
import json
import logging
import os
import subprocess
from pathlib import Path
from typing import Iterable

from geoportal.config import NodeConfig
from geoportal.errors import CatalogError
from geoportal.model import Endpoints, Workspace, write_atomic
from geoportal.services import Service

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)

SERVICES = (
    Service(name="csw", title="CSW 2.0.2", long_title="Catalogue Service for the Web", protocol="OGC:CSW",
            service_type="discovery", operation="GetRecords", path="/csw",
            capabilities="?service=CSW&version=2.0.2&request=GetCapabilities", version="2.0.2",
            conforms_to="http://www.opengis.net/def/serviceType/ogc/csw", iso_category="infoCatalogueService",
            media_types=("application/xml",), per_dataset=False),
)


def pycsw_venv() -> Path:
    """The virtual environment that holds pycsw (override with GEOPORTAL_PYCSW_VENV)."""
    venv = Path(os.environ.get("GEOPORTAL_PYCSW_VENV", ROOT / ".venv-pycsw"))
    if not (venv / "bin" / "pycsw-admin.py").exists():
        raise CatalogError(
            f"pycsw is not installed in {venv}; run 'make install' (it creates .venv-pycsw with pycsw 2.6 "
            "and SQLAlchemy < 2), or set GEOPORTAL_PYCSW_VENV"
        )
    return venv


def config_path(ws: Workspace) -> Path:
    return ws.services / "pycsw.cfg"


def production_config_path(ws: Workspace) -> Path:
    """The pycsw configuration of a production node's repository (PostgreSQL), written by ``geoportal
    deploy prepare`` (:mod:`geoportal.deploy.prepare`)."""
    return ws.services / "pycsw-production.cfg"


def served_config_path(ws: Workspace) -> Path:
    """The pycsw configuration of the repository the running node serves and reads: production's when
    the workspace was prepared for production (its readers no longer read the build's SQLite file), else
    the build's. Whatever changes the live catalog (a harvest) writes there."""
    production = production_config_path(ws)
    return production if production.exists() else config_path(ws)


def build_config(cfg: NodeConfig, ws: Workspace, ep: Endpoints, database: Path | str | None = None,
                 transactions: bool = False) -> str:
    """The pycsw.cfg text. Transactions (CSW-T) stay off on the public endpoint. ``database``: a SQLite
    file, or a SQLAlchemy URL (``postgresql://…``: the production topology's repository)."""
    c = cfg.node.contact
    cp = configparser.ConfigParser(interpolation=None)
    cp["server"] = {
        "home": str(ws.services),
        "url": ep.csw,
        "mimetype": "application/xml; charset=UTF-8",
        "encoding": "UTF-8",
        "language": "en-US",
        "maxrecords": "1000",
        "loglevel": "WARNING",
        "logfile": str(ws.root / "pycsw.log"),
        "pretty_print": "true",
        "domainquerytype": "list",
        "domaincounts": "true",
        "profiles": "apiso",
        # no gzip_compresslevel: with it pycsw 2.6 sends a wrong Content-Length
    }
    cp["manager"] = {
        "transactions": "true" if transactions else "false",
        "allowed_ips": "127.0.0.1",
        "csw_harvest_pagesize": "50",
    }
    cp["metadata:main"] = {
        "identification_title": f"{cfg.node.name.uk} / {cfg.node.name.en}",
        "identification_abstract": (f"{cfg.node.description.uk} / {cfg.node.description.en}"
                                    if cfg.node.description else cfg.node.name.en),
        "identification_keywords": f"геопортал,geoportal,{cfg.node.katotth},{cfg.node.level.value}",
        "identification_keywords_type": "theme",
        "identification_fees": "None",
        "identification_accessconstraints": "None",
        "provider_name": c.organisation.uk,
        "provider_url": c.url or ep.base_url,
        "contact_name": c.individual or c.organisation.uk,
        "contact_position": c.position or "pointOfContact",
        "contact_address": c.address or "",
        "contact_city": c.city or "",
        "contact_stateorprovince": cfg.node.name.uk,
        "contact_postalcode": "",
        "contact_country": c.country,
        "contact_phone": c.phone or "",
        "contact_fax": "",
        "contact_email": c.email,
        "contact_url": c.url or ep.base_url,
        "contact_hours": "",
        "contact_instructions": "",
        "contact_role": "pointOfContact",
    }
    url = database if isinstance(database, str) else f"sqlite:///{database or ws.catalog_db}"
    cp["repository"] = {"database": url, "table": "records"}
    cp["metadata:inspire"] = {"enabled": "false"}
    buf = io.StringIO()
    cp.write(buf)
    return buf.getvalue()


LOADER = Path(__file__).resolve().parent / "pycsw_loader.py"


LoadItem = tuple[Path, str] | tuple[Path, str, tuple[str, ...]]  # file, origin[, identifiers in a kept answer]


def run_loader(config: Path, records: list[LoadItem], *, setup: bool = False,
               delete_sources: list[str] | None = None, delete_ids: list[str] | None = None) -> dict:
    """Load (path, origin) records into the repository named by ``config``, in one transaction; an item
    (path, origin, identifiers) is a CSW answer kept by a harvest, of which those records are loaded.

    Runs :mod:`catalog.pycsw_loader` with the pycsw venv's python; returns its report
    ({"loaded", "deleted", "errors"}), errors being per file.
    """
    venv = pycsw_venv()
    job = {"config": str(config), "setup": setup, "delete_sources": delete_sources or [],
           "delete_ids": delete_ids or [],
           "records": [{"path": str(r[0]), "source": r[1], **({"identifiers": list(r[2])} if len(r) > 2 else {})}
                       for r in records]}
    # -P: the loader sits beside catalog/pycsw.py, which must not shadow the pycsw package
    proc = subprocess.run([str(venv / "bin" / "python"), "-P", str(LOADER)], input=json.dumps(job),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise CatalogError(f"loading records into the catalog ({config}) failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


class StreamLoader:
    """A harvest loaded as it arrives: :mod:`catalog.pycsw_loader` ``--stream`` in the pycsw venv, fed the
    raw CSW answers (ISO 19139) while the next ones are being fetched.

    Each answer comes as a file in ``folder``, named by :func:`incoming` (the harvester writes it there as
    it arrives, :meth:`send_file`); the loader parses it once, reads every wanted record's rows in place,
    and keeps a file that delivered one under a name of its own (removing any other). Nothing reaches the
    catalog before :meth:`commit` (one transaction, like :func:`run_loader`'s). Leaving the ``with`` block
    without a commit gives the harvest up and writes nothing to the catalog. ``wanted``: identifier →
    origin.
    """

    def __init__(self, config: Path, folder: Path | None = None, wanted: dict[str, str] | None = None,
                 delete_ids: list[str] | None = None):
        import tempfile

        venv = pycsw_venv()
        self.folder = folder
        self._err = tempfile.TemporaryFile()
        self._proc = subprocess.Popen([str(venv / "bin" / "python"), "-P", str(LOADER), "--stream"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err)
        # the repository first, so that the loader starts pycsw (~0.8 s) while the caller lists the child
        self._send(json.dumps({"config": str(config)}).encode("utf-8") + b"\n")
        self._flush()
        if wanted is not None:
            self.begin(folder, wanted, delete_ids)  # type: ignore[arg-type]

    def begin(self, folder: Path, wanted: dict[str, str], delete_ids: list[str] | None = None) -> None:
        """What the harvest is: the answers' ``folder``, the records ``wanted`` (identifier → origin) and
        the records to delete with them. A loader made without them (started ahead, while the child is
        being listed) is given them here, once."""
        self.folder = folder
        header = {"folder": str(folder), "wanted": wanted, "delete_ids": delete_ids or []}
        self._send(json.dumps(header).encode("utf-8") + b"\n")

    def _flush(self) -> None:
        try:
            self._proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            self._failed()

    def _send(self, data: bytes) -> None:
        try:
            self._proc.stdin.write(data)  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            self._failed()

    def _answer(self) -> dict:
        self._flush()
        line = self._proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            self._failed()
        return json.loads(line)

    def _failed(self) -> None:
        self._proc.kill()
        self._proc.wait()
        self._err.seek(0)
        raise CatalogError(f"loading the harvest into the catalog failed:\n{self._err.read()[-2000:].decode('utf-8', 'replace')}")

    def send_file(self, path: Path) -> None:
        """One CSW answer (GetRecords or GetRecordById, ISO 19139) as it came, in the file ``path`` (in
        ``folder``, named by :func:`incoming`), which the loader takes over: it keeps or removes it."""
        name = os.fsencode(path)
        self._send(b"F %d\n" % len(name) + name)

    def missing(self) -> tuple[list[str], list[str]]:
        """(wanted records no answer has delivered yet, answers that were not a usable CSW answer)."""
        self._send(b"Q\n")
        got = self._answer()
        return got["missing"], got["unusable"]

    def commit(self) -> dict:
        """Write the delivered records' rows (and delete ``delete_ids``) in one transaction: the report of
        :func:`run_loader` plus ``delivered``, identifier → the name of the file in ``folder`` it is in."""
        self._send(b"C\n")
        return self._answer()

    def __enter__(self) -> "StreamLoader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the loader; without a :meth:`commit` before, nothing reaches the catalog."""
        try:
            self._proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        try:
            self._proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()  # type: ignore[union-attr]
        self._err.close()


INCOMING = ".incoming-"  # the name an answer has in a harvest's folder until the loader keeps or removes it
KEPT = "answer-"  # the name of an answer the loader kept (catalog/pycsw_loader.py, which cannot import this)


def incoming(folder: Path) -> Path:
    """A new name in ``folder`` for an answer being received (see :class:`StreamLoader`); the loader keeps
    it as :func:`kept`'s name."""
    import secrets

    return folder / f"{INCOMING}{secrets.token_hex(10)}.xml"


def kept(path: Path) -> Path:
    """The name the loader keeps the answer received as ``path`` under."""
    return path.with_name(KEPT + path.name[len(INCOMING):])


def drop_answers(paths: Iterable[Path]) -> None:
    """Remove the answers received as ``paths``, whether still there or kept by the loader: those of a
    harvest given up (another harvest of the same child may be writing its own meanwhile)."""
    for path in paths:
        for name in (path, kept(path)):
            name.unlink(missing_ok=True)


def drop_unused(folder: Path, used: set[str], older_than: float) -> None:
    """Remove the answers in ``folder`` that no file in ``used`` (the names the child's state gives its
    records) is and that nothing has written for ``older_than`` seconds: those of a harvest whose process
    was killed, while another harvest of the child may be writing its own."""
    import time

    for path in [*folder.glob(f"{INCOMING}*"), *folder.glob(f"{KEPT}*")]:
        if path.name in used:
            continue
        try:
            if time.time() - path.stat().st_mtime >= older_than:
                path.unlink()
        except FileNotFoundError:
            pass


def harvested_records(ws: Workspace) -> list[LoadItem]:
    """Records harvested from other catalogs, with their origin (see catalog.federation): the files each
    child's state names — one per record, or a CSW answer kept as it came, with the identifiers of the
    records in it that are still the child's."""
    out: list[LoadItem] = []
    for state_path in sorted((ws.root / "harvested").glob("*/state.json")):
        state = json.loads(state_path.read_text(encoding="utf-8"))
        child = state.get("url", state_path.parent.name)
        # each record's origin as the harvest stored it (a record the child harvested from further below
        # keeps the node that first published it); a state written before origins were kept: the child
        by_file: dict[tuple[str, str], list[str]] = {}
        for ident, rec in state.get("records", {}).items():
            by_file.setdefault((str(rec["file"]), str(rec.get("origin") or child)), []).append(ident)
        for name, origin in sorted(by_file):
            path = state_path.parent / name
            if not path.exists():
                continue  # asked for again by the next harvest
            out.append((path, origin, tuple(sorted(by_file[name, origin]))) if name.startswith(ANSWER_PREFIX)
                       else (path, origin))
    return out


ANSWER_PREFIX = "answer-"  # a kept CSW answer's file name (catalog/pycsw_loader.py writes them)


def load(cfg: NodeConfig, ws: Workspace, ep: Endpoints) -> Path:
    """(Re)build the catalog repository aside from the node's own and its harvested records, then swap
    it in; a record of the node's own that pycsw cannot parse stops the build."""
    records = [(p, "local") for p in sorted(ws.records.glob("*.xml"))]
    tmp_db = ws.root / ".catalog.db.new"
    tmp_cfg = ws.services / ".pycsw-load.cfg"
    tmp_db.unlink(missing_ok=True)
    try:
        write_atomic(tmp_cfg, build_config(cfg, ws, ep, database=tmp_db))
        report = run_loader(tmp_cfg, records + harvested_records(ws), setup=True)
        local_errors = [e for e in report["errors"] if Path(e["path"]).parent == ws.records]
        if local_errors:
            raise CatalogError("pycsw cannot read these records of the node: " + "; ".join(
                f"{e['path']}: {e['error']}" for e in local_errors))
        for e in report["errors"]:
            log.warning("catalog: harvested record %s skipped: %s", e["path"], e["error"])
        os.replace(tmp_db, ws.catalog_db)
    finally:
        tmp_db.unlink(missing_ok=True)
        tmp_cfg.unlink(missing_ok=True)
    path = config_path(ws)
    # CSW-T is switched on only when publishers have tokens; the front (geoportal.serve.CatalogGate)
    # checks them, and pycsw takes transactions only with the front's per-start secret (see server_command)
    tokens = bool(os.environ.get("GEOPORTAL_CSW_TOKENS", "").strip())
    write_atomic(path, build_config(cfg, ws, ep, transactions=tokens))
    return path


APP_DIR = Path(__file__).resolve().parent / "pycsw_process"
# pycsw 2.6 builds a new SQLAlchemy model class for every request (Repository.__init__), and those are
# never freed: a worker grows by ~0.5-1.5 MB a request (1.6 GB after a national harvest, see
# docs/scale.md). A worker is replaced after a few hundred requests (the jitter keeps the two from
# restarting together), which bounds it at ~300-500 MB for the price of a second of imports.
# GEOPORTAL_CATALOG_MAX_REQUESTS=0 switches it off (bench/harvest_bench.py: the peer's harvest makes one
# request per record, and restarts would be counted against it).
_MAX_REQUESTS = int(os.environ.get("GEOPORTAL_CATALOG_MAX_REQUESTS", "300"))
WORKER_RECYCLING = ["--max-requests", str(_MAX_REQUESTS), "--max-requests-jitter", str(_MAX_REQUESTS // 3)] \
    if _MAX_REQUESTS > 0 else []


def server_command(ws: Workspace, host: str, port: int, gate_secret: str) -> tuple[list[str], dict[str, str]]:
    """The command and environment that serve the catalog (gunicorn in the pycsw venv).

    The application is :mod:`catalog.pycsw_process.geoportal_pycsw_app`, not pycsw's own wrapper: pycsw
    accepts a transaction only when the request carries ``gate_secret`` (the front adds it after checking
    a publisher token), its configuration cannot be switched by a query parameter, and its error texts
    carry no SQL. The secret travels in the environment, readable only by this user.
    """
    venv = pycsw_venv()
    env = dict(os.environ, PYCSW_CONFIG=str(config_path(ws)), GEOPORTAL_CSW_GATE_SECRET=gate_secret)
    env.pop("PYTHONPATH", None)
    # a CSW-T Harvest of a large catalog runs long inside one request: allow it (default 30 s);
    # --pythonpath is the folder of the wrapper alone (catalog/ holds a pycsw.py that would shadow pycsw)
    cmd = [str(venv / "bin" / "gunicorn"), "--bind", f"{host}:{port}", "--workers", "2", "--timeout", "900",
           *WORKER_RECYCLING,
           "--log-level", "warning", "--access-logfile", "-" if os.environ.get("GEOPORTAL_ACCESS_LOG") else "/dev/null",
           "--pythonpath", str(APP_DIR), "geoportal_pycsw_app:application"]
    return cmd, env
