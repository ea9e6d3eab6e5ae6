"""What a database error says, in one line: for the CLI's `Error:` line, the ledger and the API's 503s."""

from __future__ import annotations

import sqlalchemy as sa


def first_line(exc: BaseException) -> str:
    """The driver's own message of a database error (or the error's), first line only: no SQL."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def is_missing_table(exc: sa.exc.DBAPIError) -> bool:
    """Whether the error says a table does not exist (PostgreSQL 42P01, SQLite 'no such table')."""
    return getattr(exc.orig, "pgcode", None) == "42P01" or "no such table" in str(exc.orig)
