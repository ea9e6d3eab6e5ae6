"""Bulk INSERTs that skip rows already stored: a fixed number of statements, whatever the number of rows.

PostgreSQL: COPY into a temporary staging table, then one INSERT .. SELECT .. ON CONFLICT DO NOTHING
(psycopg2 would send an executemany of ON CONFLICT as one round trip per row). SQLite: one compiled
INSERT .. ON CONFLICT DO NOTHING run by the driver's executemany, in process. Either way each value goes
through its column type first, so floats and naive datetimes are refused before they reach the database.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

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
    if conn.dialect.name == "postgresql":
        return _copy_then_insert(conn, table, rows, unique_key)
    statement = dialect_insert(conn, table)
    if unique_key:
        statement = statement.on_conflict_do_nothing(index_elements=unique_key)
    return conn.execute(statement, list(rows)).rowcount


def _copy_then_insert(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], unique_key: list[str] | None
) -> int:
    columns = [table.c[name] for name in rows[0]]
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(column.name) for column in columns)
    stage = sa.table(f"stage_{table.name}", *(sa.column(column.name) for column in columns))
    # Identifiers from our own table metadata, quoted by the dialect; there is no Core construct for this DDL.
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(stage.name)}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {quote(stage.name)} ON COMMIT DROP AS "  # noqa: S608
        f"SELECT {names} FROM {quote(table.name)} WITH NO DATA"
    )
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        copy = f"COPY {quote(stage.name)} ({names}) FROM STDIN"
        cursor.copy_expert(copy, _copy_text(conn, columns, rows))
    finally:
        cursor.close()
    insert = postgresql.insert(table).from_select([c.name for c in columns], sa.select(*stage.columns))
    if unique_key:
        insert = insert.on_conflict_do_nothing(index_elements=unique_key)
    return conn.execute(insert).rowcount


def _copy_text(
    conn: Connection, columns: list[sa.Column[Any]], rows: Sequence[dict[str, Any]]
) -> io.StringIO:
    """Rows in COPY's text format, each value checked by its column type first (no float, no naive time)."""
    # Only our TypeDecorators' checks: the driver's NUMERIC bind processor would turn Decimals into floats.
    checks = [
        column.type.process_bind_param if isinstance(column.type, TypeDecorator) else None
        for column in columns
    ]
    lines = []
    for row in rows:
        fields = []
        for column, check in zip(columns, checks, strict=True):
            value = row[column.name]
            fields.append(_copy_field(check(value, conn.dialect) if check else value))
        lines.append("\t".join(fields))
    return io.StringIO("\n".join(lines) + "\n")


def _copy_field(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)
