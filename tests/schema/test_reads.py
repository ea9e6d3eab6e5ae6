"""The per-source state that `cryptoetl health` and GET /stats share: its facts, in three queries."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from etl_cli.schema import reads
from etl_cli.schema.tables import etl_runs
from tests.load.test_snapshots import counted_statements

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_source_states_in_three_queries(engine):
    ledger = [
        ("coingecko", "succeeded", 250),
        ("coinpaprika", "failed", 0),
        ("coingecko", "failed", 0),
        ("coingecko", "succeeded", 5),
        ("coingecko", "failed", 0),
        ("coingecko", "abandoned", 0),
        ("coingecko", "running", 0),
    ]
    with engine.begin() as conn:
        for hour, (source, status, loaded) in enumerate(ledger):
            started = START + timedelta(hours=hour)
            finished = None if status == "running" else started + timedelta(minutes=1)
            conn.execute(
                sa.insert(etl_runs).values(
                    source=source, status=status, loaded=loaded, started_at=started, finished_at=finished
                )
            )
    with counted_statements(engine) as statements, engine.connect() as conn:
        states = reads.source_states(conn)
    assert len([s for s in statements if s.startswith(("SELECT", "WITH"))]) == 3  # SQLite adds its BEGIN

    coingecko = states["coingecko"]
    assert (coingecko.runs_total, coingecko.records_loaded, coingecko.failures_since_success) == (6, 255, 2)
    assert (coingecko.last_run.run_id, coingecko.last_run.status) == (7, "running")
    assert (coingecko.last_outcome.run_id, coingecko.last_outcome.status) == (5, "failed")
    assert coingecko.last_success.run_id == 4
    paprika = states["coinpaprika"]
    assert (paprika.runs_total, paprika.records_loaded, paprika.failures_since_success) == (1, 0, 1)
    assert paprika.last_success is None and paprika.last_outcome.run_id == 2
    assert set(states) == {"coingecko", "coinpaprika"}
