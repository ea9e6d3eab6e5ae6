"""Backfill progress: the ranges of each coin's history already loaded, kept apart from live checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl_cli.extract.history import Window
from etl_cli.load.bulk import dialect_insert
from etl_cli.schema.tables import backfill_ranges

IN_LIST_SIZE = 500


def covered(conn: Connection, source: str, interval: str, coin_ids: Sequence[str]) -> dict[str, list[Window]]:
    """The ranges of `interval` points loaded so far for each of these coins, in time order."""
    ranges = backfill_ranges.c
    found: dict[str, list[Window]] = {coin_id: [] for coin_id in coin_ids}
    for start in range(0, len(coin_ids), IN_LIST_SIZE):
        query = (
            sa.select(ranges.source_asset_id, ranges.range_start, ranges.range_end)
            .where(
                ranges.source == source,
                ranges.granularity == interval,
                ranges.source_asset_id.in_(coin_ids[start : start + IN_LIST_SIZE]),
            )
            .order_by(ranges.source_asset_id, ranges.range_start)
        )
        for row in conn.execute(query):
            found[row.source_asset_id].append(Window(row.range_start, row.range_end))
    return found


def record_loaded(
    conn: Connection, source: str, coin_id: str, interval: str, window: Window, run_id: int, now: datetime
) -> None:
    """Note that `window` of the coin's `interval` points is loaded; commit it with the rows it loaded."""
    insert = dialect_insert(conn, backfill_ranges).values(
        source=source,
        source_asset_id=coin_id,
        granularity=interval,
        range_start=window.start,
        range_end=window.end,
        run_id=run_id,
        completed_at=now,
    )
    conn.execute(insert.on_conflict_do_nothing())
