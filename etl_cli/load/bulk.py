"""Bulk INSERTs that skip rows already stored: a fixed number of statements, whatever the number of rows.

PostgreSQL: COPY into a temporary staging table, then one INSERT .. SELECT .. ON CONFLICT DO NOTHING
(psycopg2 would send an executemany of ON CONFLICT as one round trip per row). SQLite: one compiled
INSERT .. ON CONFLICT DO NOTHING run by the driver's executemany, in process. Either way each value goes
through its column type first, so floats and naive datetimes are refused before they reach the database.
Rows come as value tuples, each value processed by a function chosen once per column: building and binding
a dict per row through SQLAlchemy's compiled path cost more than the database's own work on a CSV load.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeDecorator

from etl_cli.schema.types import UtcDateTime

Process = Callable[[Any], Any]  # a value as its column type hands it to the driver
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def dialect_insert(conn: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """Return the dialect's INSERT, which knows ON CONFLICT."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def insert_rows(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    unique_key: list[str] | None = None,
) -> int:
    """Insert rows (all with the same keys) but those whose `unique_key` exists; return how many went in."""
    if not rows:
        return 0
    columns = list(rows[0])
    return insert_values(
        conn, table, columns, [tuple(row[name] for name in columns) for row in rows], unique_key
    )


def insert_values(
    conn: Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    unique_key: list[str] | None = None,
) -> int:
    """Insert rows of values in `columns` order, but those whose `unique_key` exists; return how many new."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        return _copy_then_insert(conn, table, columns, rows, unique_key)
    statement = dialect_insert(conn, table)
    if unique_key:
        statement = statement.on_conflict_do_nothing(index_elements=unique_key)
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(columns))
    # The compiled statement's parameters come in the table's column order; values come in `columns` order.
    plan = [
        (columns.index(name), _bind_processor(table.c[name], conn.dialect)) for name in compiled.positiontup
    ]
    values = [tuple([row[at] if bind is None else bind(row[at]) for at, bind in plan]) for row in rows]
    return conn.exec_driver_sql(compiled.string, values).rowcount


def _bind_processor(column: sa.Column[Any], dialect: Dialect) -> Process | None:
    """What SQLAlchemy's compiled path does to a value of the column: our type's checks, then the driver's."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return None if process is None else _once_per_time(column, process)


def _once_per_time(column: sa.Column[Any], process: Process) -> Process:
    """`process`, remembering its results for a time column's values.

    A load's rows share their times (its loaded_at, a CSV file's hours), and converting an aware datetime
    costs more than a dictionary lookup: each distinct time is converted once.
    """
    if not isinstance(column.type, UtcDateTime):
        return process
    return lru_cache(maxsize=4096)(process)


def _copy_then_insert(
    conn: Connection,
    table: sa.Table,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    unique_key: list[str] | None,
) -> int:
    columns = [table.c[name] for name in names]
    quote = conn.dialect.identifier_preparer.quote
    listed = ", ".join(quote(column.name) for column in columns)
    stage = sa.table(f"stage_{table.name}", *(sa.column(column.name) for column in columns))
    # Identifiers from our own table metadata, quoted by the dialect; there is no Core construct for this DDL.
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(stage.name)}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {quote(stage.name)} ON COMMIT DROP AS "  # noqa: S608
        f"SELECT {listed} FROM {quote(table.name)} WITH NO DATA"
    )
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        copy = f"COPY {quote(stage.name)} ({listed}) FROM STDIN"
        cursor.copy_expert(copy, _copy_text(conn.dialect, columns, rows))
    finally:
        cursor.close()
    insert = postgresql.insert(table).from_select([c.name for c in columns], sa.select(*stage.columns))
    if unique_key:
        insert = insert.on_conflict_do_nothing(index_elements=unique_key)
    return conn.execute(insert).rowcount


def _copy_text(dialect: Dialect, columns: list[sa.Column[Any]], rows: Sequence[Sequence[Any]]) -> io.StringIO:
    """Rows in COPY's text format, each value checked by its column type first (no float, no naive time)."""
    fields = [_copy_writer(column, dialect) for column in columns]
    lines = ["\t".join([field(value) for field, value in zip(fields, row, strict=True)]) for row in rows]
    return io.StringIO("\n".join(lines) + "\n")


def _copy_writer(column: sa.Column[Any], dialect: Dialect) -> Callable[[Any], str]:
    """A column's value as COPY text, through our type's checks only.

    Only our TypeDecorators' checks: the driver's NUMERIC bind processor would turn Decimals into floats.
    """
    if not isinstance(column.type, TypeDecorator):
        return _copy_field
    check = column.type.process_bind_param
    return _once_per_time(column, lambda value: _copy_field(check(value, dialect)))


def _copy_field(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)
