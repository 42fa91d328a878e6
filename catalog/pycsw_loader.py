"""Load ISO records into a pycsw repository — run by the PYTHON OF THE PYCSW VENV, not the node's.

Why not ``pycsw-admin.py -c load_records``: it skips a record it cannot parse with only a log line, it
marks every record's origin as ``local``, and it commits once per record. This loader parses with pycsw's
own ``metadata.parse_record`` (so the columns are exactly what pycsw queries) on every core, keeps each
record's origin in the ``source`` column, reports every failure by file, and writes each batch in one
transaction.

It imports only pycsw and the standard library (the node's packages are not in that venv).

stdin: {"config": "pycsw.cfg", "setup": bool, "delete_sources": [url, ...], "delete_ids": [id, ...],
        "records": [{"path": "x.xml", "source": "local" | origin URL}, ...]}
stdout: {"loaded": N, "deleted": N (rows removed, replaced ones included), "errors": [{"path": …, "error": …}]}
"""

import configparser
import json
import os
import sys

from lxml import etree


_STATE: dict = {}


def _parse(item: dict) -> tuple[str, list[dict] | None, str | None]:
    """In a worker: one file → the column values pycsw's own parser gives it (or the error)."""
    from pycsw.core import metadata

    try:
        doc = etree.parse(item["path"], _STATE["parser"])
        recs = metadata.parse_record(_STATE["context"], doc, _STATE["repo"])
    except Exception as err:  # noqa: BLE001 - reported per file, the others still load
        return item["path"], None, f"{type(err).__name__}: {err}"
    rows = []
    for rec in recs:
        row = {k: v for k, v in vars(rec).items() if not k.startswith("_")}
        if isinstance(row.get("xml"), bytes):
            row["xml"] = row["xml"].decode("utf-8")
        rows.append(row)
    return item["path"], rows, None


def main() -> int:
    job = json.load(sys.stdin)
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(job["config"], encoding="utf-8")
    database = cp.get("repository", "database")
    table = cp.get("repository", "table", fallback="records")

    from pycsw.core import admin, repository, util
    from pycsw.core.config import StaticContext

    context = StaticContext()
    if job.get("setup"):
        admin.setup_db(database, table, cp.get("server", "home"))
    repo = repository.Repository(database, context, table=table)
    cols = context.md_core_model["mappings"]
    id_col, source_col = cols["pycsw:Identifier"], cols["pycsw:Source"]
    session, model = repo.session, repo.dataset
    _STATE.update(context=context, repo=repo, parser=etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False))

    items = job.get("records", [])
    # pycsw's ISO parser (OWSLib) is most of the cost: parse in parallel on every core for a big load
    if len(items) > 200 and (os.cpu_count() or 1) > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(os.cpu_count()) as pool:
            parsed = pool.map(_parse, items, chunksize=64)
    else:
        parsed = [_parse(i) for i in items]

    errors = [{"path": path, "error": err} for path, _, err in parsed if err]
    now = util.get_today_and_now()
    rows = []
    for item, (_, recs, err) in zip(items, parsed):
        for row in recs or []:
            row[source_col] = item.get("source", "local")
            row[cols["pycsw:InsertDate"]] = now
            rows.append(row)
    deleted = 0
    session.begin()
    try:
        for src in job.get("delete_sources", []):
            deleted += session.query(model).filter(getattr(model, source_col) == src).delete(
                synchronize_session=False)
        ids = job.get("delete_ids", []) + [r[id_col] for r in rows]  # replaced records go first
        for i in range(0, len(ids), 500):
            deleted += session.query(model).filter(getattr(model, id_col).in_(ids[i:i + 500])).delete(
                synchronize_session=False)
        session.bulk_insert_mappings(model, rows)
        session.commit()
    except Exception:
        session.rollback()
        raise
    json.dump({"loaded": len(rows), "deleted": deleted, "errors": errors}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
