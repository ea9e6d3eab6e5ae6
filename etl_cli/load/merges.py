"""Identity corrections after the fact: merge two assets into one, split listings off an asset; each recorded.

A merge moves every link and snapshot of the retired asset to the survivor and points the retired id at it
(`assets.merged_into`), so a reader holding the old id still finds the coin. A split moves some listings (and
their snapshots) to another asset: back to the asset they created if a merge had retired it, else a new one.
Both write a row in `asset_corrections` (which ids, when, why, and the moved links as they were). The alias
map drives both on every load; `merge_assets` is also what a person's merge command runs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl_cli.errors import LoadError
from etl_cli.load import ledger
from etl_cli.schema.tables import asset_corrections, asset_sources, assets, market_snapshots
from etl_cli.transform.identity import AliasMap, Key, group_of

IN_LIST_SIZE = 500
# Held until the transaction ends, so two loads (or a load and a merge) never change identity at once: each
# would miss the other's uncommitted links and split a coin into two assets for good.
IDENTITY_LOCK_KEY = 7_428_120_552


def apply_aliases(conn: Connection, aliases: AliasMap, now: datetime) -> list[int]:
    """Split assets holding listings of two coins, then merge the assets holding one; return the corrections.

    A listing's coin is its alias group; a CoinGecko listing not in the map is the coin of its own id. One
    SELECT when the links agree with the alias map (the usual case); a few statements per correction.
    """
    if not aliases:
        return []
    # Each group's CoinGecko listing belongs to it whether or not the map lists it.
    links = _links_touched(conn, sorted({*aliases, *(("coingecko", g) for g in aliases.values())}))
    groups = {key: group for key in links if (group := group_of(key, aliases)) is not None}
    by_asset: dict[int, dict[str, list[Key]]] = defaultdict(lambda: defaultdict(list))
    for key, group in sorted(groups.items()):
        by_asset[links[key]][group].append(key)
    made = []
    for asset_id, held in sorted(by_asset.items()):
        if len(held) > 1:
            for keys, target, correction_id in _split_groups(conn, asset_id, held, now):
                made.append(correction_id)
                links.update(dict.fromkeys(keys, target))
    by_group: dict[str, set[int]] = defaultdict(set)
    for key, group in groups.items():
        by_group[group].add(links[key])
    for group, asset_ids in sorted(by_group.items()):
        if len(asset_ids) < 2:
            continue
        held_by = links.get(("coingecko", group))
        survivor = held_by if held_by is not None else min(asset_ids)
        members = ", ".join(f"{s}:{i}" for (s, i), g in sorted(groups.items()) if g == group)
        for retired in sorted(asset_ids - {survivor}):
            reason = f"the alias map lists {members} as {group}"
            made.append(merge_assets(conn, retired, survivor, reason, now))
    return made


def lock_identity(conn: Connection) -> None:
    """Make identity changes take turns until the transaction ends (SQLite's BEGIN IMMEDIATE already does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": IDENTITY_LOCK_KEY})


def merge_by_hand(
    conn: Connection, retired: int, survivor: int, reason: str, aliases: AliasMap, now: datetime
) -> int:
    """What `cryptoetl assets merge` runs: merge two live assets unless the alias map says two coins.

    Raises:
        LoadError: an asset does not exist or was retired, the two are one, or the alias map tells them apart.
    """
    lock_identity(conn)
    if retired == survivor:
        raise LoadError(f"asset {retired} is already asset {survivor}: name two different assets")
    live = dict(
        conn.execute(
            sa.select(assets.c.asset_id, assets.c.merged_into).where(
                assets.c.asset_id.in_([retired, survivor])
            )
        ).all()
    )
    for asset_id in (retired, survivor):
        if asset_id not in live:
            raise LoadError(f"no asset has id {asset_id}: see `cryptoetl assets`")
        if live[asset_id] is not None:
            raise LoadError(f"asset {asset_id} was merged into asset {live[asset_id]} already")
    links = asset_sources.c
    keys = conn.execute(
        sa.select(links.source, links.source_asset_id).where(links.asset_id.in_([retired, survivor]))
    ).all()
    coins = sorted({g for key in keys if (g := group_of(tuple(key), aliases)) is not None})
    if len(coins) > 1:
        raise LoadError(
            f"the alias map says assets {retired} and {survivor} are different coins ({', '.join(coins)}): "
            "change the alias file first"
        )
    return merge_assets(conn, retired, survivor, f"cryptoetl assets merge: {reason}", now)


def merge_assets(conn: Connection, retired: int, survivor: int, reason: str, now: datetime) -> int:
    """Move every link and snapshot of `retired` to `survivor` and retire it; return the correction id."""
    moved = _describe(conn, asset_sources.c.asset_id == retired)
    correction_id = _record(conn, "merge", retired, survivor, reason, moved, now)
    links = asset_sources.c
    conn.execute(
        sa.update(asset_sources)
        .where(links.asset_id == retired)
        .values(asset_id=survivor, rule="merge", evidence=_evidence("merge", correction_id, retired, reason))
    )
    conn.execute(
        sa.update(market_snapshots).where(market_snapshots.c.asset_id == retired).values(asset_id=survivor)
    )
    conn.execute(
        sa.update(assets)
        .where(sa.or_(assets.c.asset_id == retired, assets.c.merged_into == retired))
        .values(merged_into=survivor)
    )
    return correction_id


def split_listings(
    conn: Connection, keys: Sequence[Key], from_asset: int, to_asset: int, reason: str, now: datetime
) -> int:
    """Move the listings `keys` (links and snapshots) from one asset to another, live again if retired."""
    where = sa.tuple_(asset_sources.c.source, asset_sources.c.source_asset_id).in_(keys)
    moved = _describe(conn, sa.and_(asset_sources.c.asset_id == from_asset, where))
    correction_id = _record(conn, "split", from_asset, to_asset, reason, moved, now)
    conn.execute(
        sa.update(asset_sources)
        .where(asset_sources.c.asset_id == from_asset, where)
        .values(
            asset_id=to_asset, rule="split", evidence=_evidence("split", correction_id, from_asset, reason)
        )
    )
    s = market_snapshots.c
    conn.execute(
        sa.update(market_snapshots)
        .where(s.asset_id == from_asset, sa.tuple_(s.source, s.source_asset_id).in_(keys))
        .values(asset_id=to_asset)
    )
    conn.execute(sa.update(assets).where(assets.c.asset_id == to_asset).values(merged_into=None))
    return correction_id


def _split_groups(
    conn: Connection, asset_id: int, groups: dict[str, list[Key]], now: datetime
) -> list[tuple[list[Key], int, int]]:
    """Keep the group of the asset's first listing (else the first group); move each other group away."""
    origin = conn.execute(
        sa.select(assets.c.origin_source, assets.c.origin_source_asset_id).where(
            assets.c.asset_id == asset_id
        )
    ).one()
    keep = next((g for g, keys in groups.items() if tuple(origin) in keys), min(groups))
    done = []
    for group, keys in sorted(groups.items()):
        if group == keep:
            continue
        target = _home_for(conn, keys, now)
        listed = ", ".join(f"{s}:{i}" for s, i in keys)
        reason = f"the alias map lists {listed} as {group}, not {keep}"
        done.append((keys, target, split_listings(conn, keys, asset_id, target, reason, now)))
    return done


def _home_for(conn: Connection, keys: Sequence[Key], now: datetime) -> int:
    """The asset one of these listings created (retired or not), else a new asset created by the first."""
    origin = sa.tuple_(assets.c.origin_source, assets.c.origin_source_asset_id)
    found = conn.scalar(sa.select(sa.func.min(assets.c.asset_id)).where(origin.in_(keys)))
    if found is not None:
        return int(found)
    source, source_asset_id = min(keys)
    link = conn.execute(
        sa.select(asset_sources.c.symbol, asset_sources.c.name).where(
            asset_sources.c.source == source, asset_sources.c.source_asset_id == source_asset_id
        )
    ).one()
    return int(
        conn.execute(
            sa.insert(assets)
            .values(
                symbol=link.symbol,
                name=link.name,
                origin_source=source,
                origin_source_asset_id=source_asset_id,
                created_at=now,
            )
            .returning(assets.c.asset_id)
        ).scalar_one()
    )


def _links_touched(conn: Connection, keys: Sequence[Key]) -> dict[Key, int]:
    """The asset of each linked listing among `keys`, and of every CoinGecko listing on those assets."""
    found: dict[Key, int] = {}
    links = asset_sources.c
    pair = sa.tuple_(links.source, links.source_asset_id)
    for start in range(0, len(keys), IN_LIST_SIZE):
        batch = keys[start : start + IN_LIST_SIZE]
        touched = sa.select(links.asset_id).where(pair.in_(batch))
        query = sa.select(links.source, links.source_asset_id, links.asset_id).where(
            sa.or_(pair.in_(batch), sa.and_(links.source == "coingecko", links.asset_id.in_(touched)))
        )
        found.update({(r.source, r.source_asset_id): r.asset_id for r in conn.execute(query)})
    return found


def _describe(conn: Connection, where: sa.ColumnElement[bool]) -> list[dict[str, Any]]:
    """The links about to move, as they are: what the correction record keeps."""
    links = asset_sources.c
    query = sa.select(links.source, links.source_asset_id, links.rule, links.evidence).where(where)
    rows = conn.execute(query.order_by(links.source, links.source_asset_id)).all()
    if not rows:
        raise LoadError("nothing to move: the asset has no such listings")
    return [
        {
            "source": r.source,
            "source_asset_id": r.source_asset_id,
            "rule": r.rule,
            "evidence": json.loads(r.evidence) if r.evidence else [],
        }
        for r in rows
    ]


def _record(
    conn: Connection, kind: str, from_asset: int, to_asset: int, reason: str, moved: list, now: datetime
) -> int:
    """Write the correction, and tell readers that these sources' data changed (the API's ETag follows it)."""
    for source in sorted({link["source"] for link in moved}):
        ledger.mark_loaded(conn, source, now)
    statement = sa.insert(asset_corrections).values(
        kind=kind,
        from_asset_id=from_asset,
        to_asset_id=to_asset,
        reason=reason,
        links=json.dumps(moved),
        corrected_at=now,
    )
    return int(conn.execute(statement.returning(asset_corrections.c.correction_id)).scalar_one())


def _evidence(kind: str, correction_id: int, from_asset: int, reason: str) -> str:
    return json.dumps([f"{kind} #{correction_id}: moved from asset {from_asset}: {reason}"])
