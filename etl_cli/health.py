"""`cryptoetl health`: the database answers at the current schema and the pipeline works, or why not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from etl_cli.errors import LoadError, Unhealthy
from etl_cli.load.engine import open_for_reading, reader
from etl_cli.schema import reads
from etl_cli.schema.errors import first_line
from etl_cli.schema.revisions import head_revision


def check_health(database_url: str, max_age: timedelta) -> str:
    """Say in one line that the pipeline is healthy.

    Raises:
        LoadError: no database, not at the current schema, or unreachable.
        Unhealthy: a source's newest run failed, no run ever succeeded, or the newest success is too old.
    """
    engine = open_for_reading(database_url)
    try:
        with reader(engine).connect() as conn:
            states = reads.source_states(conn)
    except sa.exc.SQLAlchemyError as exc:
        raise LoadError(f"database unreachable: {first_line(exc)} (check CRYPTOETL_DATABASE_URL)") from exc
    finally:
        engine.dispose()
    return judge(states, max_age, datetime.now(UTC))


def judge(states: dict[str, reads.SourceState], max_age: timedelta, now: datetime) -> str:
    """The verdict on the per-source state, as one line; raise Unhealthy naming every problem."""
    problems = [
        f"{state.source}'s newest run ({state.last_outcome.run_id}) failed: {state.last_outcome.error}"
        for state in states.values()
        if state.last_outcome is not None and state.last_outcome.status == "failed"
    ]
    successes = [state.last_success for state in states.values() if state.last_success is not None]
    newest = max(successes, key=_ended, default=None)
    if newest is None:
        problems.append("no run has ever succeeded" if states else "nothing has run yet")
    elif now - _ended(newest) > max_age:
        since = _minutes(now - _ended(newest))
        problems.append(
            f"stale: the newest success ({newest.source} run {newest.run_id}) finished {since} ago, "
            f"more than {_minutes(max_age)}"
        )
    if problems:
        raise Unhealthy("unhealthy: " + "; ".join(problems))
    assert newest is not None
    return (
        f"healthy: schema {head_revision()}, newest success {newest.source} run {newest.run_id} "
        f"{_minutes(now - _ended(newest))} ago, no source's newest run failed"
    )


def _ended(run: reads.RunRecord) -> datetime:
    return run.finished_at or run.started_at


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:.0f} min"
