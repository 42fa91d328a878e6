"""Management decisions and development projects of a node (issue #12, the core).

A decision (council decision, administration order, development programme, land-use change, …) is drawn on
the map, justified by what its geometry touches in the node's own layers and by the passport indicators it
cites, consulted on, agreed with the parties it names, adopted and then implemented under control of
milestones and target indicators. A development project links to the decisions that launched it and is
exported as OCDS release packages.

    model.py        the typed values (Actor, Decision, Project, …) and the two lifecycles
    permissions.py  who may do what: ONE table, ONE function (later backed by the access rules)
    geometry.py     a decision's geometry: drawn (WKT/GeoJSON) or taken from features of a stored layer
    justification.py  overlays with the node's layers (equal-area measures) + frozen passport indicators
    repository.py   the storage interface; repo_gpkg.py (decisions.gpkg) and repo_postgis.py (node schema);
                    stores.py picks one for a node
    service.py      the actions on decisions (create, transition, comment, answer, milestones), transactional;
                    projects.py those on projects; history.py the per-field history rows; checks.py input checks
    ocds.py         OCDS 1.1 release packages of the projects, out and in; ocds_schema.py the official OCDS
                    1.1 schema (vendored in schema/ocds/) as one offline validator
    page.py         the static HTML page of each decision; export.py the register as a GeoPackage layer
    cli.py          ``geoportal decision …``
"""
