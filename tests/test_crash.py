"""A run killed with SIGKILL at any point leaves nothing half-written, and a re-run makes the tables exactly
what one clean run makes. Killed during a fetch, inside the load transaction, and between two CSV chunks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from etl_cli.cli import app
from etl_cli.load.engine import open_database
from etl_cli.schema.tables import asset_sources, etl_runs, market_snapshots
from tests.provider import Provider, provider_env, wait_until
from tests.samples import CSV_DIR, REPLAY_DIR

ROOT = Path(__file__).resolve().parents[1]
API_RUN = ["run", "--source", "coingecko"]
CSV_RUN = ["run", "--source", "csv", "--path", str(CSV_DIR)]

# Code run in the victim before the CLI: it stops dead at a chosen point, saying so by creating $PAUSED.
IN_THE_LOAD = """
import os, time, sqlalchemy as sa
def pause(conn, cursor, statement, *args):
    if statement.lstrip().startswith("INSERT INTO market_snapshots"):
        open(os.environ["PAUSED"], "w").close()
        time.sleep(3600)
sa.event.listen(sa.engine.Engine, "before_cursor_execute", pause)
"""
AFTER_TWO_CSV_CHUNKS = """
import os, time
from etl_cli.extract import SOURCES
from etl_cli.extract.csv_file import CsvExtractor
class Pausing(CsvExtractor):
    def pages(self, state=None):
        for number, chunk in enumerate(super().pages(state), 1):
            yield chunk
            if number == 2:  # resumed: the pipeline has committed chunk 2 and asks for chunk 3
                open(os.environ["PAUSED"], "w").close()
                time.sleep(3600)
SOURCES["csv"] = lambda settings, **_: Pausing(settings.csv_path, chunk_rows=100)
"""


def cryptoetl(env: dict[str, str], args: list[str], prelude: str = "") -> subprocess.Popen:
    code = f"{prelude}\nfrom etl_cli.cli import main; import sys; sys.argv = ['cryptoetl', *{args!r}]; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill(victim: subprocess.Popen, when: bool) -> None:
    victim.send_signal(signal.SIGKILL)
    _, err = victim.communicate(timeout=30)
    assert when, err
    assert victim.returncode == -signal.SIGKILL


# Ids, runs, payloads and load times differ between two ways of getting there; asset ids too (a PostgreSQL
# sequence does not roll back), so which listings share an asset is compared instead.
NOT_CONTENT = {"snapshot_id", "asset_id", "run_id", "payload_id", "loaded_at"}


def content(engine) -> tuple[list[tuple], list[list[tuple]]]:
    """The normalized data: every observation, and which listings share an asset."""
    columns = [column for column in market_snapshots.c if column.name not in NOT_CONTENT]
    links = asset_sources.c
    with engine.connect() as conn:
        observations = sorted(tuple(row) for row in conn.execute(sa.select(*columns)))
        partition: dict[int, set] = {}
        for source, source_id, asset_id in conn.execute(
            sa.select(links.source, links.source_asset_id, links.asset_id)
        ):
            partition.setdefault(asset_id, set()).add((source, source_id))
    return observations, sorted(sorted(group) for group in partition.values())


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[list[str]], tuple]:
    """What one uninterrupted run of the same input makes, on a database of its own (once per input)."""
    made: dict[tuple[str, ...], tuple] = {}

    def run(args: list[str]) -> tuple:
        if tuple(args) not in made:
            url = f"sqlite:///{tmp_path_factory.mktemp('clean') / 'clean.db'}"
            result = CliRunner().invoke(app, args, env={"CRYPTOETL_DATABASE_URL": url})
            assert result.exit_code == 0, result.stderr
            engine = open_database(url)
            made[tuple(args)] = content(engine)
            engine.dispose()
        return made[tuple(args)]

    return run


def rerun(env: dict[str, str], args: list[str]) -> None:
    survivor = cryptoetl(env, args)
    _, err = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, err


def statuses(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(sa.select(etl_runs.c.status).order_by(etl_runs.c.run_id)).scalars().all()


def test_killed_during_a_fetch(engine, database_url, provider: Provider, clean_run):
    env = provider_env(database_url, provider)
    victim = cryptoetl(env, API_RUN)
    kill(victim, provider.page_two_requested.wait(timeout=60))
    assert statuses(engine) == ["running"]
    assert content(engine) == ([], [])

    provider.release.set()
    rerun(env, API_RUN)
    assert statuses(engine) == ["abandoned", "succeeded"]
    assert content(engine) == clean_run([*API_RUN, "--replay", str(REPLAY_DIR)])


def test_killed_inside_the_load_transaction(engine, database_url, tmp_path, clean_run):
    paused = tmp_path / "paused"
    env = {"CRYPTOETL_DATABASE_URL": database_url, "PAUSED": str(paused)}
    args = [*API_RUN, "--replay", str(REPLAY_DIR)]
    victim = cryptoetl(env, args, IN_THE_LOAD)
    kill(victim, wait_until(paused.exists, timeout=60))
    assert statuses(engine) == ["running"]
    assert content(engine) == ([], [])  # the assets it linked in that transaction are gone with it

    rerun(env, args)
    assert statuses(engine) == ["abandoned", "succeeded"]
    assert content(engine) == clean_run(args)


def test_killed_between_two_csv_chunks(engine, database_url, tmp_path, clean_run):
    paused = tmp_path / "paused"
    env = {"CRYPTOETL_DATABASE_URL": database_url, "PAUSED": str(paused)}
    victim = cryptoetl(env, CSV_RUN, AFTER_TWO_CSV_CHUNKS)
    kill(victim, wait_until(paused.exists, timeout=60))
    observations, _ = content(engine)
    assert len(observations) == 200  # two chunks of 100 rows committed, with their progress

    rerun(env, CSV_RUN)  # resumes after them, in chunks of the default size
    assert statuses(engine) == ["abandoned", "succeeded"]
    assert content(engine) == clean_run(CSV_RUN)
