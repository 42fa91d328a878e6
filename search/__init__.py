"""Search over a node and the network: one box over datasets, services and passports (and what a parent
harvested), Ukrainian-aware.

The pieces, each with one job:

- :mod:`search.analyse` — text to index terms: NFC, Latin look-alikes repaired, apostrophe variants
  unified, lower case, lemmas (pymorphy3, Ukrainian dictionary) and KMU 2010 transliterations;
- :mod:`search.documents` — the registry of document types (``record``, ``passport``, local datasets
  not in the catalog) and the :class:`~search.documents.Doc` they yield;
- :mod:`search.access` — who may see what (anonymous: public only; the one function to widen);
- :mod:`search.index` — the SQLite FTS5 index, built at build/harvest time and swapped in atomically;
- :mod:`search.query` — parameters → validated query → hits, facets, paging;
- :mod:`search.web` — ``/search`` (HTML, ``?f=json``).
"""
