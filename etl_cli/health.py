"""`cryptoetl health`: the database answers, its schema is current and runs are recent, or why not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from etl_cli.errors import LoadError
from etl_cli.load.engine import create_engine, reader
from etl_cli.schema import reads
from etl_cli.schema.errors import first_line
from etl_cli.schema.revisions import current_revision, head_revision


def check_health(database_url: str, max_age: timedelta) -> str:
    """Say in one line that the database answers, is at the newest revision and saw a recent run.

    Raises:
        LoadError: any of the three is not so.
    """
    engine = create_engine(database_url)
    try:
        with reader(engine).connect() as conn:
            revision = current_revision(conn)
            if revision != head_revision():
                found = f"is at revision {revision}" if revision else "has no cryptoetl schema"
                raise LoadError(f"the database {found}, not {head_revision()}: run `cryptoetl db upgrade`")
            newest = next(iter(reads.recent_runs(conn, limit=1)), None)
    except sa.exc.SQLAlchemyError as exc:
        raise LoadError(f"database unreachable: {first_line(exc)} (check CRYPTOETL_DATABASE_URL)") from exc
    finally:
        engine.dispose()
    if newest is None:
        return f"healthy: schema {revision}, no run yet"
    age = datetime.now(UTC) - newest.started_at
    minutes = f"{age.total_seconds() / 60:.0f} min"
    if age > max_age:
        limit = f"{max_age.total_seconds() / 60:.0f} min"
        raise LoadError(f"stale: the newest run ({newest.source}) started {minutes} ago, more than {limit}")
    return f"healthy: schema {revision}, newest run {newest.source} {newest.status}, started {minutes} ago"
