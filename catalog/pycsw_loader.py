"""Load ISO records into a pycsw repository — run by the PYTHON OF THE PYCSW VENV, not the node's.

Why not ``pycsw-admin.py -c load_records``: it skips a record it cannot parse with only a log line, it
marks every record's origin as ``local``, and it commits once per record. This loader reads an ISO 19139
record's columns with :mod:`catalog.pycsw_iso_fast` (pre-compiled XPath, the same values pycsw's own
parser gives, ~10× faster) and hands every other record — or one that module declines — to pycsw's own
``metadata.parse_record``; it keeps each record's origin in the ``source`` column, reports every failure
by file, and writes the whole load with one executemany in one transaction.

It imports only pycsw, lxml, SQLAlchemy and the standard library (the node's packages are not in that
venv). GEOPORTAL_PYCSW_PARSER=pycsw makes it use pycsw's parser for every record (for comparisons).

stdin: {"config": "pycsw.cfg", "setup": bool, "delete_sources": [url, ...], "delete_ids": [id, ...],
        "records": [{"path": "x.xml", "source": "local" | origin URL, "identifiers": [id, ...]}, ...]}
stdout: {"loaded": N, "deleted": N (rows removed, replaced ones included), "errors": [{"path": …, "error": …}]}
A record with ``identifiers`` is a CSW answer kept as it came (below): those of its records are loaded.

With ``--stream`` it takes a harvest as it arrives (:class:`catalog.pycsw.StreamLoader`): a JSON line
{"config"} (pycsw is loaded while the caller still lists the child), a JSON header line {"folder",
"wanted": {identifier: origin}, "delete_ids"}, then the raw CSW answers
(GetRecords pages or GetRecordById in ISO 19139), each a file the harvester wrote in ``folder`` as it
arrived, named as ``F <length>\n<path>``. Each answer is parsed once and the rows of every wanted
gmd:MD_Metadata in it are read in place; a file that delivered one is kept as it came under a name of its
own (``answer-….xml``), which a rebuild of the node reads its records from, and any other is removed.
Creating a file costs ~0.5 ms of kernel time here, as much as reading a record's columns: one file per
500 records instead of one per record, and no record serialised to be parsed again. ``Q\n`` asks which
wanted records have not come yet (and which answers were not usable), ``C\n`` writes the rows in one
transaction and reports as above plus ``delivered`` (identifier → its file's name); the end of stdin
without ``C`` writes nothing to the catalog.

Access (see ``catalog/access_marker.py`` and ``catalog/catalog_view.py``): every row gets the record's
dataset key, level and marker; a non-public record is loaded twice — its ``full`` variant and a ``meta``
variant without data links (parsed like any record, so pycsw's columns say what that variant says) — and
the catalog process shows each caller one of them, or none. A new repository's table is made with those
columns and the key (identifier, variant); a write by pycsw itself (CSW-T) marks the row unknown (hidden)
until the catalog process has read its marker.
"""

import configparser
import importlib.util
import json
import os
import sys

from lxml import etree


_STATE: dict = {}
PARALLEL_FROM = int(os.environ.get("GEOPORTAL_LOADER_PARALLEL_FROM", "200"))  # records; fewer: one process


def _by_path(name: str):  # type: ignore[no-untyped-def]
    """A module of catalog/, loaded by path: this script runs with -P, since catalog/pycsw.py would
    shadow the pycsw package if catalog/ were on sys.path."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"geoportal_{name}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _fast_module():  # type: ignore[no-untyped-def]
    return _by_path("pycsw_iso_fast")


MARKER = _by_path("access_marker")
CSW = "{http://www.opengis.net/cat/csw/2.0.2}"
GMD = "{http://www.isotc211.org/2005/gmd}"
FILE_ID = f"{GMD}fileIdentifier/{{http://www.isotc211.org/2005/gco}}CharacterString"
ACCESS_COLUMNS = ("geoportal_key TEXT NOT NULL DEFAULT '', geoportal_level TEXT, "
                  "geoportal_variant TEXT NOT NULL DEFAULT 'full', geoportal_marker TEXT")
TRIGGERS = """
CREATE TRIGGER geoportal_xml_changed AFTER UPDATE OF xml ON {t} WHEN NEW.geoportal_variant = 'full'
BEGIN
  UPDATE {t} SET geoportal_level = NULL WHERE identifier = NEW.identifier AND geoportal_variant = 'full';
  DELETE FROM {t} WHERE identifier = NEW.identifier AND geoportal_variant = 'meta';
END;
CREATE INDEX ix_{t}_geoportal_view ON {t} (geoportal_variant, geoportal_level, geoportal_key);
"""


PG_TRIGGER = """
CREATE OR REPLACE FUNCTION {t}_geoportal_xml_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.geoportal_variant = 'full' THEN
    UPDATE {t} SET geoportal_level = NULL WHERE identifier = NEW.identifier AND geoportal_variant = 'full';
    DELETE FROM {t} WHERE identifier = NEW.identifier AND geoportal_variant = 'meta';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER geoportal_xml_changed AFTER UPDATE OF xml ON {t}
  FOR EACH ROW EXECUTE FUNCTION {t}_geoportal_xml_changed();
CREATE INDEX ix_{t}_geoportal_view ON {t} (geoportal_variant, geoportal_level, geoportal_key);
"""


def add_access_columns(database: str, table: str) -> None:
    """Give the (empty, just set up) table the access columns and the key (identifier, variant): SQLite
    remakes the table, PostgreSQL (the production repository) alters it; the same trigger on both."""
    if not database.startswith("sqlite:"):
        _add_access_columns_pg(database, table)
        return
    import sqlite3

    conn = sqlite3.connect(database[len("sqlite:///"):])
    try:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
        if "geoportal_variant" in sql:
            return
        new = sql.replace("PRIMARY KEY (identifier)", ACCESS_COLUMNS + ", PRIMARY KEY (identifier, geoportal_variant)")
        if new == sql:
            raise RuntimeError(f"unexpected pycsw table layout, cannot add access columns: {sql[:200]}")
        indexes = [r[0] for r in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,))]
        conn.executescript(f'DROP TABLE "{table}";\n{new};\n' + ";\n".join(indexes) + ";\n"
                           + TRIGGERS.format(t=table))
        conn.commit()
    finally:
        conn.close()


def _add_access_columns_pg(database: str, table: str) -> None:
    """The PostgreSQL form of :func:`add_access_columns` (``table`` is pycsw's configured name: a plain
    identifier, checked here since DDL takes no bound names)."""
    import re

    from sqlalchemy import create_engine, text

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", table):
        raise SystemExit(f"repository table '{table}': use a plain lower-case name")
    engine = create_engine(database)
    try:
        with engine.begin() as conn:
            cols = {r[0] for r in conn.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = :t"), {"t": table})}
            if "geoportal_variant" in cols:
                return
            conn.execute(text(f"ALTER TABLE {table} " + ", ".join(
                f"ADD COLUMN {c.strip()}" for c in ACCESS_COLUMNS.split(", ") if c.strip())))
            pk = conn.execute(text("SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) "
                                   "AND contype = 'p'"), {"t": table}).scalar()
            if pk:
                conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{pk}"'))
            conn.execute(text(f"ALTER TABLE {table} ADD PRIMARY KEY (identifier, geoportal_variant)"))
            conn.execute(text(PG_TRIGGER.format(t=table)))
    finally:
        engine.dispose()


def has_access_columns(repo) -> bool:  # type: ignore[no-untyped-def]
    return "geoportal_variant" in repo.dataset.__table__.columns


def _access(row: dict, marker, variant: str) -> dict:  # type: ignore[no-untyped-def]
    row["geoportal_variant"] = variant
    if marker is None:
        row.update(geoportal_key="", geoportal_level="public", geoportal_marker=None)
    else:
        row.update(geoportal_key=marker.key, geoportal_level=marker.level,
                   geoportal_marker=json.dumps(marker.to_dict(), separators=(",", ":")))
    return row


def _fast_row(root: etree._Element) -> dict | None:
    """The row of an ISO record by the fast reader, or None when pycsw's parser must decide."""
    fast = _STATE.get("fast")
    if fast is None:
        return None
    try:
        q = fast.queryables(root)
    except Exception:  # noqa: BLE001 - NotFast or anything unforeseen: pycsw's own parser decides
        return None
    mappings = _STATE["context"].md_core_model["mappings"]
    return {mappings[k]: v for k, v in q.items()}


def _rows_of(root) -> list[dict]:  # type: ignore[no-untyped-def]
    from pycsw.core import metadata

    row = _fast_row(root)
    if row is not None:
        return [row]
    if root.getparent() is not None:  # pycsw's parser reads the whole document: give it the record alone
        root = etree.fromstring(etree.tostring(root, with_tail=False), _STATE["parser"])
    return [{k: v for k, v in vars(rec).items() if not k.startswith("_")}
            for rec in metadata.parse_record(_STATE["context"], etree.ElementTree(root), _STATE["repo"])]


def _record_rows(root) -> list[dict]:  # type: ignore[no-untyped-def]
    """The column values pycsw's own parser would give a record (a document's root, or a record inside a
    CSW answer), and for a non-public record those of its variant without data links as well."""
    marker = MARKER.read(root)
    recs = [_access(r, marker, "full") for r in _rows_of(root)]
    if marker is not None and marker.level != "public":
        recs += [_access(r, marker, "meta") for r in _rows_of(MARKER.without_data_links(root))]
    for row in recs:
        if isinstance(row.get("xml"), bytes):
            row["xml"] = row["xml"].decode("utf-8")
    return recs


def _parse(item: dict) -> list[tuple[str, list[dict] | None, str | None]]:
    """In a worker: one file → its rows (:func:`_record_rows`), or its error; for a kept CSW answer, those
    of each of the item's ``identifiers`` (one that is not in it is an error of its own)."""
    path = item["path"]
    try:
        root = etree.parse(path, _STATE["parser"]).getroot()
        if "identifiers" not in item:
            return [(path, _record_rows(root), None)]
    except Exception as err:  # noqa: BLE001 - reported per file, the others still load
        return [(path, None, f"{type(err).__name__}: {err}")]
    found = {ident: md for ident, md in _answer_records(root)}
    out: list[tuple[str, list[dict] | None, str | None]] = []
    for ident in item["identifiers"]:
        if ident not in found:
            out.append((path, None, f"{ident}: not in the file"))
            continue
        try:
            out.append((path, _record_rows(found[ident]), None))
        except Exception as err:  # noqa: BLE001 - reported per record, the others still load
            out.append((path, None, f"{ident}: {type(err).__name__}: {err}"))
    return out


def _answer_records(root):  # type: ignore[no-untyped-def]
    """(identifier, gmd:MD_Metadata) of a CSW answer (GetRecords or GetRecordById), in its order."""
    parent = root.find(f"{CSW}SearchResults") if etree.QName(root).localname == "GetRecordsResponse" else root
    for md in (parent if parent is not None else ()).iterchildren(f"{GMD}MD_Metadata"):
        yield (md.findtext(FILE_ID) or "").strip(), md


def _derive_pg_geometry(session, model, table: str) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL with PostGIS pycsw's table has a geometry column (``wkb_geometry``) that its BBOX
    queries read and pycsw's parser does not fill: derived from the WKT in the load's own transaction, so
    a loaded record is never visible without it (a harvest into a running production node)."""
    if session.bind.dialect.name != "postgresql" or "wkb_geometry" not in model.__table__.columns:
        return
    import re

    from sqlalchemy import text

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", table):  # DDL-like statements take no bound names
        raise SystemExit(f"repository table '{table}': use a plain lower-case name")
    session.execute(text(f'UPDATE "{table}" SET wkb_geometry = ST_GeomFromText(wkt_geometry, 4326) '
                         "WHERE wkb_geometry IS NULL AND wkt_geometry IS NOT NULL AND wkt_geometry <> ''"))


def _open(job: dict):  # type: ignore[no-untyped-def]
    """pycsw's repository named by the job's config (set up first when asked) and the loader's state."""
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(job["config"], encoding="utf-8")
    database = cp.get("repository", "database")
    table = cp.get("repository", "table", fallback="records")

    from pycsw.core import admin, repository
    from pycsw.core.config import StaticContext

    context = StaticContext()
    if job.get("setup"):
        admin.setup_db(database, table, cp.get("server", "home"))
        add_access_columns(database, table)
    repo = repository.Repository(database, context, table=table)
    if not has_access_columns(repo):
        raise SystemExit(f"{database}: the catalog was built before access levels were recorded in it; "
                         "run 'geoportal build' for the node to rebuild it")
    _STATE.update(context=context, repo=repo, table=table, parser=etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False),
        fast=None if os.environ.get("GEOPORTAL_PYCSW_PARSER") == "pycsw" else _fast_module())
    return repo


def _write(rows: list[dict], delete_ids: list[str], delete_sources: list[str]) -> int:
    """Delete and insert in one transaction: the rows removed (replaced ones included)."""
    repo, table = _STATE["repo"], _STATE["table"]
    cols = _STATE["context"].md_core_model["mappings"]
    id_col, source_col = cols["pycsw:Identifier"], cols["pycsw:Source"]
    session, model = repo.session, repo.dataset
    deleted = 0
    session.begin()
    try:
        for src in delete_sources:
            deleted += session.query(model).filter(getattr(model, source_col) == src).delete(
                synchronize_session=False)
        ids = delete_ids + [r[id_col] for r in rows]  # replaced records go first
        for i in range(0, len(ids), 500):
            deleted += session.query(model).filter(getattr(model, id_col).in_(ids[i:i + 500])).delete(
                synchronize_session=False)
        if rows:
            # one executemany: every row gets every column any row has (NULL where pycsw sets none), in the
            # order of the table's key, which SQLite then appends to its B-tree instead of inserting at
            # random places (~10 % of a big load's insert)
            keys = sorted({k for r in rows for k in r})
            ordered = sorted(rows, key=lambda r: (r[id_col], r.get("geoportal_variant") or ""))
            session.execute(model.__table__.insert(), [{k: r.get(k) for k in keys} for r in ordered])
            _derive_pg_geometry(session, model, table)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return deleted


def _stamped(recs: list[dict], source: str, now: str) -> list[dict]:
    cols = _STATE["context"].md_core_model["mappings"]
    for row in recs:
        row[cols["pycsw:Source"]] = source
        row[cols["pycsw:InsertDate"]] = now
    return recs


def main() -> int:
    job = json.load(sys.stdin)
    _open(job)
    from pycsw.core import util

    items = job.get("records", [])
    # parsing is most of the cost: in parallel on every core for a big load
    if len(items) > PARALLEL_FROM and (os.cpu_count() or 1) > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(os.cpu_count()) as pool:
            # a kept answer holds hundreds of records: one to a task, so they spread over the workers
            parsed = pool.map(_parse, items, chunksize=1 if any("identifiers" in i for i in items) else 64)
    else:
        parsed = [_parse(i) for i in items]

    errors = [{"path": path, "error": err} for got in parsed for path, _, err in got if err]
    now = util.get_today_and_now()
    rows = [row for item, got in zip(items, parsed) for _, recs, _ in got
            for row in _stamped(recs or [], item.get("source", "local"), now)]
    deleted = _write(rows, job.get("delete_ids", []), job.get("delete_sources", []))
    json.dump({"loaded": len(rows), "deleted": deleted, "errors": errors}, sys.stdout)
    return 0




def _take_answer(path: str) -> tuple[str | None, list[tuple[str, str, list[dict] | None, str | None]]]:
    """One CSW answer of a harvest, in the file ``path`` (in a worker): why it is not usable, or
    (identifier, file, rows, error) of each wanted record in it. The file is kept under a name of its own
    when it delivered a wanted record, and removed otherwise."""
    folder, name = _STATE["folder"], os.path.basename(path)
    if os.path.dirname(os.path.abspath(path)) != os.path.abspath(folder) or not name.startswith(".incoming-"):
        return f"an answer was not a file the harvest received in its folder: {path}", []
    try:
        try:
            root = etree.parse(path, _STATE["parser"]).getroot()
        except etree.XMLSyntaxError as e:
            return f"an answer is not XML ({e.msg})", []
        local = etree.QName(root).localname
        if local == "ExceptionReport":
            return "the catalog refused a request: " + " ".join(root.itertext()).strip()[:300], []
        if local == "GetRecordsResponse" and root.find(f"{CSW}SearchResults") is None:
            return "a GetRecords answer has no csw:SearchResults", []
        records = [(ident, md) for ident, md in _answer_records(root) if ident in _STATE["wanted"]]
        if not records:
            return None, []
        # the file as it came, under the name catalog.pycsw.kept gives it (its harvest removes it if given up)
        kept = os.path.join(folder, "answer-" + name[len(".incoming-"):])
        os.replace(path, kept)
        path = ""
    finally:
        if path:
            os.unlink(path)
    out: list[tuple[str, str, list[dict] | None, str | None]] = []
    for ident, md in records:
        try:
            out.append((ident, kept, _record_rows(md), None))
        except Exception as err:  # noqa: BLE001 - reported per record, the others still load
            out.append((ident, kept, None, f"{ident}: {type(err).__name__}: {err}"))
    return None, out


STREAM_WORKERS = int(os.environ.get("GEOPORTAL_LOADER_WORKERS", str(os.cpu_count() or 1)))


class _Harvest:
    """One harvest taken in as its answers arrive (``--stream``): identifier → (file, rows, error).

    Reading the rows is most of a harvest's CPU, and the child's catalog is busy serving meanwhile: the
    answers are read by STREAM_WORKERS processes (forked once pycsw is loaded; 2 on this machine), with at
    most one answer more than there are workers waiting, so a slow reader slows the sender instead of
    filling memory. Sending the rows back costs ~0.25 ms a record, but the harvest no longer waits on one
    process (10,000 records, six alternated pairs at load 4–8: median 378 records/s against 282 with one).
    Results are taken in the order the answers came (a record delivered twice is the later copy)."""

    def __init__(self, job: dict):
        from collections import deque

        self.wanted: dict[str, str] = job["wanted"]  # identifier → origin
        self.delete_ids: list[str] = job.get("delete_ids", [])
        self.got: dict[str, tuple[str, list[dict] | None, str | None]] = {}
        self.unusable: list[str] = []  # answers that were not a usable CSW answer
        _STATE.update(wanted=set(self.wanted), folder=job["folder"])
        self.pool = None
        if STREAM_WORKERS > 1:
            import multiprocessing

            self.pool = multiprocessing.get_context("fork").Pool(STREAM_WORKERS)
        self.waiting: deque = deque()

    def take(self, path: str) -> None:
        if self.pool is None:
            self._merge(_take_answer(path))
            return
        while len(self.waiting) > STREAM_WORKERS:
            self._merge(self.waiting.popleft().get())
        self.waiting.append(self.pool.apply_async(_take_answer, (path,)))

    def _merge(self, result: tuple[str | None, list]) -> None:  # type: ignore[type-arg]
        unusable, records = result
        if unusable:
            self.unusable.append(unusable)
        for ident, path, rows, err in records:
            self.got[ident] = (path, rows, err)

    def _drain(self) -> None:
        while self.waiting:
            self._merge(self.waiting.popleft().get())

    def missing(self) -> dict:
        self._drain()
        return {"missing": [i for i in self.wanted if i not in self.got], "unusable": self.unusable}

    def commit(self) -> dict:
        from pycsw.core import util

        self._drain()
        if self.pool is not None:
            self.pool.close()
            self.pool.join()
        now = util.get_today_and_now()
        rows = [row for ident, (_, recs, _) in self.got.items()
                for row in _stamped(recs or [], self.wanted[ident], now)]
        errors = [{"path": path, "error": err} for path, _, err in self.got.values() if err]
        deleted = _write(rows, self.delete_ids, [])
        return {"loaded": len(rows), "deleted": deleted, "errors": errors,
                "delivered": {ident: os.path.basename(path) for ident, (path, _, _) in self.got.items()}}


def stream_main() -> int:
    inp = sys.stdin.buffer
    _open(json.loads(inp.readline()))  # the repository: opened while the caller is still listing the child
    line = inp.readline()
    if not line:
        return 3  # started ahead for a harvest that did not come to stream
    harvest = _Harvest(json.loads(line))
    while True:
        line = inp.readline()
        if not line:
            return 3  # the harvest was given up: nothing written to the catalog
        cmd, _, arg = line.strip().partition(b" ")
        if cmd == b"F":
            harvest.take(os.fsdecode(inp.read(int(arg))))
            continue
        if cmd == b"Q":
            answer = harvest.missing()
        elif cmd == b"C":
            answer = harvest.commit()
        else:
            raise SystemExit(f"unknown command {line[:20]!r}")
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
        if cmd == b"C":
            return 0


if __name__ == "__main__":
    sys.exit(stream_main() if "--stream" in sys.argv[1:] else main())
