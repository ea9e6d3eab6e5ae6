"""API fixtures: apps over real databases (both kinds), loaded by the real pipeline or set-based inserts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from etl_cli.backfill.plan import BackfillRequest, plan_backfill
from etl_cli.backfill.runner import run_backfill
from etl_cli.config import CoinGeckoSettings, Settings
from etl_cli.extract import HISTORY_SOURCES
from etl_cli.load.bulk import insert_rows
from etl_cli.load.engine import open_database
from etl_cli.pipeline import run_named
from etl_cli.quota import quota_of
from etl_cli.schema.reads import RunRecord
from etl_cli.schema.tables import asset_sources, assets, etl_runs, market_snapshots, raw_payloads
from etl_cli.transform import HISTORY_TRANSFORMS
from tests.conftest import postgres_database
from tests.samples import HISTORY_REPLAY_DIR, REPLAY_DIR

# Synthetic table: prices whose text order differs from their numeric order, with exact ties.
PRICES = ["9", "10", "100", "0.5", "0.0000004461282308207794", "96114.08481738689", "1000", "2.5", "10"]
SYNTHETIC_ASSETS = 40
SYNTHETIC_TIMES = 75
SYNTHETIC_START = datetime(2025, 1, 1, tzinfo=UTC)
SYNTHETIC_STEP = timedelta(minutes=10)


def make_app(url: str, **overrides: object) -> Flask:
    """An API app over `url`, in testing mode."""
    app = create_app(Settings(database_url=url), **overrides)
    app.config["TESTING"] = True
    return app


def dispose(app: Flask) -> None:
    """Close the app's pooled connections (a PostgreSQL test database cannot be dropped under them)."""
    app.extensions["cryptoetl_db"].dispose()


def load_replay(url: str, engine: sa.Engine) -> None:
    """Load the recorded CoinGecko page (250 real snapshots) through the real pipeline."""
    run_named(Settings(database_url=url), "coingecko", replay_dir=REPLAY_DIR, engine=engine)


def backfill_bitcoin_week(url: str, engine: sa.Engine) -> RunRecord:
    """Backfill bitcoin's recorded week (2023-10-03..10, hourly) from the replay fixtures: a real backfill."""
    settings = Settings(database_url=url, coingecko=CoinGeckoSettings(api_plan="pro", history_days=None))
    history = HISTORY_SOURCES["coingecko"](settings, replay_dir=HISTORY_REPLAY_DIR)
    since, until = datetime(2023, 10, 3, 19, tzinfo=UTC), datetime(2023, 10, 10, 19, tzinfo=UTC)
    request = BackfillRequest("coingecko", since, until, ids=("bitcoin",))
    with engine.connect() as conn:
        plan = plan_backfill(conn, history, request, quota_of(settings, "coingecko"), datetime.now(UTC))
    return run_backfill(engine, history, HISTORY_TRANSFORMS["coingecko"], plan, aliases={})


def fail_a_run(url: str, engine: sa.Engine, tmp_path: Path) -> None:
    """Run coingecko against recordings that answer nothing: a real failed run in the ledger."""
    empty = tmp_path / "empty_replay"
    empty.mkdir(exist_ok=True)
    (empty / "manifest.json").write_text(json.dumps({"responses": []}))
    with pytest.raises(Exception, match="failed"):
        run_named(Settings(database_url=url), "coingecko", replay_dir=empty, engine=engine)


@pytest.fixture
def loaded_url(database_url: str, engine: sa.Engine) -> str:
    """A database holding one successful run of the real recorded page."""
    load_replay(database_url, engine)
    return database_url


@pytest.fixture
def app(loaded_url: str) -> Iterator[Flask]:
    """The API over the loaded database."""
    app = make_app(loaded_url)
    yield app
    dispose(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the API over the loaded database."""
    return app.test_client()


def synthetic_run(conn: sa.Connection, finished: datetime) -> tuple[int, int]:
    """Insert a succeeded coingecko run and a payload for synthetic snapshots; return their ids."""
    run_id = conn.scalar(
        sa.insert(etl_runs)
        .values(source="coingecko", status="succeeded", started_at=finished, finished_at=finished)
        .returning(etl_runs.c.run_id)
    )
    payload_id = conn.scalar(
        sa.insert(raw_payloads)
        .values(
            source="coingecko",
            url="synthetic",
            http_status=200,
            fetched_at=finished,
            sha256="0" * 64,
            body=b"[]",
            run_id=run_id,
        )
        .returning(raw_payloads.c.payload_id)
    )
    return run_id, payload_id


def seed_synthetic(engine: sa.Engine) -> None:
    """Insert 40 assets x 75 times from coingecko (plus every 5th asset from coinpaprika), set-based."""
    finished = datetime(2025, 1, 2, tzinfo=UTC)
    with engine.begin() as conn:
        run_id, payload_id = synthetic_run(conn, finished)
        ids = range(1, SYNTHETIC_ASSETS + 1)
        symbol = {i: "ABC" if i == 1 else f"S{i}" for i in ids}  # stored upper-case, as every source does
        insert_rows(
            conn,
            assets,
            [
                {
                    "asset_id": i,
                    "symbol": symbol[i],
                    "name": f"Asset {i}",
                    "origin_source": "coingecko",
                    "origin_source_asset_id": f"coin-{i}",
                    "created_at": finished,
                }
                for i in ids
            ],
        )
        listings = [("coingecko", f"coin-{i}", i) for i in ids]
        listings += [("coinpaprika", f"p-{i}", i) for i in ids if i % 5 == 0]
        insert_rows(
            conn,
            asset_sources,
            [
                {
                    "source": source,
                    "source_asset_id": source_id,
                    "asset_id": i,
                    "symbol": symbol[i],
                    "name": f"Asset {i}",
                    "first_seen_at": finished,
                }
                for source, source_id, i in listings
            ],
        )
        rows = []
        for t in range(SYNTHETIC_TIMES):
            for source, source_id, i in listings:
                rows.append(
                    {
                        "source": source,
                        "source_asset_id": source_id,
                        "asset_id": i,
                        "symbol": symbol[i],
                        "name": f"Asset {i}",
                        "observed_at": SYNTHETIC_START + t * SYNTHETIC_STEP,
                        "price_usd": Decimal(PRICES[(i * 7 + t * 3 + len(source)) % len(PRICES)]),
                        "market_cap_usd": None if i % 4 == 0 else Decimal(f"{i * 1000 + t}.25"),
                        "volume_24h_usd": Decimal("0.0"),
                        "market_cap_rank": None if i % 6 == 0 else i,
                        "circulating_supply": None,
                        "total_supply": None,
                        "max_supply": None,
                        "run_id": run_id,
                        "payload_id": payload_id,
                        "loaded_at": finished,
                    }
                )
        insert_rows(conn, market_snapshots, rows)


@pytest.fixture
def synthetic_url(database_url: str, engine: sa.Engine) -> str:
    """A database of 3,600 synthetic snapshots (see seed_synthetic)."""
    seed_synthetic(engine)
    return database_url


@pytest.fixture
def synthetic_rows(engine: sa.Engine, synthetic_url: str) -> list[dict]:
    """Every synthetic snapshot, as the ETL's types read it."""
    with engine.connect() as conn:
        return [row._asdict() for row in conn.execute(sa.select(market_snapshots))]


@dataclass(frozen=True)
class Served:
    """A database shared by a module's read-only tests, the API over it, and its snapshots as stored."""

    url: str
    app: Flask
    client: FlaskClient
    rows: list[dict]


def _served(kind: str, tmp_path_factory: pytest.TempPathFactory, fill: object) -> Iterator[Served]:
    # The API cannot write, so tests that only read may share one database per module: far fewer
    # PostgreSQL databases to create and migrate than one per test.
    databases = postgres_database() if kind == "postgresql" else None
    if databases is None:
        url = f"sqlite:///{tmp_path_factory.mktemp('shared') / 'cryptoetl.db'}"
    else:
        url = next(databases)
    engine = open_database(url)
    try:
        fill(url, engine)
        with engine.connect() as conn:
            rows = [row._asdict() for row in conn.execute(sa.select(market_snapshots))]
        app = make_app(url)
        try:
            yield Served(url, app, app.test_client(), rows)
        finally:
            dispose(app)
    finally:
        engine.dispose()
        if databases is not None:
            databases.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Read-only tests' database: one successful run of the real recorded page (250 snapshots)."""
    yield from _served(request.param, tmp_path_factory, load_replay)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def synthetic(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Read-only tests' database: the 3,600 synthetic snapshots of seed_synthetic."""
    yield from _served(request.param, tmp_path_factory, lambda _url, engine: seed_synthetic(engine))
