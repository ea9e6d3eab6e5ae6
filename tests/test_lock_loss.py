"""Mid-run, on both databases: a run whose database sessions are killed keeps its source, and a run whose
source was taken over stops, failed, with one line, committing nothing after the takeover."""

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from etl_cli.config import Settings
from etl_cli.errors import RunFailed, RunLocked
from etl_cli.load import locks
from etl_cli.pipeline import run_named
from etl_cli.schema.tables import etl_runs, market_snapshots, raw_payloads
from tests.load.test_locks import SILENT_LONG, set_run
from tests.provider import provider_env
from tests.samples import REPLAY_DIR


class InThread:
    """Call `run` in a thread; keep what it returned or raised."""

    def __init__(self, run: Callable[[], object]) -> None:
        self.outcome: object = None
        self.thread = threading.Thread(target=self._call, args=(run,), daemon=True)
        self.thread.start()

    def _call(self, run: Callable[[], object]) -> None:
        try:
            self.outcome = run()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            self.outcome = exc

    def result(self) -> object:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        return self.outcome


def kill_other_sessions(engine) -> int:
    """pg_terminate_backend every other session on the test database (a proxy dropping idle connections)."""
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as conn:
        return len(
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
        )


def table(engine, *columns) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(*columns).order_by(*columns))]


def test_killing_a_runs_sessions_mid_run_does_not_free_its_source(engine, database_url, provider):
    settings = Settings.from_env(provider_env(database_url, provider))
    live = InThread(lambda: run_named(settings, "coingecko"))  # its own engine, its own sessions
    assert provider.page_two_requested.wait(timeout=30)
    killed = kill_other_sessions(engine)
    with pytest.raises(RunLocked, match=r"another coingecko run is in progress on this database \(run 1, "):
        run_named(settings, "coingecko", engine=engine)
    provider.release.set()
    record = live.result()
    assert (record.status, record.loaded) == ("succeeded", 250), record
    assert table(engine, etl_runs.c.run_id, etl_runs.c.status) == [(1, "succeeded")]
    assert killed >= (1 if engine.dialect.name == "postgresql" else 0)


def test_a_run_taken_over_mid_run_stops_failed_and_commits_nothing_more(
    engine, database_url, provider, monkeypatch
):
    monkeypatch.setattr(locks, "HEARTBEAT_S", 3600.0)  # its heartbeat stops beating
    settings = Settings.from_env(provider_env(database_url, provider))
    old = InThread(lambda: run_named(settings, "coingecko"))
    assert provider.page_two_requested.wait(timeout=30)
    kill_other_sessions(engine)
    set_run(engine, 1, heartbeat_at=SILENT_LONG)  # ...long enough ago to count as dead
    newer = run_named(settings, "coingecko", replay_dir=REPLAY_DIR, engine=engine)
    provider.release.set()  # page 2 arrives: the old run goes on to commit it, and is stopped
    failed = old.result()

    assert isinstance(failed, RunFailed)
    assert str(failed) == (
        "coingecko run 1 failed: lost its lock on coingecko: "
        f"the ledger marked it abandoned ({locks.SILENT}); nothing was committed after that"
    )
    assert (newer.run_id, newer.status, newer.loaded) == (2, "succeeded", 250)
    assert table(engine, etl_runs.c.run_id, etl_runs.c.status, etl_runs.c.error) == [
        (1, "abandoned", locks.SILENT),
        (2, "succeeded", None),
    ]
    assert (
        table(engine, market_snapshots.c.run_id).count((2,))
        == 250
        == len(table(engine, market_snapshots.c.run_id))
    )
    # Run 1 kept page 1 as received before it was taken over; page 2 came after, and was not stored.
    assert [
        url for run_id, url in table(engine, raw_payloads.c.run_id, raw_payloads.c.url) if run_id == 1
    ] == [
        f"{provider.url}/api/v3/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=250"
        "&precision=full&page=1"
    ]
