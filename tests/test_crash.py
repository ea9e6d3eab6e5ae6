"""A run killed with SIGKILL half-way leaves nothing half-written, and the next run recovers."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from etl_cli.schema.tables import etl_runs, market_snapshots
from tests.provider import Provider, provider_env


def cryptoetl(database_url: str, provider: Provider) -> subprocess.Popen:
    env = {**os.environ, **provider_env(database_url, provider)}
    command = [sys.executable, "-m", "etl_cli", "run", "--source", "coingecko", "--json"]
    return subprocess.Popen(
        command, env=env, cwd=Path(__file__).parents[1], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def test_killed_run_is_abandoned_and_the_rerun_loads_everything_once(engine, database_url, provider):
    victim = cryptoetl(database_url, provider)
    reached_page_two = provider.page_two_requested.wait(timeout=30)
    victim.send_signal(signal.SIGKILL)
    _, err = victim.communicate(timeout=10)
    assert reached_page_two, err.decode()
    assert victim.returncode == -signal.SIGKILL

    with engine.connect() as conn:
        assert conn.execute(sa.select(etl_runs.c.status)).scalars().all() == ["running"]
        assert conn.scalar(sa.select(sa.func.count()).select_from(market_snapshots)) == 0

    provider.release.set()
    survivor = cryptoetl(database_url, provider)
    out, err = survivor.communicate(timeout=60)
    assert survivor.returncode == 0, err.decode()
    assert b'"loaded": 250' in out
    with engine.connect() as conn:
        statuses = conn.execute(sa.select(etl_runs.c.status).order_by(etl_runs.c.run_id)).scalars().all()
        assert statuses == ["abandoned", "succeeded"]
        assert conn.scalar(sa.select(sa.func.count()).select_from(market_snapshots)) == 250
