"""Cross-source divergence: an asset whose sources' newest prices, within the same hour, disagree too much.

A stale or broken feed shows up here first. Part of the read model the CLI and the API share (reads.py):
only each listing's newest snapshot is compared, found by one probe of the observation key per listing of
an asset that two sources or more list, so the history is never scanned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl_cli.schema.reads import AssetView, Listing, asset_views, listing_json, with_newest_snapshot
from etl_cli.schema.tables import asset_sources, assets, market_snapshots

SAME_HOUR_S = 3600  # two sources' observations closer than this are compared (as the identity rules do)


@dataclass(frozen=True)
class Divergence:
    """An asset whose sources' newest prices, observed within an hour, are further apart than allowed."""

    sources: list[Listing]  # the listings that disagree, in source order
    low_usd: Decimal
    high_usd: Decimal
    spread_pct: Decimal  # (high - low) / low, in percent, to 2 places

    def as_json(self) -> dict[str, Any]:
        """JSON-ready; prices are strings so that no digit is lost."""
        return {
            "sources": [listing_json(listing) for listing in self.sources],
            "low_usd": format(self.low_usd, "f"),
            "high_usd": format(self.high_usd, "f"),
            "spread_pct": format(self.spread_pct, "f"),
        }


def divergences(
    conn: Connection, pct: Decimal, asset_ids: Sequence[int] | None = None
) -> dict[int, Divergence]:
    """The assets (of these, or all) whose sources disagree by more than `pct` percent within an hour.

    Compares each listing's newest snapshot only (one probe of the observation key per listing, of assets
    listed by two sources or more): the history is never scanned.
    """
    newest = _newest_prices(conn, asset_ids).cte("newest")
    one, other = newest.alias("one"), newest.alias("other")
    seconds_apart = _seconds_between(conn, one.c.observed_at, other.c.observed_at)
    low, high = _price(conn, one.c.price_usd), _price(conn, other.c.price_usd)
    smaller = sa.case((low < high, low), else_=high)
    # The database's comparison narrows the pairs (on SQLite, in REAL); the exact one decides.
    query = (
        sa.select(*[c.label(f"one_{c.name}") for c in one.c], *[c.label(f"other_{c.name}") for c in other.c])
        .join_from(one, other, sa.and_(one.c.asset_id == other.c.asset_id, one.c.source < other.c.source))
        .where(
            seconds_apart < SAME_HOUR_S,
            sa.func.abs(low - high) * 100 > smaller * sa.literal(pct, sa.Numeric()),
        )
    )
    disagreeing: dict[int, dict[tuple[str, str], Listing]] = {}
    for row in conn.execute(query):
        pair = [
            Listing(**{name: row._mapping[f"{side}_{name}"] for name in Listing.__dataclass_fields__})
            for side in ("one", "other")
        ]
        pair = [replace(listing, evidence=json.loads(listing.evidence or "[]")) for listing in pair]
        prices = sorted(listing.price_usd for listing in pair if listing.price_usd is not None)
        if (prices[1] - prices[0]) * 100 <= prices[0] * pct:
            continue
        listings = disagreeing.setdefault(row.one_asset_id, {})
        listings.update({(listing.source, listing.source_asset_id): listing for listing in pair})
    return {asset_id: _divergence(listings) for asset_id, listings in sorted(disagreeing.items())}


def diverging_assets(conn: Connection, pct: Decimal) -> list[AssetView]:
    """Every asset whose sources disagree by more than `pct` percent within an hour, with its listings."""
    found = divergences(conn, pct)
    query = sa.select(assets.c.asset_id, assets.c.symbol, assets.c.name).where(assets.c.asset_id.in_(found))
    views = asset_views(conn, list(conn.execute(query.order_by(assets.c.asset_id))))
    return [replace(view, divergence=found[view.asset_id]) for view in views]


def with_divergences(conn: Connection, views: list[AssetView], pct: Decimal) -> list[AssetView]:
    """The views, each with its divergence if its sources disagree by more than `pct` percent."""
    found = divergences(conn, pct, [view.asset_id for view in views])
    return [replace(view, divergence=found.get(view.asset_id)) for view in views]


def _newest_prices(conn: Connection, asset_ids: Sequence[int] | None) -> sa.Select[Any]:
    """Each listing's newest positive price, for assets with listings from two sources or more."""
    links, snapshot = asset_sources.c, market_snapshots.c
    shared = (
        sa.select(links.asset_id)
        .group_by(links.asset_id)
        .having(sa.func.count(sa.distinct(links.source)) > 1)
    )
    if asset_ids is not None:
        shared = shared.where(links.asset_id.in_(list(asset_ids)))
    listing = [links.source, links.source_asset_id, snapshot.price_usd, snapshot.observed_at, links.rule]
    return (
        sa.select(links.asset_id, *listing, links.evidence)
        .select_from(with_newest_snapshot())
        .where(links.asset_id.in_(shared), _price(conn, snapshot.price_usd) > 0)
    )


def _seconds_between(conn: Connection, one: Any, other: Any) -> sa.ColumnElement[float]:
    if conn.dialect.name == "sqlite":  # ISO text there: julianday reads it, in days
        return sa.func.abs(sa.func.julianday(one) - sa.func.julianday(other)) * 86_400
    return sa.func.abs(sa.extract("epoch", one - other))


def _price(conn: Connection, column: Any) -> sa.ColumnElement[Any]:
    # SQLite keeps exact numbers as TEXT: compare their REAL values there (the spread shown is exact).
    return sa.cast(column, sa.REAL if conn.dialect.name == "sqlite" else sa.Numeric)


def _divergence(listings: dict[tuple[str, str], Listing]) -> Divergence:
    ordered = [listings[key] for key in sorted(listings)]
    prices = [listing.price_usd for listing in ordered if listing.price_usd is not None]
    low, high = min(prices), max(prices)
    spread = ((high - low) / low * 100).quantize(Decimal("0.01"))
    return Divergence(ordered, low, high, spread)
