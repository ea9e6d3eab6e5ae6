"""Engines for SQLite and PostgreSQL, and the database brought to the newest schema before a write."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl_cli.errors import LoadError
from etl_cli.schema.errors import first_line
from etl_cli.schema.revisions import upgrade

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
