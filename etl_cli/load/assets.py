"""Canonical assets: link every new source record to an asset, set-based, using the identity rules."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl_cli.load.bulk import insert_rows
from etl_cli.load.merges import apply_aliases
from etl_cli.schema.tables import asset_sources, assets, market_snapshots
from etl_cli.transform.identity import AliasMap, Key, KnownRecord, SourceRecord, resolve
from etl_cli.transform.records import Snapshot

# Ids per IN (...) lookup: far below SQLite's bound-variable limit, small enough for a quick plan.
IN_LIST_SIZE = 500
# Held until the loading transaction ends, so two sources never resolve identity against each other's
# uncommitted links (each would miss the other's coins and split them into two assets for good).
IDENTITY_LOCK_KEY = 7_428_120_552
# What identity compares from a listing's newest snapshot, besides its symbol and name.
FACTS = ("price_usd", "observed_at", "market_cap_rank", "circulating_supply", "total_supply", "max_supply")


def lock_identity(conn: Connection) -> None:
    """Make identity changes take turns until the transaction ends (SQLite's BEGIN IMMEDIATE already does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": IDENTITY_LOCK_KEY})


def ensure_assets(
    conn: Connection, snapshots: Iterable[Snapshot], now: datetime, aliases: AliasMap
) -> dict[Key, int]:
    """Map each (source, source asset id) to its canonical asset, recording why each new link was made.

    First the alias map's corrections: assets it says are one coin merge, an asset it says is two splits.
    """
    lock_identity(conn)
    apply_aliases(conn, aliases, now)
    latest: dict[Key, Snapshot] = {}
    for snapshot in snapshots:
        key = (snapshot.source, snapshot.source_asset_id)
        if key not in latest or snapshot.observed_at > latest[key].observed_at:
            latest[key] = snapshot
    known = _asset_ids(conn, asset_sources.c.source, asset_sources.c.source_asset_id, latest)
    missing = [_record(latest[key]) for key in sorted(latest) if key not in known]
    if not missing:
        return known
    decided = resolve(missing, _candidates(conn, missing, aliases), aliases)
    loners = [record for record in missing if decided[record.key].asset_id is None]
    insert_rows(
        conn,
        assets,
        [
            {
                "symbol": r.symbol,
                "name": r.name,
                "origin_source": r.source,
                "origin_source_asset_id": r.source_asset_id,
                "created_at": now,
            }
            for r in loners
        ],
    )
    created = _asset_ids(
        conn, assets.c.origin_source, assets.c.origin_source_asset_id, [r.key for r in loners]
    )
    links = {r.key: decided[r.key].asset_id or created[r.key] for r in missing}
    rows = [
        {
            "source": r.source,
            "source_asset_id": r.source_asset_id,
            "asset_id": links[r.key],
            "symbol": r.symbol,
            "name": r.name,
            "first_seen_at": now,
            "rule": decided[r.key].rule,
            "evidence": json.dumps(list(decided[r.key].evidence)),
        }
        for r in missing
    ]
    insert_rows(conn, asset_sources, rows, ["source", "source_asset_id"])
    return {**known, **links}


def _record(snapshot: Snapshot) -> SourceRecord:
    return SourceRecord(
        snapshot.source,
        snapshot.source_asset_id,
        snapshot.symbol,
        snapshot.name,
        **{fact: getattr(snapshot, fact) for fact in FACTS},
    )


def _candidates(conn: Connection, new: Sequence[SourceRecord], aliases: AliasMap) -> list[KnownRecord]:
    """Linked records that could be the same coin: same symbol, or in the same alias group."""
    groups = {aliases[r.key] for r in new if r.key in aliases}
    members = [key for key, group in aliases.items() if group in groups]
    symbols = sorted({r.symbol for r in new})
    links = asset_sources.c
    rows: dict[Key, sa.Row] = {}
    for start in range(0, max(len(symbols), len(members)), IN_LIST_SIZE):
        where = sa.or_(
            links.symbol.in_(symbols[start : start + IN_LIST_SIZE]),
            sa.tuple_(links.source, links.source_asset_id).in_(members[start : start + IN_LIST_SIZE]),
        )
        query = sa.select(links.asset_id, links.source, links.source_asset_id, links.symbol, links.name)
        rows.update({(row.source, row.source_asset_id): row for row in conn.execute(query.where(where))})
    return known_records(conn, [rows[key] for key in sorted(rows)])


def linked_records(conn: Connection) -> list[KnownRecord]:
    """Every linked listing with the facts of its newest snapshot: what the review queue weighs."""
    links = asset_sources.c
    query = sa.select(links.asset_id, links.source, links.source_asset_id, links.symbol, links.name)
    return known_records(
        conn, conn.execute(query.order_by(links.source, links.source_asset_id)).all(), every=True
    )


def known_records(conn: Connection, links: Sequence[Any], every: bool = False) -> list[KnownRecord]:
    """Link rows (asset_id, source, source_asset_id, symbol, name) with the facts of their newest snapshot.

    `every`: the rows are every link, so the facts are read without a filter.
    """
    keys = None if every else [(row.source, row.source_asset_id) for row in links]
    facts = _latest_facts(conn, keys)
    return [
        KnownRecord(
            row.asset_id,
            SourceRecord(
                row.source,
                row.source_asset_id,
                row.symbol,
                row.name,
                **facts.get((row.source, row.source_asset_id), {}),
            ),
        )
        for row in links
    ]


def _latest_facts(conn: Connection, keys: Sequence[Key] | None) -> dict[Key, dict[str, Any]]:
    """The newest snapshot's facts (price, time, rank, supplies) of these linked records (None: of all)."""
    s = market_snapshots.c
    batches = (
        [None] if keys is None else [keys[i : i + IN_LIST_SIZE] for i in range(0, len(keys), IN_LIST_SIZE)]
    )
    found: dict[Key, dict[str, Any]] = {}
    for batch in batches:
        newest = sa.select(s.source, s.source_asset_id, sa.func.max(s.observed_at).label("observed_at"))
        if batch is not None:
            newest = newest.where(sa.tuple_(s.source, s.source_asset_id).in_(batch))
        latest = newest.group_by(s.source, s.source_asset_id).subquery()
        query = sa.select(s.source, s.source_asset_id, *(s[fact] for fact in FACTS)).join(
            latest,
            sa.and_(
                s.source == latest.c.source,
                s.source_asset_id == latest.c.source_asset_id,
                s.observed_at == latest.c.observed_at,
            ),
        )
        found.update(
            {(r.source, r.source_asset_id): {f: r._mapping[f] for f in FACTS} for r in conn.execute(query)}
        )
    return found


def _asset_ids(
    conn: Connection, source_column: sa.Column[str], id_column: sa.Column[str], keys: Iterable[Key]
) -> dict[Key, int]:
    """Map (source, source asset id) keys to asset ids, one SELECT per source and batch of ids."""
    by_source: dict[str, list[str]] = {}
    for source, source_asset_id in keys:
        by_source.setdefault(source, []).append(source_asset_id)
    asset_id = source_column.table.c.asset_id
    found: dict[Key, int] = {}
    for source, ids in by_source.items():
        for start in range(0, len(ids), IN_LIST_SIZE):
            batch = ids[start : start + IN_LIST_SIZE]
            rows = conn.execute(
                sa.select(id_column, asset_id).where(source_column == source, id_column.in_(batch))
            )
            found.update({(source, row[0]): row[1] for row in rows})
    return found
