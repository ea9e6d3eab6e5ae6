"""Totals for pagers ("1-100 of 48,213"): how many rows match a list's filters, only when asked.

`count=exact` counts. `count=estimated` on PostgreSQL asks the planner instead: pg_class.reltuples for an
unfiltered table, EXPLAIN's row estimate for a filtered query; an estimate under EXACT_BELOW is replaced by
the exact count, which is then cheap. SQLite keeps no statistics to estimate from, so there it always
counts. Without `count` nothing is added, and paging costs what it did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from api.queries import SnapshotFilter, _conditions
from api.tables import assets, market_snapshots

COUNT_METHODS = ("exact", "estimated")
EXACT_BELOW = 10_000


@dataclass(frozen=True)
class Total:
    """How many rows match, and whether the number is the planner's estimate."""

    rows: int
    estimated: bool

    def pagination(self) -> dict[str, Any]:
        """The fields a page's `pagination` gains."""
        return {"total": self.rows, "total_is_estimate": self.estimated}


def snapshot_total(conn: Connection, where: SnapshotFilter, method: str) -> Total:
    """How many snapshots match /data's filters."""
    return _total(conn, market_snapshots, _conditions(where), method)


def asset_total(conn: Connection, symbol: str | None, method: str) -> Total:
    """How many canonical assets /assets lists (with that symbol, if given)."""
    conditions = [] if symbol is None else [assets.c.symbol == symbol.upper()]
    return _total(conn, assets, conditions, method)


def _total(conn: Connection, table: sa.Table, conditions: list[Any], method: str) -> Total:
    def exact() -> Total:
        return Total(conn.scalar(sa.select(sa.func.count()).select_from(table).where(*conditions)), False)

    if method == "exact" or conn.dialect.name != "postgresql":
        return exact()
    estimate = _estimate(conn, table, conditions)
    return exact() if estimate < EXACT_BELOW else Total(estimate, True)


def _estimate(conn: Connection, table: sa.Table, conditions: list[Any]) -> int:
    if not conditions:
        # reltuples is -1 for a table never vacuumed or analyzed (PostgreSQL 14+): then EXPLAIN it.
        query = sa.text("SELECT reltuples::bigint FROM pg_class WHERE oid = CAST(:name AS regclass)")
        rows = conn.scalar(query, {"name": table.name})
        if rows is not None and rows >= 0:
            return rows
    compiled = sa.select(*table.primary_key.columns).where(*conditions).compile(conn)
    plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])
