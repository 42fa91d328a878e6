"""Access by role: who a caller is, what they may see, and a record of it.

The package is the core that the services (pygeoapi, MapServer, CSW, downloads, passports) call; it does
not enforce anything by itself.

    config.py     the ``access:`` section of a node config (levels, rules, trusted issuers, login limits)
    principal.py  who is asking: user name, roles, organisation (KATOTTH), custodian datasets
    rules.py      ``decide(principal, dataset, service, operation) -> Decision``: one pure function
    users.py      the user repository: one interface, SQLite (GeoPackage nodes) and PostGIS implementations
    passwords.py  argon2 hashing, the login check and its rate limit
    tokens.py     the node's signing key, its JWKS, issuing and verifying JWTs (single sign-on)
    audit.py      the append-only, hash-chained audit log
    cli.py        ``geoportal users|token|access|audit``
    errors.py     the exceptions, each with the HTTP status a service should answer
"""
