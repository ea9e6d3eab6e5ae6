"""Set-based loading of canonical assets and market snapshots: one statement per batch, never per row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl_cli.load.bulk import BATCH_ROWS, insert_rows
from etl_cli.load.tables import asset_sources, assets, market_snapshots
from etl_cli.transform.records import Snapshot

OBSERVATION_KEY = ["source", "source_asset_id", "observed_at"]


def insert_snapshots(
    conn: Connection,
    snapshots: Sequence[tuple[int, Snapshot]],
    run_id: int,
    now: datetime,
) -> int:
    """Insert (payload id, snapshot) pairs not already stored; return how many were new."""
    asset_ids = ensure_assets(conn, [snapshot for _, snapshot in snapshots], now)
    rows = [
        {
            "source": snapshot.source,
            "source_asset_id": snapshot.source_asset_id,
            "asset_id": asset_ids[snapshot.source, snapshot.source_asset_id],
            "symbol": snapshot.symbol,
            "name": snapshot.name,
            "observed_at": snapshot.observed_at,
            "price_usd": snapshot.price_usd,
            "market_cap_usd": snapshot.market_cap_usd,
            "volume_24h_usd": snapshot.volume_24h_usd,
            "market_cap_rank": snapshot.market_cap_rank,
            "circulating_supply": snapshot.circulating_supply,
            "total_supply": snapshot.total_supply,
            "max_supply": snapshot.max_supply,
            "run_id": run_id,
            "payload_id": payload_id,
            "loaded_at": now,
        }
        for payload_id, snapshot in snapshots
    ]
    return insert_rows(conn, market_snapshots, rows, OBSERVATION_KEY)


def ensure_assets(
    conn: Connection, snapshots: Iterable[Snapshot], now: datetime
) -> dict[tuple[str, str], int]:
    """Map each (source, source asset id) to its canonical asset, creating assets for ids never seen."""
    wanted = {(s.source, s.source_asset_id): s for s in snapshots}
    known = _known_assets(conn, wanted)
    missing = [snapshot for key, snapshot in wanted.items() if key not in known]
    if not missing:
        return known
    insert_rows(
        conn,
        assets,
        [
            {
                "symbol": s.symbol,
                "name": s.name,
                "origin_source": s.source,
                "origin_source_asset_id": s.source_asset_id,
                "created_at": now,
            }
            for s in missing
        ],
    )
    created = _assets_by_origin(conn, [(s.source, s.source_asset_id) for s in missing])
    links = [
        {
            "source": snapshot.source,
            "source_asset_id": snapshot.source_asset_id,
            "asset_id": created[snapshot.source, snapshot.source_asset_id],
            "symbol": snapshot.symbol,
            "name": snapshot.name,
            "first_seen_at": now,
        }
        for snapshot in missing
    ]
    insert_rows(conn, asset_sources, links, ["source", "source_asset_id"])
    known.update({(link["source"], link["source_asset_id"]): link["asset_id"] for link in links})
    return known


def _known_assets(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    return _lookup(conn, asset_sources.c.source, asset_sources.c.source_asset_id, keys)


def _assets_by_origin(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    return _lookup(conn, assets.c.origin_source, assets.c.origin_source_asset_id, keys)


def _lookup(
    conn: Connection,
    source_column: sa.Column[str],
    id_column: sa.Column[str],
    keys: Iterable[tuple[str, str]],
) -> dict[tuple[str, str], int]:
    """Map (source, source asset id) keys to asset ids, one SELECT per source and batch of ids."""
    by_source: dict[str, list[str]] = {}
    for source, source_asset_id in keys:
        by_source.setdefault(source, []).append(source_asset_id)
    asset_id = source_column.table.c.asset_id
    found: dict[tuple[str, str], int] = {}
    for source, ids in by_source.items():
        for start in range(0, len(ids), BATCH_ROWS):
            rows = conn.execute(
                sa.select(id_column, asset_id).where(
                    source_column == source, id_column.in_(ids[start : start + BATCH_ROWS])
                )
            )
            found.update({(source, row[0]): row[1] for row in rows})
    return found
