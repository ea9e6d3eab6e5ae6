"""The read queries that the CLI and the API share: the ledger's runs, per-source totals, the newest listings.

Writers live in etl_cli/load; everything here only SELECTs, so the read-only API may import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from etl_cli.schema.tables import asset_sources, assets, etl_runs, market_snapshots, source_checkpoints

if TYPE_CHECKING:
    from etl_cli.schema.divergence import Divergence

FAILED = ("failed", "abandoned")
# Built once: a new alias per call costs more than the query.
_newer = market_snapshots.alias("newer")


@dataclass(frozen=True)
class RunRecord:
    """One row of etl_runs, as users see it."""

    run_id: int
    source: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    extracted: int
    loaded: int
    skipped: int
    rejected: int
    http_requests: int
    http_retries: int
    error: str | None

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish, or None while running."""
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    def as_dict(self) -> dict[str, Any]:
        """The run's fields and its duration, typed (datetimes stay datetimes)."""
        return {**asdict(self), "duration_s": self.duration_s}

    def as_json(self) -> dict[str, Any]:
        """The run as a JSON-ready object: ISO timestamps, duration in seconds."""
        data = self.as_dict()
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        return data


_RUN_COLUMNS = [etl_runs.c[name] for name in RunRecord.__dataclass_fields__]


def get_run(conn: Connection, run_id: int) -> RunRecord:
    """Read one run."""
    row = conn.execute(sa.select(*_RUN_COLUMNS).where(etl_runs.c.run_id == run_id)).one()
    return RunRecord(**row._mapping)


def runs_by_id(conn: Connection, run_ids: Sequence[int]) -> list[RunRecord]:
    """Read the runs with these ids, in no particular order."""
    if not run_ids:
        return []
    query = sa.select(*_RUN_COLUMNS).where(etl_runs.c.run_id.in_(list(run_ids)))
    return [RunRecord(**row._mapping) for row in conn.execute(query)]


def recent_runs(conn: Connection, *, source: str | None = None, limit: int = 20) -> list[RunRecord]:
    """The newest runs first, optionally of one source."""
    query = sa.select(*_RUN_COLUMNS).order_by(etl_runs.c.run_id.desc()).limit(limit)
    if source is not None:
        query = query.where(etl_runs.c.source == source)
    return [RunRecord(**row._mapping) for row in conn.execute(query)]


def run_totals(conn: Connection) -> list[Row[Any]]:
    """Per source: runs, records loaded by successful runs, the newest run and the newest success."""
    succeeded = etl_runs.c.status == "succeeded"
    query = sa.select(
        etl_runs.c.source,
        sa.func.count().label("runs_total"),
        sa.func.coalesce(sa.func.sum(sa.case((succeeded, etl_runs.c.loaded), else_=0)), 0).label(
            "records_loaded"
        ),
        sa.func.max(etl_runs.c.run_id).label("last_run_id"),
        sa.func.max(sa.case((succeeded, etl_runs.c.run_id))).label("last_success_run_id"),
    ).group_by(etl_runs.c.source)
    return list(conn.execute(query))


def failures_since(conn: Connection, last_success: dict[str, int | None]) -> dict[str, int]:
    """Per source, failed or abandoned runs started after its last successful run."""
    counts: dict[str, int] = {}
    for source, run_id in last_success.items():
        query = sa.select(sa.func.count()).where(
            etl_runs.c.source == source, etl_runs.c.status.in_(FAILED), etl_runs.c.run_id > (run_id or 0)
        )
        counts[source] = conn.scalar(query) or 0
    return counts


def checkpoints(conn: Connection) -> list[Row[Any]]:
    """Every source's checkpoint."""
    return list(conn.execute(sa.select(source_checkpoints)))


def latest_listings(conn: Connection, asset_ids: Sequence[int] | None = None) -> list[Row[Any]]:
    """Every listing (source id) of these assets, or of all, with its newest snapshot's price and time.

    Rows of (asset_id, source, source_asset_id, price_usd, observed_at) in asset and source order; price and
    time are None for a listing with no snapshot. Each listing's newest snapshot is one probe of the
    (source, source_asset_id, observed_at) key: the history is never scanned.
    """
    links = asset_sources.c
    newest = (
        sa.select(sa.func.max(_newer.c.observed_at))
        .where(_newer.c.source == links.source, _newer.c.source_asset_id == links.source_asset_id)
        .scalar_subquery()
    )
    snapshot = market_snapshots.c
    joined = asset_sources.outerjoin(
        market_snapshots,
        sa.and_(
            snapshot.source == links.source,
            snapshot.source_asset_id == links.source_asset_id,
            snapshot.observed_at == newest,
        ),
    )
    query = (
        sa.select(
            links.asset_id, links.source, links.source_asset_id, snapshot.price_usd, snapshot.observed_at
        )
        .select_from(joined)
        .order_by(links.asset_id, links.source, links.source_asset_id)
    )
    if asset_ids is not None:
        if not asset_ids:
            return []
        query = query.where(links.asset_id.in_(list(asset_ids)))
    return list(conn.execute(query))


@dataclass(frozen=True)
class Listing:
    """One source's listing of an asset, with its newest observation."""

    source: str
    source_asset_id: str
    price_usd: Decimal | None
    observed_at: datetime | None


@dataclass(frozen=True)
class AssetView:
    """A canonical asset and the listings that feed it."""

    asset_id: int
    symbol: str
    name: str | None
    sources: list[Listing] = field(default_factory=list)
    divergence: Divergence | None = None  # see etl_cli/schema/divergence.py

    def as_json(self) -> dict[str, Any]:
        """JSON-ready; prices are strings so that no digit is lost."""
        return {
            **asdict(self),
            "sources": [listing_json(listing) for listing in self.sources],
            "divergence": self.divergence.as_json() if self.divergence else None,
        }


def listing_json(listing: Listing) -> dict[str, Any]:
    """A listing, JSON-ready: its price as a string, so that no digit is lost."""
    return {
        **asdict(listing),
        "price_usd": None if listing.price_usd is None else format(listing.price_usd, "f"),
        "observed_at": listing.observed_at.isoformat() if listing.observed_at else None,
    }


def asset_views(conn: Connection, rows: Sequence[Any]) -> list[AssetView]:
    """Complete (asset_id, symbol, name) rows with each asset's listings, in the rows' order."""
    return _views(rows, latest_listings(conn, [row.asset_id for row in rows]))


def list_assets(conn: Connection, *, unmatched_only: bool = False) -> list[AssetView]:
    """Every canonical asset with its listings; `unmatched_only` keeps those fed by one source."""
    query = sa.select(assets.c.asset_id, assets.c.symbol, assets.c.name).order_by(assets.c.asset_id)
    views = _views(list(conn.execute(query)), latest_listings(conn))
    if unmatched_only:
        views = [view for view in views if len({listing.source for listing in view.sources}) == 1]
    return views


def _views(rows: Sequence[Any], listing_rows: Sequence[Row[Any]]) -> list[AssetView]:
    listings: dict[int, list[Listing]] = {row.asset_id: [] for row in rows}
    for row in listing_rows:
        listings[row.asset_id].append(
            Listing(row.source, row.source_asset_id, row.price_usd, row.observed_at)
        )
    return [AssetView(row.asset_id, row.symbol, row.name, listings[row.asset_id]) for row in rows]


def runs_by_status(conn: Connection) -> list[Row[Any]]:
    """Per source and status: how many runs, and the snapshots they loaded (committed ones only)."""
    query = sa.select(
        etl_runs.c.source,
        etl_runs.c.status,
        sa.func.count().label("runs"),
        sa.func.coalesce(sa.func.sum(etl_runs.c.loaded), 0).label("loaded"),
    ).group_by(etl_runs.c.source, etl_runs.c.status)
    return list(conn.execute(query))
