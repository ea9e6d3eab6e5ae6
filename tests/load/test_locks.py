"""The per-source lease: one live run per source, taken over only from a dead run, never lost silently."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from etl_cli.errors import LockLost, RunLocked
from etl_cli.load import ledger, locks
from etl_cli.load.locks import source_lease
from etl_cli.schema.tables import etl_runs, source_checkpoints
from tests.conftest import another_run
from tests.provider import wait_until


def row(engine, run_id: int) -> tuple:
    with engine.connect() as conn:
        query = sa.select(etl_runs.c.status, etl_runs.c.error, etl_runs.c.heartbeat_at)
        return tuple(conn.execute(query.where(etl_runs.c.run_id == run_id)).one())


def set_run(engine, run_id: int, **values) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(etl_runs).where(etl_runs.c.run_id == run_id).values(**values))


def open_row(engine, **values) -> int:
    """A `running` row as another process left it."""
    with engine.begin() as conn:
        run_id = ledger.start_run(conn, "coingecko", datetime.now(UTC))
    set_run(engine, run_id, **values)
    return run_id


def take(engine) -> None:
    with source_lease(engine, "coingecko"):
        pass


def write_fenced(engine, lease) -> None:
    """A write transaction of the run holding `lease`, as the pipeline makes them."""
    with engine.begin() as conn:
        lease.fence(conn)
        conn.execute(sa.insert(source_checkpoints).values(source="coingecko"))


SILENT_LONG = datetime.now(UTC) - timedelta(seconds=locks.LEASE_S + 60)


def test_a_second_run_is_refused_at_once_and_admitted_once_the_first_has_ended(engine):
    with another_run(engine) as first:
        holder = rf"\(run {first.run_id}, pid {os.getpid()} on {ledger.hostname()}\)"
        busy = rf"^another coingecko run is in progress on this database {holder}"
        with pytest.raises(RunLocked, match=busy):
            take(engine)
        with another_run(engine, "coinpaprika"):
            pass  # other sources are not blocked
    with another_run(engine):
        pass
    with engine.connect() as conn:
        assert conn.execute(sa.select(etl_runs.c.status)).scalars().all() == ["succeeded"] * 3


def test_the_schema_allows_one_running_row_per_source(engine):
    open_row(engine, hostname="elsewhere")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        ledger.start_run(conn, "coingecko", datetime.now(UTC))


def test_a_run_whose_process_on_this_host_is_gone_is_taken_over_at_once(engine):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead = open_row(engine, pid=int(finished.stdout))  # its heartbeat is fresh: the pid decides
    with another_run(engine):
        pass
    assert row(engine, dead)[:2] == ("abandoned", locks.PROCESS_GONE)


def test_a_run_on_another_host_is_live_until_its_heartbeat_goes_silent(engine):
    other = open_row(engine, hostname="elsewhere", pid=1)
    with pytest.raises(RunLocked, match=r"\(run 1, pid 1 on elsewhere\)"):
        take(engine)
    assert row(engine, other)[0] == "running"
    set_run(engine, other, heartbeat_at=SILENT_LONG)
    with another_run(engine):
        pass
    assert row(engine, other)[:2] == ("abandoned", locks.SILENT)


def test_a_run_taken_over_commits_nothing_more_and_its_row_stays_abandoned(engine, monkeypatch):
    monkeypatch.setattr(locks, "HEARTBEAT_S", 3600.0)  # its heartbeat stops (a hung process, a lost network)
    with source_lease(engine, "coingecko") as old:
        set_run(engine, old.run_id, heartbeat_at=SILENT_LONG)
        with another_run(engine):
            lost = r"^lost its lock on coingecko: the ledger marked it abandoned \("
            with pytest.raises(LockLost, match=lost):
                write_fenced(engine, old)
            with engine.begin() as conn:
                now, nothing = datetime.now(UTC), ledger.RunCounts()
                finished = ledger.finish_run(conn, old.run_id, "succeeded", now, nothing)
            assert not finished
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(source_checkpoints)) == 0
    assert row(engine, old.run_id)[:2] == ("abandoned", locks.SILENT)


def test_the_heartbeat_keeps_a_run_alive_and_notices_a_takeover(engine, monkeypatch):
    monkeypatch.setattr(locks, "HEARTBEAT_S", 0.02)
    with source_lease(engine, "coingecko") as lease:
        set_run(engine, lease.run_id, heartbeat_at=SILENT_LONG)
        assert wait_until(lambda: row(engine, lease.run_id)[2] > SILENT_LONG)
        with pytest.raises(RunLocked):  # the heartbeat beat again: the run is alive
            take(engine)
        set_run(engine, lease.run_id, status="abandoned", error="taken over")
        assert lease.lost.wait(timeout=30)
        with pytest.raises(LockLost, match=r"marked it abandoned \(taken over\)"):
            lease.check()
