"""Engines for SQLite and PostgreSQL, the dialect's insert(), and schema migration."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl_cli.errors import LoadError
from etl_cli.load import ledger
from etl_cli.schema.revisions import current_revision, head_revision, upgrade

log = logging.getLogger(__name__)


def create_engine(database_url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and real transactions."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30})
    sa.event.listen(engine, "connect", _configure_sqlite)
    # pysqlite's own BEGIN handling defers locking and skips DDL; take the write lock at BEGIN instead,
    # so a transaction never fails half-way on an upgrade from reader to writer. Readers (see reader())
    # begin DEFERRED: in WAL mode they need no lock, so they never wait behind a long load.
    sa.event.listen(
        engine,
        "begin",
        lambda conn: conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(_BEGIN, 'IMMEDIATE')}"),
    )
    return engine


_BEGIN = "cryptoetl_sqlite_begin"


def reader(engine: Engine) -> Engine:
    """The same engine for reading only: on SQLite its transactions take no lock."""
    return engine.execution_options(**{_BEGIN: "DEFERRED"})


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def open_database(database_url: str) -> Engine:
    """Create the engine and bring the schema up to date, or say in one line why we cannot."""
    engine = create_engine(database_url)
    try:
        upgrade(engine)
    except sa.exc.SQLAlchemyError as exc:
        shown = engine.url.render_as_string(hide_password=True)
        raise LoadError(
            f"cannot use the database at {shown}: {first_line(exc)} (check CRYPTOETL_DATABASE_URL)"
        ) from exc
    return engine


def first_line(exc: BaseException) -> str:
    """The driver's own message of a database error (or the error's), first line only."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


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
            newest = next(iter(ledger.recent_runs(conn, limit=1)), None)
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
