"""The run ledger (etl_runs), rejected records and per-source checkpoints."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import asdict, astuple, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl_cli.load.bulk import dialect_insert, insert_rows
from etl_cli.schema.tables import etl_runs, rejected_records, source_checkpoints
from etl_cli.transform.records import Reject

ABANDONED_REASON = "the process running it ended before it finished (killed or crashed)"
# What no text column can take: NUL (PostgreSQL refuses it) and lone surrogates (no UTF-8 encoding exists).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


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


def abandon_stale_runs(conn: Connection, source: str, now: datetime) -> int:
    """Mark `running` rows of a source as abandoned; call only while holding the source's lock."""
    result = conn.execute(
        sa.update(etl_runs)
        .where(etl_runs.c.source == source, etl_runs.c.status == "running")
        .values(status="abandoned", finished_at=now, error=ABANDONED_REASON)
    )
    return result.rowcount


def abandon_own_runs(conn: Connection, sources: Sequence[str], now: datetime, reason: str) -> int:
    """Mark `running` rows that this process opened for `sources` as abandoned; other processes' stay."""
    result = conn.execute(
        sa.update(etl_runs)
        .where(
            etl_runs.c.status == "running",
            etl_runs.c.source.in_(sources),
            etl_runs.c.pid == os.getpid(),
            etl_runs.c.hostname == _hostname(),
        )
        .values(status="abandoned", finished_at=now, error=reason)
    )
    return result.rowcount


def start_run(conn: Connection, source: str, now: datetime) -> int:
    """Open a ledger row in state `running` and return its run id."""
    return conn.scalar(
        sa.insert(etl_runs)
        .values(
            source=source,
            status="running",
            started_at=now,
            pid=os.getpid(),
            hostname=_hostname(),
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
) -> None:
    """Close a run with its final status, counts and error."""
    conn.execute(
        sa.update(etl_runs)
        .where(etl_runs.c.run_id == run_id)
        .values(status=status, finished_at=now, error=error, **asdict(counts))
    )


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
            "reason": _storable(reject.reason),
            "fragment": _storable(reject.fragment),
            "payload_id": payload_id,
            "rejected_at": now,
        }
        for payload_id, reject in rejects
    ]
    insert_rows(conn, rejected_records, rows)


def _storable(text: str) -> str:
    r"""Text that any column takes: NUL and lone surrogates written as backslash escapes (\x00, \ud800)."""
    return _UNSTORABLE.sub(lambda found: ascii(found[0])[1:-1], text)


def _source_asset_id(value: str | None) -> str | None:
    """A rejected record's id as far as its column holds it: the id may be why the record was rejected."""
    if value is None:
        return None
    return _storable(value)[: rejected_records.c.source_asset_id.type.length]


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


def _hostname() -> str:
    return socket.gethostname()[:255]


def _newest(new: sa.ColumnElement[Any], old: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    # NULL-safe max that reads the same on both databases (SQLite has no GREATEST).
    return sa.case((new > old, new), else_=sa.func.coalesce(old, new))
