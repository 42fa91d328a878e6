"""The catalog process's own WSGI application (see geoportal_pycsw_app). A package only so that it is
installed with the node; it is imported by the pycsw venv's gunicorn, never by the node."""
