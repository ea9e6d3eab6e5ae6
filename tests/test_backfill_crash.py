"""A backfill killed with SIGKILL half-way, run again, ends exactly where one clean backfill ends."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from etl_cli.load.engine import open_database
from etl_cli.schema.tables import backfill_ranges, etl_runs, market_snapshots, raw_payloads
from tests.conftest import postgres_database
from tests.history_provider import HistoryProvider, history_env, serving

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--ids", "bitcoin,matic-network", "--since", "2023-10-03T19:00Z", "--until", "2023-10-10T19:00Z"]


def backfill(database_url: str, provider: HistoryProvider) -> subprocess.Popen:
    env = {**os.environ, **history_env(database_url, provider)}
    command = [sys.executable, "-m", "etl_cli", "backfill", "--source", "coingecko", *ARGS]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def end_state(url: str) -> dict[str, list[tuple]]:
    """What a backfill leaves behind, without the ids and times that differ from one run to the next."""
    engine = open_database(url)
    s, r = market_snapshots.c, backfill_ranges.c
    queries = {
        "snapshots": sa.select(
            s.source,
            s.source_asset_id,
            s.symbol,
            s.name,
            s.observed_at,
            s.price_usd,
            s.market_cap_usd,
            s.volume_24h_usd,
        ),
        "ranges": sa.select(r.source, r.source_asset_id, r.granularity, r.range_start, r.range_end),
        # The charts; the names differ: the second backfill names again the coin the first did not load.
        "charts": sa.select(raw_payloads.c.body).where(raw_payloads.c.url.like("%/market_chart/%")),
    }
    try:
        with engine.connect() as conn:
            return {
                name: sorted(tuple(row) for row in conn.execute(query)) for name, query in queries.items()
            }
    finally:
        engine.dispose()


def test_a_killed_backfill_resumes_after_its_last_range_and_ends_as_a_clean_one(
    engine, database_url, tmp_path
):
    with serving() as provider:
        provider.hang_on = "/matic-network/market_chart/range"
        victim = backfill(database_url, provider)
        reached = provider.reached.wait(timeout=60)
        victim.send_signal(signal.SIGKILL)
        _, err = victim.communicate(timeout=10)
        assert reached, err.decode()
        assert victim.returncode == -signal.SIGKILL
        with engine.connect() as conn:
            assert conn.execute(sa.select(etl_runs.c.kind, etl_runs.c.status)).all() == [
                ("backfill", "running")
            ]
            assert conn.execute(sa.select(backfill_ranges.c.source_asset_id)).scalars().all() == ["bitcoin"]

        provider.hang_on = None
        survivor = backfill(database_url, provider)
        _, err = survivor.communicate(timeout=60)
        assert survivor.returncode == 0, err.decode()
        # Bitcoin's range was committed before the kill: the second backfill asks only for matic's.
        assert provider.calls_to("/bitcoin/") == 1 and provider.calls_to("/matic-network/") == 2
        with engine.connect() as conn:
            statuses = conn.execute(sa.select(etl_runs.c.status).order_by(etl_runs.c.run_id)).scalars().all()
        assert statuses == ["abandoned", "succeeded"]

        with another_database(database_url, tmp_path) as clean_url:
            clean = backfill(clean_url, provider)
            _, err = clean.communicate(timeout=60)
            assert clean.returncode == 0, err.decode()
            assert end_state(database_url) == end_state(clean_url)
            assert len(end_state(clean_url)["snapshots"]) == 169 + 289


@contextmanager
def another_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'clean.db'}"
    else:
        yield from postgres_database()
