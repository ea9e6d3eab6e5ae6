"""Shared fixtures: every database test runs on real SQLite and real PostgreSQL through the same code."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl_cli.config import Settings
from etl_cli.load import ledger
from etl_cli.load.engine import open_database
from etl_cli.load.locks import Lease, source_lease
from tests.provider import Provider, serving
from tests.samples import MARKETS_PAGE

POSTGRES_ADMIN_URL = os.environ.get(
    "CRYPTOETL_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cryptoetl.db'}"
    else:
        yield from postgres_database()


def postgres_database() -> Iterator[str]:
    """Create a throwaway PostgreSQL database; skip only where no server runs and none is required."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"cryptoetl_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {str(exc.orig).strip()}"
        if os.environ.get("CRYPTOETL_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    """An engine on a migrated, empty database."""
    engine = open_database(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Default settings pointed at the test database."""
    return Settings(database_url=database_url)


@pytest.fixture
def markets_page() -> bytes:
    """The real 250-record /coins/markets response, as received."""
    return MARKETS_PAGE.read_bytes()


@contextmanager
def another_run(engine: sa.Engine, source: str = "coingecko") -> Iterator[Lease]:
    """Hold `source` for the block as a run in progress does, then close that run as succeeded."""
    with source_lease(engine, source) as lease:
        yield lease
    with engine.begin() as conn:
        ledger.finish_run(conn, lease.run_id, "succeeded", datetime.now(UTC), ledger.RunCounts())


@pytest.fixture
def provider() -> Iterator[Provider]:
    """A local CoinGecko whose page 2 hangs until `provider.release` is set."""
    with serving(Provider()) as server:
        try:
            yield server
        finally:
            server.release.set()
