"""Search over a node and the network: one box over datasets, services, passports, decisions and projects (and,
at a parent, what it harvested and its children's decisions and projects, each with its origin node),
Ukrainian-aware.

The pieces, each with one job:

- :mod:`search.analyse` — text to index terms: NFC, Latin look-alikes repaired, apostrophe variants
  unified, lower case, lemmas (pymorphy3, Ukrainian dictionary) and KMU 2010 transliterations;
- :mod:`search.documents` — the registry of document types (``record``, ``passport``, ``decision``,
  ``project``, ``network``) and the :class:`~search.doc.Doc` they yield; :mod:`search.registers` reads the
  node's decision register, :mod:`search.network` the children's (fetched at harvest, never at a build);
- :mod:`search.access` — who may see what (anonymous: public only; the one function to widen);
- :mod:`search.index` — the SQLite FTS5 index, built at build/harvest time and swapped in atomically;
- :mod:`search.query` — parameters → validated query → hits, facets, paging;
- :mod:`search.web` — ``/search`` (HTML, ``?f=json``).
"""
