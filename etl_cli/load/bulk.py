"""Multi-row INSERTs in the dialect's own syntax: one statement per batch, never a round trip per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

# Rows per INSERT: 500 rows x 17 bound values stays far below SQLite's 32766-variable limit.
BATCH_ROWS = 500


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
    """Insert rows in multi-row batches, skipping those whose `unique_key` exists; return rows inserted."""
    inserted = 0
    for start in range(0, len(rows), BATCH_ROWS):
        statement = dialect_insert(conn, table).values(list(rows[start : start + BATCH_ROWS]))
        if unique_key:
            statement = statement.on_conflict_do_nothing(index_elements=unique_key)
        inserted += conn.execute(statement).rowcount
    return inserted
