"""Totals for pagers: `count=exact|estimated` adds pagination.total; without it, no count is run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from etl_cli.load.bulk import insert_rows
from etl_cli.load.engine import open_database
from etl_cli.schema.tables import market_snapshots
from tests.api.conftest import SYNTHETIC_START, dispose, make_app, seed_synthetic
from tests.conftest import postgres_database


def statements(app, url: str) -> tuple[dict, list[str]]:
    seen: list[str] = []
    engine = app.extensions["cryptoetl_db"]

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        answer = app.test_client().get(url)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["pagination"], seen


@pytest.mark.parametrize(
    ("url", "total"),
    [
        ("/data?limit=5&count=exact", 3600),
        ("/data?limit=5&symbol=abc&count=exact", 75),
        ("/data?limit=5&source=coinpaprika&count=estimated", 600),  # small: counted even when estimated
        ("/assets?limit=5&count=exact", 40),
        ("/assets?limit=5&symbol=s10&count=estimated", 1),
    ],
)
def test_a_total_when_asked(synthetic, url, total):
    pagination, _ = statements(synthetic.app, url)
    assert (pagination["total"], pagination["total_is_estimate"]) == (total, False)
    assert pagination["count"] == min(5, total)


@pytest.mark.parametrize("url", ["/data?limit=5", "/assets?limit=5"])
def test_no_count_is_run_unless_asked(synthetic, url):
    pagination, seen = statements(synthetic.app, url)
    assert "total" not in pagination and "total_is_estimate" not in pagination
    assert not [statement for statement in seen if "count(*)" in statement.lower()]
    _, counted = statements(synthetic.app, f"{url}&count=exact")
    assert len(counted) == len(seen) + 1


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """PostgreSQL alone: SQLite keeps no statistics, and there `estimated` counts (see above)."""
    yield from postgres_database()


def test_estimated_takes_the_planners_figure_on_a_large_postgresql_table(postgresql_url):
    database_url = postgresql_url
    engine = open_database(database_url)
    seed_synthetic(engine)
    with engine.begin() as conn:  # 12,000 more rows of one asset, then statistics
        run_id, payload_id = 1, 1  # seed_synthetic's
        template = {"source": "csv", "source_asset_id": "abc-many", "asset_id": 1, "symbol": "ABC"}
        insert_rows(
            conn,
            market_snapshots,
            [
                {
                    **template,
                    "observed_at": SYNTHETIC_START + timedelta(minutes=i),
                    "price_usd": Decimal(i),
                    "run_id": run_id,
                    "payload_id": payload_id,
                    "loaded_at": SYNTHETIC_START,
                }
                for i in range(12_000)
            ],
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE market_snapshots")
    engine.dispose()
    app = make_app(database_url)
    try:
        unfiltered, seen = statements(app, "/data?limit=5&count=estimated")
        filtered, _ = statements(app, "/data?limit=5&symbol=abc&count=estimated")
        exact, _ = statements(app, "/data?limit=5&symbol=abc&count=exact")
    finally:
        dispose(app)
    assert unfiltered["total_is_estimate"] and unfiltered["total"] == pytest.approx(15_600, rel=0.1)
    assert any("reltuples" in statement for statement in seen)
    assert not [statement for statement in seen if "count(*)" in statement.lower()]
    assert filtered["total_is_estimate"] and filtered["total"] == pytest.approx(12_075, rel=0.25)
    assert (exact["total"], exact["total_is_estimate"]) == (12_075, False)
