"""The node's pycsw application (catalog/pycsw_process/geoportal_pycsw_app.py) behind its own OAI-PMH
responder (:mod:`metadata.oaipmh`), for serving a built node's catalog by itself, so ``/csw?mode=oaipmh``
answers the same there as behind the embedded front. Runs in the PYCSW VENV: it imports only pycsw, lxml
and the standard library (all :mod:`metadata.oaipmh` needs for a SQLite repository); ``PYCSW_CONFIG`` names
the node's pycsw.cfg. The production topology does not use it: there the node's own front answers OAI-PMH
from the PostgreSQL repository (psycopg is in the node's venv, not in pycsw's).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "pycsw_process"))
from geoportal_pycsw_app import application as pycsw_application  # noqa: E402 - the node's pycsw wrapper

from metadata.oaipmh import OaiPmhFront  # noqa: E402

application = OaiPmhFront(pycsw_application, Path(os.environ["PYCSW_CONFIG"]))
