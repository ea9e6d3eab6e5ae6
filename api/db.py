"""A read-only engine per app and one read-only connection per request, kept on `g` and closed on teardown.

PostgreSQL sessions start with default_transaction_read_only and a statement_timeout; SQLite files are
opened with mode=ro (a missing file is an error, never silently created), PRAGMA query_only and a
deadline per statement.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.engine import Connection, Engine

from api import queries
from api.errors import NO_SCHEMA_MESSAGE, DatabaseUnavailable
from etl_cli.config import Settings
from etl_cli.schema.errors import first_line, is_missing_table

EXTENSION = "cryptoetl_db"


def create_readonly_engine(settings: Settings) -> Engine:
    """Create an engine whose every connection refuses writes."""
    url = sa.make_url(settings.database_url)
    timeout_ms = settings.api.statement_timeout_ms
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, timeout_ms)
    options = (
        "-c default_transaction_read_only=on"
        f" -c statement_timeout={timeout_ms}"
        # A request that dies between statements must not hold a snapshot open for long.
        f" -c idle_in_transaction_session_timeout={max(timeout_ms, 1000) * 2}"
        # Every query here reads a page through indexes: JIT, which PostgreSQL starts once a plan's estimated
        # cost passes jit_above_cost (as /stats' does with a large ledger), would cost more than the query.
        " -c jit=off"
    )
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        # One snapshot per request: the ETag and the rows it describes come from the same state.
        isolation_level="REPEATABLE READ",
        connect_args={"options": options, "connect_timeout": settings.api.connect_timeout_s},
    )


def _sqlite_engine(url: sa.URL, timeout_ms: int) -> Engine:
    path = url.database or ""
    if path in ("", ":memory:") or path.startswith("file:"):
        # Nothing to open read-only (memory) or already a URI: use it as given, still query_only.
        readonly_url = url
    else:
        readonly_url = url.set(
            database=f"file:{quote(path)}", query={**url.query, "mode": "ro", "uri": "true"}
        )
    engine = sa.create_engine(readonly_url, connect_args={"timeout": 5})
    sa.event.listen(engine, "connect", _configure_sqlite)
    sa.event.listen(engine, "before_cursor_execute", _start_clock(timeout_ms / 1000))
    return engine


def _configure_sqlite(dbapi_connection: Any, record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()
    # SQLite has no statement_timeout: a progress handler that aborts past the deadline plays its part
    # (the statement then fails with "interrupted", which errors.py answers with a 503).
    deadline = record.info["deadline"] = [math.inf]
    dbapi_connection.set_progress_handler(lambda: time.monotonic() > deadline[0], 10_000)


def _start_clock(timeout_s: float) -> Callable[..., None]:
    def start(conn: Connection, *_args: Any) -> None:
        conn.connection.info["deadline"][0] = time.monotonic() + timeout_s

    return start


def init_app(app: Flask, settings: Settings) -> None:
    """Attach the engine to the app and close each request's connection at teardown."""
    app.extensions[EXTENSION] = create_readonly_engine(settings)
    app.teardown_appcontext(close_conn)


def engine() -> Engine:
    """The current app's read-only engine."""
    return current_app.extensions[EXTENSION]


def get_conn() -> Connection:
    """Return this request's connection, opening it on first use.

    A database without our tables is not checked here, which would cost a round trip per request:
    the first query then fails on a missing table, which errors.py answers with a 503 saying so.

    Raises:
        DatabaseUnavailable: the database is unreachable (a 503).
    """
    if "db_conn" not in g:
        try:
            g.db_conn = engine().connect()
        except sa.exc.DBAPIError as exc:
            raise DatabaseUnavailable(f"the database is unreachable: {first_line(exc)}") from exc
    return g.db_conn


def schema_version(conn: Connection) -> str:
    """The schema revision the database is at.

    Raises:
        DatabaseUnavailable: the database has no cryptoetl schema, or failed while we asked.
    """
    try:
        version = queries.schema_version(conn)
    except sa.exc.DBAPIError as exc:
        if not is_missing_table(exc):
            raise DatabaseUnavailable(f"the database is unreachable: {first_line(exc)}") from exc
        version = None
    if version is None:
        raise DatabaseUnavailable(NO_SCHEMA_MESSAGE)
    return version


def close_conn(_exc: BaseException | None = None) -> None:
    """Return the request's connection to the pool (its read-only transaction rolls back)."""
    conn = g.pop("db_conn", None)
    if conn is not None:
        conn.close()
