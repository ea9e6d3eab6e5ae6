"""What the API asks the database, and whether each query is served by an index: EXPLAIN ANALYZE of every
statement an endpoint runs, captured from the API itself.

A query "scans the history" when it reads a table whole (a Seq Scan) or reads more of market_snapshots or
etl_runs than an answer needs: more than MOST_ROWS_READ of the rows of either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from api import create_app

# Tables that grow with time: reading them whole is what an endpoint must never do.
GROWING = ("market_snapshots", "etl_runs", "raw_payloads", "rejected_records")
MOST_ROWS_READ = 0.05


@dataclass(frozen=True)
class Plan:
    """One statement an endpoint ran, and its plan as PostgreSQL executed it."""

    statement: str
    tree: dict[str, Any]

    def scans(self) -> Iterator[dict[str, Any]]:
        """Every node of the plan that reads a table or an index of one."""
        nodes = [self.tree]
        while nodes:
            node = nodes.pop()
            nodes += node.get("Plans", [])
            if "Relation Name" in node:
                yield node

    def whole_reads(self) -> list[str]:
        """The growing tables this statement reads whole (a Seq Scan)."""
        return [
            s["Relation Name"]
            for s in self.scans()
            if s["Node Type"] == "Seq Scan" and s["Relation Name"] in GROWING
        ]

    def rows_read(self, table: str) -> int:
        """Rows of `table` this statement read, those its filters then dropped included."""
        return sum(
            scan["Actual Loops"]
            * (
                scan["Actual Rows"]
                + scan.get("Rows Removed by Filter", 0)
                + scan.get("Rows Removed by Index Recheck", 0)
            )
            for scan in self.scans()
            if scan["Relation Name"] == table
        )

    def problems(self, table_rows: dict[str, int]) -> list[str]:
        """Why this statement does not stay small as the tables grow: empty when every read is bounded."""
        found = [f"reads all of {table}" for table in self.whole_reads()]
        for table in GROWING:
            read = self.rows_read(table)
            if read > MOST_ROWS_READ * table_rows.get(table, 0):
                found.append(f"reads {read:,} rows of {table} (of {table_rows[table]:,})")
        return found


def explain(url: str, path: str) -> list[Plan]:
    """The plan of every statement that answering `path` runs (the request must succeed)."""
    app = create_app(database_url=url)
    engine = app.extensions["cryptoetl_db"]
    captured: list[tuple[str, Any]] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: captured.append((args[2], args[3])))
    try:
        response = app.test_client().get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        plans = []
        with engine.connect() as conn:
            for statement, parameters in captured:
                if statement.strip().upper() == "SELECT 1":
                    continue
                cursor = conn.connection.cursor()
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
                (document,) = cursor.fetchone()
                cursor.close()
                tree = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
                plans.append(Plan(" ".join(statement.split()), tree))
    finally:
        engine.dispose()
    return plans


def table_rows(url: str) -> dict[str, int]:
    """Each growing table's row count, as the planner's statistics have it."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.text(
                "SELECT relname, reltuples::bigint FROM pg_class WHERE relname IN :names"
            ).bindparams(sa.bindparam("names", expanding=True))
            return {name: count for name, count in conn.execute(query, {"names": list(GROWING)})}
    finally:
        engine.dispose()


def unindexed(url: str, paths: dict[str, str]) -> dict[str, list[str]]:
    """For each named path, what its queries read that no index bounds (empty: all index-driven)."""
    rows = table_rows(url)
    return {
        name: [p for plan in explain(url, path) for p in plan.problems(rows)] for name, path in paths.items()
    }
