"""Canonical assets: link every new source record to an asset, set-based, using the identity rules."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl_cli.load.bulk import insert_rows
from etl_cli.load.merges import apply_aliases, lock_identity
from etl_cli.schema.reads import FACTS, IN_LIST_SIZE, listing_facts
from etl_cli.schema.tables import asset_sources, assets
from etl_cli.transform.identity import AliasMap, Key, KnownRecord, SourceRecord, resolve
from etl_cli.transform.records import Snapshot


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
    """Linked listings that could be the same coin (same symbol, or in the same alias group), with facts."""
    groups = {aliases[r.key] for r in new if r.key in aliases}
    members = sorted(
        {*(key for key, group in aliases.items() if group in groups), *(("coingecko", g) for g in groups)}
    )
    rows = listing_facts(conn, symbols=sorted({r.symbol for r in new}), keys=members)
    return [KnownRecord.from_row(row) for row in rows]


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
