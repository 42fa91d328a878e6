"""Fixtures: real sample data, files made on the spot (good and deliberately broken), a throwaway
PostGIS database on the running server (or GEOPORTAL_TEST_DSN)."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))  # ingest_testlib, under --import-mode=importlib
DATA = ROOT / "data"
NODE = ROOT / "config" / "nodes" / "zhytomyr-oblast.yaml"


@pytest.fixture(scope="session")
def cfg():
    from geoportal.config import load_config
    return load_config(NODE)


@pytest.fixture(scope="session")
def territory(cfg):
    from ingest.admin import load_territory
    return load_territory(cfg)


@pytest.fixture(scope="session")
def node_plan(cfg):
    from ingest.pipeline import plan_for
    return plan_for(cfg, cfg.dataset("geographic-names"))


@pytest.fixture(scope="session")
def pg_dsn():
    """A fresh database with PostGIS, dropped at the end; GEOPORTAL_TEST_DSN overrides."""
    if os.environ.get("GEOPORTAL_TEST_DSN"):
        yield os.environ["GEOPORTAL_TEST_DSN"]
        return
    psycopg = pytest.importorskip("psycopg")
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"geoportal_test_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as e:
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432 and no GEOPORTAL_TEST_DSN ({e})")
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("CREATE EXTENSION postgis")
    except psycopg.Error as e:
        pytest.skip(f"PostGIS extension not available ({e})")
    yield dsn
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
