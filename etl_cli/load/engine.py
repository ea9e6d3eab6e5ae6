"""Engines for SQLite and PostgreSQL: the schema migrated before a write, found current before a read."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl_cli.errors import LoadError
from etl_cli.schema.errors import first_line
from etl_cli.schema.revisions import current_revision, schema_problem, upgrade

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
        raise _unusable(engine, exc) from exc
    return engine


def open_for_reading(database_url: str) -> Engine:
    """An engine on an existing database at the newest revision, for a command that only reads.

    A read never creates a database: the default SQLite URL is relative to the current folder, and an empty
    database made there would look like "nothing has happened".

    Raises:
        LoadError: there is no database at that path, it has no or an older or unknown schema, or it is
            unreachable; the message says what to do.
    """
    url = sa.make_url(database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database).resolve()
        if not path.is_file():
            raise LoadError(
                f"there is no database at {path}: create it with `cryptoetl db upgrade` (or a run), "
                "or set CRYPTOETL_DATABASE_URL to the one you mean"
            )
        shown = str(path)
    engine = create_engine(database_url)
    try:
        with reader(engine).connect() as conn:
            revision = current_revision(conn)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise LoadError(
            f"cannot use the database at {shown}: {first_line(exc)} (check CRYPTOETL_DATABASE_URL)"
        ) from exc
    if problem := schema_problem(revision):
        engine.dispose()
        raise LoadError(f"the database at {shown} {problem}")
    return engine


def _unusable(engine: Engine, exc: sa.exc.SQLAlchemyError) -> LoadError:
    engine.dispose()
    shown = engine.url.render_as_string(hide_password=True)
    return LoadError(f"cannot use the database at {shown}: {first_line(exc)} (check CRYPTOETL_DATABASE_URL)")
