"""Load ISO records into a pycsw repository — run by the PYTHON OF THE PYCSW VENV, not the node's.

Why not ``pycsw-admin.py -c load_records``: it skips a record it cannot parse with only a log line, it
marks every record's origin as ``local``, and it commits once per record. This loader parses with pycsw's
own ``metadata.parse_record`` (so the columns are exactly what pycsw queries), keeps each record's origin
in the ``source`` column, reports every failure by file, and writes each batch in one transaction.

It imports only pycsw and the standard library (the node's packages are not in that venv).

stdin: {"config": "pycsw.cfg", "setup": bool, "delete_sources": [url, ...], "delete_ids": [id, ...],
        "records": [{"path": "x.xml", "source": "local" | origin URL}, ...]}
stdout: {"loaded": N, "deleted": N, "errors": [{"path": ..., "error": ...}]}
"""

import configparser
import json
import sys

from lxml import etree


def main() -> int:
    job = json.load(sys.stdin)
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(job["config"], encoding="utf-8")
    database = cp.get("repository", "database")
    table = cp.get("repository", "table", fallback="records")

    from pycsw.core import admin, metadata, repository, util
    from pycsw.core.config import StaticContext

    context = StaticContext()
    if job.get("setup"):
        admin.setup_db(database, table, cp.get("server", "home"))
    repo = repository.Repository(database, context, table=table)
    cols = context.md_core_model["mappings"]
    id_col, source_col = cols["pycsw:Identifier"], cols["pycsw:Source"]
    session, model = repo.session, repo.dataset
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

    deleted = 0
    errors = []
    loaded = 0
    now = util.get_today_and_now()
    session.begin()
    try:
        for src in job.get("delete_sources", []):
            deleted += session.query(model).filter(getattr(model, source_col) == src).delete(
                synchronize_session=False)
        ids = job.get("delete_ids", [])
        for i in range(0, len(ids), 500):
            deleted += session.query(model).filter(getattr(model, id_col).in_(ids[i:i + 500])).delete(
                synchronize_session=False)
        for item in job.get("records", []):
            try:
                doc = etree.parse(item["path"], parser)
                recs = metadata.parse_record(context, doc, repo)
            except Exception as err:  # noqa: BLE001 - reported per file, the others still load
                errors.append({"path": item["path"], "error": f"{type(err).__name__}: {err}"})
                continue
            for rec in recs:
                if isinstance(rec.xml, bytes):
                    rec.xml = rec.xml.decode("utf-8")
                setattr(rec, source_col, item.get("source", "local"))
                setattr(rec, cols["pycsw:InsertDate"], now)
                session.query(model).filter(getattr(model, id_col) == getattr(rec, id_col)).delete(
                    synchronize_session=False)
                session.add(rec)
                loaded += 1
        session.commit()
    except Exception:
        session.rollback()
        raise
    json.dump({"loaded": loaded, "deleted": deleted, "errors": errors}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
