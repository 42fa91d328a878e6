# geoportal-network: `make demo` runs the sample node, `make test` runs every test.
# Both install what they need first (Debian packages, .venv, .venv-pycsw); re-running is cheap.
PYTHON ?= python3
VENV   := .venv
PYCSW_VENV := .venv-pycsw
OGC_VENV := .venv-ogctests
PORT ?= 8000

# Python may keep its compiled modules (__pycache__/, ignored by git) even where the environment says not to
# (PYTHONDONTWRITEBYTECODE): every `geoportal` command, served node and printer the tests and the demo start
# would otherwise compile the project's modules from source again (~70 ms a process), and pytest would rewrite
# the asserts of every test module on every run (most of the ~9 s its collection took here).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install system venv pycsw-venv ogctests-venv web demo test test-production bench clean

install: system venv pycsw-venv ogctests-venv web

system:
	bash scripts/install-system.sh

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

# pycsw 2.6 needs SQLAlchemy < 2 and an old OWSLib: it gets a venv of its own (see catalog/pycsw.py).
$(PYCSW_VENV)/.installed: requirements-pycsw.txt
	test -x $(PYCSW_VENV)/bin/python || $(PYTHON) -m venv $(PYCSW_VENV)
	$(PYCSW_VENV)/bin/pip install -q --upgrade pip
	$(PYCSW_VENV)/bin/pip install -q -r requirements-pycsw.txt
	touch $@

pycsw-venv: $(PYCSW_VENV)/.installed

# ogctests (the OGC API Features black-box verifier) pins pyarrow < 18, and pyarrow 17 breaks NFC
# normalisation of Ukrainian text; it talks to a node over HTTP only, so it gets a venv of its own.
$(OGC_VENV)/.installed: Makefile
	test -x $(OGC_VENV)/bin/python || $(PYTHON) -m venv $(OGC_VENV)
	$(OGC_VENV)/bin/pip install -q --upgrade pip
	$(OGC_VENV)/bin/pip install -q ogctests==0.1.15
	touch $@

ogctests-venv: $(OGC_VENV)/.installed

# Leaflet and Swagger UI for pygeoapi's HTML pages, served by the node itself (no CDN needed); the map
# viewer (/map) bundled from OpenLayers with esbuild, only the parts it uses (web/map/ → web/dist/)
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

web/dist/map.js: node_modules/.installed $(wildcard web/map/*)
	npm run --silent build
	touch $@

web: node_modules/.installed web/dist/map.js

demo: install
	$(VENV)/bin/geoportal demo --port $(PORT)

test: install
	$(VENV)/bin/python -m pytest -q --durations=25

# The production topology (nginx, gunicorn, MapServer FastCGI, pycsw on PostgreSQL, PostGIS + streaming
# replica) started natively, with the client and fault tests (tests/production; a few minutes).
test-production: install
	GEOPORTAL_TEST_PRODUCTION=1 $(VENV)/bin/python -m pytest -q -p no:randomly tests/production

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf var .pytest_cache
