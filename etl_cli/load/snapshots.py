"""Set-based loading of market snapshots: one statement per batch, never per row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Connection

from etl_cli.load.assets import ensure_assets
from etl_cli.load.bulk import insert_values
from etl_cli.schema.tables import market_snapshots
from etl_cli.transform.identity import AliasMap
from etl_cli.transform.records import Snapshot

OBSERVATION_KEY = ["source", "source_asset_id", "observed_at"]
COLUMNS = (
    "source",
    "source_asset_id",
    "asset_id",
    "symbol",
    "name",
    "observed_at",
    "price_usd",
    "market_cap_usd",
    "volume_24h_usd",
    "market_cap_rank",
    "circulating_supply",
    "total_supply",
    "max_supply",
    "run_id",
    "payload_id",
    "loaded_at",
)


def insert_snapshots(
    conn: Connection,
    snapshots: Sequence[tuple[int, Snapshot]],
    run_id: int,
    now: datetime,
    aliases: AliasMap,
) -> int:
    """Insert (payload id, snapshot) pairs not already stored; return how many were new."""
    asset_ids = ensure_assets(conn, [snapshot for _, snapshot in snapshots], now, aliases)
    rows = [
        (
            snapshot.source,
            snapshot.source_asset_id,
            asset_ids[snapshot.source, snapshot.source_asset_id],
            snapshot.symbol,
            snapshot.name,
            snapshot.observed_at,
            snapshot.price_usd,
            snapshot.market_cap_usd,
            snapshot.volume_24h_usd,
            snapshot.market_cap_rank,
            snapshot.circulating_supply,
            snapshot.total_supply,
            snapshot.max_supply,
            run_id,
            payload_id,
            now,
        )
        for payload_id, snapshot in snapshots
    ]
    return insert_values(conn, market_snapshots, COLUMNS, rows, OBSERVATION_KEY)
