"""pycsw's WSGI application behind the node's own OAI-PMH responder (:mod:`metadata.oaipmh`): what the
production compose file serves in the pycsw container, so ``/csw?mode=oaipmh`` answers the same there as
behind the embedded front. Runs in the PYCSW VENV: it imports only pycsw, lxml and the standard library
(all :mod:`metadata.oaipmh` needs); ``PYCSW_CONFIG`` names the node's pycsw.cfg.
"""

import os
from pathlib import Path

from pycsw.wsgi import application as pycsw_application

from metadata.oaipmh import OaiPmhFront

application = OaiPmhFront(pycsw_application, Path(os.environ["PYCSW_CONFIG"]))
