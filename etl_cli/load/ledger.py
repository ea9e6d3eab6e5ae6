"""The run ledger (etl_runs), rejected records and per-source checkpoints."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import asdict, astuple, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from etl_cli.load.bulk import dialect_insert, insert_rows
from etl_cli.schema.reads import RUN
from etl_cli.schema.tables import etl_runs, rejected_records, source_checkpoints
from etl_cli.schema.types import UtcDateTime, storable
from etl_cli.transform.records import Reject


@dataclass(frozen=True)
class RunCounts:
    """What a run did, as the ledger counts it: records handled and what they cost in HTTP terms."""

    extracted: int = 0
    loaded: int = 0
    skipped: int = 0
    rejected: int = 0
    http_requests: int = 0
    http_retries: int = 0

    def __add__(self, other: RunCounts) -> RunCounts:
        return RunCounts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def running_runs(conn: Connection, source: str) -> list[Row[Any]]:
    """The `running` rows of a source (one at most, by the schema's unique index): run_id, pid, hostname."""
    query = sa.select(etl_runs.c.run_id, etl_runs.c.pid, etl_runs.c.hostname).where(
        etl_runs.c.source == source, etl_runs.c.status == "running"
    )
    return list(conn.execute(query))


def abandon_run(
    conn: Connection, run_id: int, now: datetime, reason: str, *, silent_for: float | None = None
) -> bool:
    """Mark a `running` row abandoned; with `silent_for`, only if its heartbeat is that many seconds old.

    Returns whether the row was abandoned. The condition is part of the UPDATE, so a heartbeat or a commit of
    the run that lands first (PostgreSQL re-reads the row once its lock is free) keeps the run alive.
    """
    condition = [etl_runs.c.run_id == run_id, etl_runs.c.status == "running"]
    if silent_for is not None:
        cutoff = _clock(conn, ago=timedelta(seconds=silent_for))
        condition.append(sa.or_(etl_runs.c.heartbeat_at.is_(None), etl_runs.c.heartbeat_at < cutoff))
    result = conn.execute(
        sa.update(etl_runs).where(*condition).values(status="abandoned", finished_at=now, error=reason)
    )
    return result.rowcount == 1


def renew(conn: Connection, run_id: int) -> bool:
    """Beat a running run's heartbeat; False if the row is no longer `running` (another run took over)."""
    result = conn.execute(
        sa.update(etl_runs)
        .where(etl_runs.c.run_id == run_id, etl_runs.c.status == "running")
        .values(heartbeat_at=_clock(conn))
    )
    return result.rowcount == 1


def abandon_own_runs(conn: Connection, sources: Sequence[str], now: datetime, reason: str) -> int:
    """Mark `running` rows that this process opened for `sources` as abandoned; other processes' stay."""
    result = conn.execute(
        sa.update(etl_runs)
        .where(
            etl_runs.c.status == "running",
            etl_runs.c.source.in_(sources),
            etl_runs.c.pid == os.getpid(),
            etl_runs.c.hostname == hostname(),
        )
        .values(status="abandoned", finished_at=now, error=reason)
    )
    return result.rowcount


def start_run(conn: Connection, source: str, now: datetime, kind: str = RUN) -> int:
    """Open a ledger row of `kind` in state `running`, its heartbeat beating now, and return its run id."""
    return conn.scalar(
        sa.insert(etl_runs)
        .values(
            source=source,
            kind=kind,
            status="running",
            started_at=now,
            pid=os.getpid(),
            hostname=hostname(),
            heartbeat_at=_clock(conn),
        )
        .returning(etl_runs.c.run_id)
    )


def finish_run(
    conn: Connection,
    run_id: int,
    status: str,
    now: datetime,
    counts: RunCounts,
    error: str | None = None,
) -> bool:
    """Close a run with its final status, counts and error, if it is still `running`; return whether it was.

    A final state is final: a row another run marked abandoned stays so, and the caller must not commit.
    """
    result = conn.execute(
        sa.update(etl_runs)
        .where(etl_runs.c.run_id == run_id, etl_runs.c.status == "running")
        .values(status=status, finished_at=now, error=error, **asdict(counts))
    )
    return result.rowcount == 1


def record_counts(conn: Connection, run_id: int, counts: RunCounts) -> None:
    """Save a run's counts so far; commit them with the rows they count, so a killed run still tells."""
    conn.execute(sa.update(etl_runs).where(etl_runs.c.run_id == run_id).values(**asdict(counts)))


def record_rejects(
    conn: Connection, run_id: int, rejects: Sequence[tuple[int, Reject]], now: datetime
) -> None:
    """Store (payload id, reject) pairs of a run; their texts come from sources, so any character must fit."""
    rows = [
        {
            "run_id": run_id,
            "source": reject.source,
            "source_asset_id": _source_asset_id(reject.source_asset_id),
            "reason": reject.reason,
            "fragment": reject.fragment,
            "payload_id": payload_id,
            "rejected_at": now,
        }
        for payload_id, reject in rejects
    ]
    insert_rows(conn, rejected_records, rows)


def _source_asset_id(value: str | None) -> str | None:
    """A rejected record's id as far as its column holds it: the id may be why the record was rejected."""
    if value is None:
        return None
    return storable(value)[: rejected_records.c.source_asset_id.type.length]


def save_checkpoint(
    conn: Connection,
    source: str,
    run_id: int,
    now: datetime,
    *,
    error: str | None = None,
    last_observed_at: datetime | None = None,
) -> None:
    """Record a run's outcome on its source's checkpoint: success when error is None, else failure."""
    outcome = {"last_failure_at": now, "last_error": error} if error else {"last_success_at": now}
    values = {"source": source, "last_run_id": run_id, "last_observed_at": last_observed_at, **outcome}
    insert = dialect_insert(conn, source_checkpoints).values(**values)
    newest = _newest(insert.excluded.last_observed_at, source_checkpoints.c.last_observed_at)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["source"],
            set_={"last_run_id": run_id, "last_observed_at": newest, **outcome},
        )
    )


def read_state(conn: Connection, source: str) -> dict[str, Any] | None:
    """The checkpoint state a source saved with its last committed page, if any."""
    raw = conn.scalar(sa.select(source_checkpoints.c.state).where(source_checkpoints.c.source == source))
    return json.loads(raw) if raw else None


def mark_loaded(conn: Connection, source: str, now: datetime) -> None:
    """Note that rows of `source` were added; commit it with them (readers revalidate their caches on it)."""
    insert = dialect_insert(conn, source_checkpoints).values(source=source, last_loaded_at=now)
    conn.execute(insert.on_conflict_do_update(index_elements=["source"], set_={"last_loaded_at": now}))


def save_state(conn: Connection, source: str, state: Mapping[str, Any]) -> None:
    """Save a source's resume state; commit it in the transaction of the rows it accounts for."""
    insert = dialect_insert(conn, source_checkpoints).values(source=source, state=json.dumps(state))
    conn.execute(
        insert.on_conflict_do_update(index_elements=["source"], set_={"state": insert.excluded.state})
    )


def hostname() -> str:
    """This host's name as the ledger stores it."""
    return socket.gethostname()[:255]


def _clock(conn: Connection, ago: timedelta = timedelta(0)) -> sa.ColumnElement[datetime]:
    # Heartbeats and their age read one clock: PostgreSQL's, shared by every host that runs cryptoetl
    # against it (a SQLite file has one host).
    if conn.dialect.name == "postgresql":
        return sa.func.clock_timestamp() - sa.literal(ago, sa.Interval())
    return sa.literal(datetime.now(UTC) - ago, UtcDateTime())


def _newest(new: sa.ColumnElement[Any], old: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    # NULL-safe max that reads the same on both databases (SQLite has no GREATEST).
    return sa.case((new > old, new), else_=sa.func.coalesce(old, new))
