"""One run per source at a time: the run's own `running` ledger row is the source's lease.

A run takes its source by opening its ledger row; the schema allows one `running` row per source. It holds
the source while the row stays `running`, and keeps it alive with a heartbeat (a thread that stamps the row
every HEARTBEAT_S). Every transaction the run commits starts with the fence: it renews the row only if it is
still `running`, and takes its row lock until the commit, so the check and the commit cannot be separated.
A run whose row another run closed therefore commits nothing more and stops with LockLost.

A later run closes (marks `abandoned`) a `running` row only when that run is not alive: its process on this
host is gone, or its heartbeat has been silent for LEASE_S. A live run is never taken over, and nothing
depends on a database session staying open: a dropped connection is simply replaced.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from etl_cli.errors import LoadError, LockLost, RunLocked
from etl_cli.load import ledger
from etl_cli.load.engine import reader
from etl_cli.schema.errors import first_line
from etl_cli.schema.reads import RUN
from etl_cli.schema.tables import etl_runs

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
# A run whose heartbeat is this old is taken for dead: well above HEARTBEAT_S, so that a heartbeat held up
# by a busy database (SQLite waits up to 30 s for its write lock) does not count as death.
LEASE_S = 90.0
PROCESS_GONE = "the process running it ended before it finished (killed or crashed)"
SILENT = (
    f"no heartbeat for over {LEASE_S:g} s (its process ended, hung or lost the database); "
    "a later run took the source over"
)

# Runs this process holds: a `running` row with this process's pid that is not among them was left by an
# earlier process with the same pid (a container restarted as pid 1), or by a run that could not close it.
_held: set[int] = set()
_held_lock = threading.Lock()


@dataclass
class Lease:
    """A run's hold on its source: its run id, and whether another run has taken the source over."""

    engine: Engine
    source: str
    kind: str
    run_id: int
    started_at: datetime
    lost: threading.Event = field(default_factory=threading.Event)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction of the run: it commits only if the run still holds its source (see fence)."""
        with self.engine.begin() as conn:
            self.fence(conn)
            yield conn

    def fence(self, conn: Connection) -> None:
        """Check, first thing in a write transaction, that the run still holds its source, or raise LockLost.

        The check renews the heartbeat and locks the run's row until the transaction ends, so no other run can
        take over between it and the commit.
        """
        if not ledger.renew(conn, self.run_id):
            self.lost.set()
            raise LockLost(self.lost_reason(conn))

    def check(self) -> None:
        """Raise LockLost if the heartbeat has found the source taken over (checked between pages)."""
        if self.lost.is_set():
            with reader(self.engine).connect() as conn:
                raise LockLost(self.lost_reason(conn))

    def lost_reason(self, conn: Connection) -> str:
        """Say that the run lost its source, and what the ledger says of it now."""
        query = sa.select(etl_runs.c.status, etl_runs.c.error).where(etl_runs.c.run_id == self.run_id)
        row = conn.execute(query).one()
        return (
            f"lost its lock on {self.source}: the ledger marked it {row.status} ({row.error}); "
            "nothing was committed after that"
        )

    def _beat(self, stop: threading.Event, every: float) -> None:
        while not stop.wait(every):
            try:
                with self.engine.begin() as conn:
                    alive = ledger.renew(conn, self.run_id)
            except SQLAlchemyError as exc:
                # The run's own next commit fails on the same cause and says so; the next beat tries again.
                log.debug("%s run %d: heartbeat failed: %s", self.source, self.run_id, exc)
                continue
            if not alive:
                self.lost.set()
                return


@contextmanager
def source_lease(engine: Engine, source: str, kind: str = RUN) -> Iterator[Lease]:
    """Open a `running` ledger row of `kind` for `source` and hold the source with it for the block.

    Runs, backfills and replays of one source exclude each other alike: each writes the source's data.

    The row stays as the block leaves it: the run closes it (succeeded, failed, abandoned) before the end.

    Raises:
        RunLocked: a live run of this source holds it.
        LoadError: the database failed.
    """
    started_at = datetime.now(UTC)
    run_id = _take(engine, source, kind, started_at)
    lease = Lease(engine, source, kind, run_id, started_at)
    with _held_lock:
        _held.add(run_id)
    stop = threading.Event()
    heartbeat = threading.Thread(
        target=lease._beat, args=(stop, HEARTBEAT_S), name=f"cryptoetl-heartbeat-{source}", daemon=True
    )
    heartbeat.start()
    try:
        yield lease
    finally:
        stop.set()
        heartbeat.join()
        with _held_lock:
            _held.discard(run_id)


def _take(engine: Engine, source: str, kind: str, now: datetime) -> int:
    """In one transaction, close the source's `running` row if its run is dead, open ours; return its id."""
    try:
        with engine.begin() as conn:
            for row in ledger.running_runs(conn, source):
                if _process_gone(row):
                    ledger.abandon_run(conn, row.run_id, now, PROCESS_GONE)
                elif not ledger.abandon_run(conn, row.run_id, now, SILENT, silent_for=LEASE_S):
                    raise _busy(source, row)
                log.warning("%s: marked interrupted run %d as abandoned", source, row.run_id)
            return ledger.start_run(conn, source, now, kind)
    except IntegrityError:
        # Another run opened its row between our look and our insert: the unique index refused ours.
        raise _busy(source, None) from None
    except SQLAlchemyError as exc:
        raise LoadError(f"cannot start a {source} run: database error: {first_line(exc)}") from exc


def _process_gone(row: Row[Any]) -> bool:
    """Whether the run's process is known to be gone: it ran on this host and its pid is not running it."""
    if row.hostname != ledger.hostname() or row.pid is None:
        return False
    if row.pid == os.getpid():
        with _held_lock:
            return row.run_id not in _held
    try:
        os.kill(row.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, under another user
    return False


def _busy(source: str, row: Row[Any] | None) -> RunLocked:
    holder = f" (run {row.run_id}, pid {row.pid} on {row.hostname})" if row is not None else ""
    return RunLocked(
        f"another {source} run is in progress on this database{holder}; "
        f"wait for it to finish (see `cryptoetl runs --source {source}`)"
    )
