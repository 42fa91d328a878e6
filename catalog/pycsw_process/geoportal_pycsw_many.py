"""Many catalogs in one process: ``/<name>/csw`` is the catalog configured in ``<dir>/<name>/pycsw.cfg``
— run by gunicorn of the PYCSW VENV, for the country simulation (catalog/country.py).

Why: simulating an oblast that harvests 66 hromada catalogs (or a national node harvesting 24 oblasts)
with 66 gunicorn masters and 132 workers would measure the machine's memory, not the harvest. One
process serving every catalog through the same wrapper as a node's catalog process
(:mod:`geoportal_pycsw_app`: fixed configuration, safe errors, no transactions without the secret)
answers exactly what those catalogs would answer.

``GEOPORTAL_CATALOGS_DIR`` names the folder; a name is one path segment of letters, digits, ``-`` and
``_``, and anything else (or a catalog that is not there) is a 404.
"""

import os
import re

import geoportal_pycsw_app as one

ROOT = os.environ["GEOPORTAL_CATALOGS_DIR"]
NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


def _not_found(start_response):  # type: ignore[no-untyped-def]
    body = b"no such catalog; the catalogs are at /<name>/csw\n"
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=UTF-8"),
                                     ("Content-Length", str(len(body)))])
    return [body]


def application(env, start_response):  # type: ignore[no-untyped-def]
    parts = env.get("PATH_INFO", "").strip("/").split("/")
    if len(parts) != 2 or parts[1] != "csw" or not NAME.fullmatch(parts[0]):
        return _not_found(start_response)
    config = os.path.join(ROOT, parts[0], "pycsw.cfg")
    if not os.path.isfile(config):
        return _not_found(start_response)
    env["SCRIPT_NAME"] = env.get("SCRIPT_NAME", "") + f"/{parts[0]}/csw"
    env["PATH_INFO"] = "/"
    return one.serve(config, env, start_response)
