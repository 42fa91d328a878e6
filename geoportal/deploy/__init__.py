"""The production topology of a node (nginx, the node under gunicorn, pycsw, MapServer FastCGI, PostGIS
with a streaming replica): described once in :mod:`geoportal.deploy.topology`, started natively by
:mod:`geoportal.deploy.native` (``geoportal serve --production``), written for systemd and docker-compose
by :mod:`geoportal.deploy.compose` (``geoportal deploy``)."""
