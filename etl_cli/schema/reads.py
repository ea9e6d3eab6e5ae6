"""The read queries that the CLI and the API share: runs, rejects, per-source state, listings.

Also why listings are one asset, and what identity weighs from each listing. Writers live in etl_cli/load;
everything here only SELECTs, so the read-only API may import it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from etl_cli.schema.tables import (
    asset_sources,
    assets,
    etl_run_totals,
    etl_runs,
    market_snapshots,
    rejected_records,
    source_checkpoints,
)

if TYPE_CHECKING:
    from etl_cli.schema.divergence import Divergence

FAILED = ("failed", "abandoned")
ENDED = ("succeeded", "failed")  # an abandoned run tells nothing of the source
# The kinds of ledger row. Only runs (`cryptoetl run`, the scheduler) say how a source's schedule is doing: a
# backfill or a replay that succeeds must not hide a schedule that fails.
RUN, BACKFILL, REPLAY = "run", "backfill", "replay"
# What identity weighs from a listing's newest snapshot, besides its symbol and name.
FACTS = ("price_usd", "observed_at", "market_cap_rank", "circulating_supply", "total_supply", "max_supply")
# Values per IN (...) lookup: far below SQLite's bound-variable limit, small enough for a quick plan.
IN_LIST_SIZE = 500
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
    kind: str = RUN

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish, or None while running."""
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    def as_dict(self) -> dict[str, Any]:
        """The run's fields and its duration, typed (datetimes stay datetimes)."""
        return {**_fields(self), "duration_s": self.duration_s}

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


def recent_runs(
    conn: Connection, *, source: str | None = None, kind: str | None = None, limit: int = 20
) -> list[RunRecord]:
    """The newest ledger rows first, optionally of one source or one kind."""
    query = sa.select(*_RUN_COLUMNS).order_by(etl_runs.c.run_id.desc()).limit(limit)
    if source is not None:
        query = query.where(etl_runs.c.source == source)
    if kind is not None:
        query = query.where(etl_runs.c.kind == kind)
    return [RunRecord(**row._mapping) for row in conn.execute(query)]


@dataclass(frozen=True)
class SourceState:
    """What the ledger says of one source that has run: the one place that judges a source's health."""

    source: str
    runs_total: int
    records_loaded: int  # by successful runs
    last_run: RunRecord  # whatever its status, `running` included
    last_outcome: RunRecord | None  # the newest run that succeeded or failed (an abandoned one tells nothing)
    last_success: RunRecord | None
    failures_since_success: int  # failed or abandoned runs after the newest success


def source_states(conn: Connection, kind: str = RUN) -> dict[str, SourceState]:
    """Every source that has ledger rows of `kind`, by name: three queries, whatever the number of rows.

    Of kind `run` (the default), this is how each source's schedule is doing: a backfill or a replay that
    succeeds must not hide a schedule that fails.
    """
    totals = _run_totals(conn, kind)
    wanted = [(row.last_run_id, row.last_outcome_run_id, row.last_success_run_id) for row in totals]
    runs = {run.run_id: run for run in runs_by_id(conn, sorted({i for ids in wanted for i in ids if i}))}
    failures = _failures_since(conn, kind, {row.source: row.last_success_run_id for row in totals})
    return {
        row.source: SourceState(
            source=row.source,
            runs_total=row.runs_total,
            records_loaded=int(row.records_loaded),
            last_run=runs[row.last_run_id],
            last_outcome=runs.get(row.last_outcome_run_id),
            last_success=runs.get(row.last_success_run_id),
            failures_since_success=failures.get(row.source, 0),
        )
        for row in totals
    }


def _run_totals(conn: Connection, kind: str) -> list[Row[Any]]:
    """Per source with rows of `kind`: their number, records loaded by successes, the newest of each outcome.

    Flat as the ledger grows: the number and the records come from etl_run_totals (a few rows a source);
    the sources are found by skipping through the (source, kind, run_id) index, one probe each, and the
    newest run, outcome and success are ends of index ranges.
    """
    runs = etl_runs.alias("runs")
    source = _ledger_sources().c.source
    of_source = sa.and_(runs.c.source == source, runs.c.kind == kind)
    totals = sa.and_(etl_run_totals.c.source == source, etl_run_totals.c.kind == kind)

    def newest(*where: sa.ColumnElement[bool]) -> sa.ScalarSelect[Any]:
        return sa.select(sa.func.max(runs.c.run_id)).where(of_source, *where).scalar_subquery()

    def total(value: sa.ColumnElement[Any], *where: sa.ColumnElement[bool]) -> sa.ScalarSelect[Any]:
        return sa.select(sa.func.coalesce(sa.func.sum(value), 0)).where(totals, *where).scalar_subquery()

    query = sa.select(
        source,
        total(etl_run_totals.c.runs).label("runs_total"),
        total(etl_run_totals.c.loaded, etl_run_totals.c.status == "succeeded").label("records_loaded"),
        newest().label("last_run_id"),
        newest(runs.c.status.in_(ENDED)).label("last_outcome_run_id"),
        newest(runs.c.status == "succeeded").label("last_success_run_id"),
    ).where(source.is_not(None))
    return [row for row in conn.execute(query) if row.runs_total]


def _ledger_sources() -> sa.CTE:
    """Every source in etl_runs, found in a few index probes (a loose index scan) rather than a scan."""
    runs = etl_runs.alias("next_runs")
    sources = sa.select(sa.func.min(etl_runs.c.source).label("source")).cte("sources", recursive=True)
    following = (
        sa.select(sa.func.min(runs.c.source)).where(runs.c.source > sources.c.source).scalar_subquery()
    )
    return sources.union_all(sa.select(following).where(sources.c.source.is_not(None)))


def _failures_since(conn: Connection, kind: str, last_success: dict[str, int | None]) -> dict[str, int]:
    """Per source, failed or abandoned rows of `kind` after its newest success (all of them if none).

    One query whose every source reads a short range of the (source, kind, status, run_id) index.
    """
    if not last_success:
        return {}
    after = [
        sa.and_(etl_runs.c.source == source, etl_runs.c.run_id > (run_id or 0))
        for source, run_id in last_success.items()
    ]
    query = (
        sa.select(etl_runs.c.source, sa.func.count())
        .where(etl_runs.c.kind == kind, etl_runs.c.status.in_(FAILED), sa.or_(*after))
        .group_by(etl_runs.c.source)
    )
    return {source: count for source, count in conn.execute(query)}


def checkpoints(conn: Connection) -> list[Row[Any]]:
    """Every source's checkpoint."""
    return list(conn.execute(sa.select(source_checkpoints)))


@dataclass(frozen=True)
class RejectRecord:
    """One rejected record: where it came from, why it was refused and its text as the source sent it."""

    reject_id: int
    run_id: int
    source: str
    source_asset_id: str | None
    reason: str
    fragment: str
    rejected_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The reject as a JSON-ready object, its whole text included."""
        return {**asdict(self), "rejected_at": self.rejected_at.isoformat()}


_REJECT_COLUMNS = [rejected_records.c[name] for name in RejectRecord.__dataclass_fields__]


def recent_rejects(
    conn: Connection, *, run_id: int | None = None, source: str | None = None, limit: int = 20
) -> list[RejectRecord]:
    """The newest rejects first, optionally of one run and of one source."""
    query = sa.select(*_REJECT_COLUMNS).order_by(rejected_records.c.reject_id.desc()).limit(limit)
    if run_id is not None:
        query = query.where(rejected_records.c.run_id == run_id)
    if source is not None:
        query = query.where(rejected_records.c.source == source)
    return [RejectRecord(**row._mapping) for row in conn.execute(query)]


def latest_listings(conn: Connection, asset_ids: Sequence[int] | None = None) -> list[Row[Any]]:
    """Every listing (source id) of these assets, or of all, with its newest snapshot's price and time.

    Rows of (asset_id, source, source_asset_id, rule, evidence, price_usd, observed_at) in asset and source
    order; price and time are None for a listing with no snapshot. Each listing's newest snapshot is one probe
    of the (source, source_asset_id, observed_at) key: the history is never scanned.
    """
    links, snapshot = asset_sources.c, market_snapshots.c
    query = (
        sa.select(
            links.asset_id,
            links.source,
            links.source_asset_id,
            links.rule,
            links.evidence,
            snapshot.price_usd,
            snapshot.observed_at,
        )
        .select_from(with_newest_snapshot())
        .order_by(links.asset_id, links.source, links.source_asset_id)
    )
    if asset_ids is not None:
        if not asset_ids:
            return []
        query = query.where(links.asset_id.in_(list(asset_ids)))
    return list(conn.execute(query))


def listing_facts(
    conn: Connection,
    *,
    symbols: Sequence[str] = (),
    keys: Sequence[tuple[str, str]] = (),
    every: bool = False,
) -> list[Row[Any]]:
    """Listings of these symbols or (source, source asset id) keys (or `every` one) with what identity weighs.

    Rows of (asset_id, source, source_asset_id, symbol, name) and the newest snapshot's FACTS (None where
    the listing has no snapshot), one SELECT per batch of IN_LIST_SIZE symbols and keys.
    """
    links, snapshot = asset_sources.c, market_snapshots.c
    query = sa.select(
        links.asset_id,
        links.source,
        links.source_asset_id,
        links.symbol,
        links.name,
        *(snapshot[f] for f in FACTS),
    ).select_from(with_newest_snapshot())
    if every:
        return list(conn.execute(query.order_by(links.source, links.source_asset_id)))
    found: dict[tuple[str, str], Row[Any]] = {}
    for start in range(0, max(len(symbols), len(keys)), IN_LIST_SIZE):
        where = sa.or_(
            links.symbol.in_(list(symbols[start : start + IN_LIST_SIZE])),
            sa.tuple_(links.source, links.source_asset_id).in_(list(keys[start : start + IN_LIST_SIZE])),
        )
        found.update({(r.source, r.source_asset_id): r for r in conn.execute(query.where(where))})
    return [found[key] for key in sorted(found)]


def with_newest_snapshot() -> sa.Join:
    """asset_sources LEFT JOIN each listing's newest snapshot: one probe of the observation key each."""
    links, snapshot = asset_sources.c, market_snapshots.c
    newest = (
        sa.select(sa.func.max(_newer.c.observed_at))
        .where(_newer.c.source == links.source, _newer.c.source_asset_id == links.source_asset_id)
        .scalar_subquery()
    )
    return asset_sources.outerjoin(
        market_snapshots,
        sa.and_(
            snapshot.source == links.source,
            snapshot.source_asset_id == links.source_asset_id,
            snapshot.observed_at == newest,
        ),
    )


@dataclass(frozen=True)
class Listing:
    """One source's listing of an asset, with its newest observation and why it is on this asset."""

    source: str
    source_asset_id: str
    price_usd: Decimal | None
    observed_at: datetime | None
    rule: str  # the identity rule that put it here: alias, id, name, prefix, supply; new, merge, split, ...
    evidence: list[str]  # the reasons, one line each


@dataclass(frozen=True)
class AssetView:
    """A canonical asset and the listings that feed it."""

    asset_id: int
    symbol: str
    name: str | None
    sources: list[Listing] = field(default_factory=list)
    divergence: Divergence | None = None  # see etl_cli/schema/divergence.py

    def as_dict(self) -> dict[str, Any]:
        """The asset and its listings as plain dicts, typed (Decimals and datetimes stay so)."""
        return {
            **_fields(self),
            "sources": [_fields(listing) for listing in self.sources],
            "divergence": asdict(self.divergence) if self.divergence else None,
        }

    def as_json(self) -> dict[str, Any]:
        """JSON-ready; prices are strings so that no digit is lost."""
        return {
            **self.as_dict(),
            "sources": [listing_json(listing) for listing in self.sources],
            "divergence": self.divergence.as_json() if self.divergence else None,
        }


def _fields(instance: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, values as they are (asdict() deep-copies each, costing far more)."""
    return {f.name: getattr(instance, f.name) for f in fields(instance)}


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
    """Every live canonical asset with its listings; `unmatched_only` keeps those fed by one source."""
    query = (
        sa.select(assets.c.asset_id, assets.c.symbol, assets.c.name)
        .where(assets.c.merged_into.is_(None))
        .order_by(assets.c.asset_id)
    )
    views = _views(list(conn.execute(query)), latest_listings(conn))
    if unmatched_only:
        views = [view for view in views if len({listing.source for listing in view.sources}) == 1]
    return views


def _views(rows: Sequence[Any], listing_rows: Sequence[Row[Any]]) -> list[AssetView]:
    listings: dict[int, list[Listing]] = {row.asset_id: [] for row in rows}
    for row in listing_rows:
        evidence = json.loads(row.evidence) if row.evidence else []
        listings[row.asset_id].append(
            Listing(row.source, row.source_asset_id, row.price_usd, row.observed_at, row.rule, evidence)
        )
    return [AssetView(row.asset_id, row.symbol, row.name, listings[row.asset_id]) for row in rows]


def listings_of(conn: Connection, source: str, source_asset_ids: Sequence[str]) -> list[Row[Any]]:
    """The (source_asset_id, symbol, name) of each of these ids that `source` has fed (asset_sources)."""
    links = asset_sources.c
    query = sa.select(links.source_asset_id, links.symbol, links.name).where(
        links.source == source, links.source_asset_id.in_(list(source_asset_ids))
    )
    return list(conn.execute(query)) if source_asset_ids else []


def requests_since(conn: Connection, source: str, since: datetime) -> int:
    """HTTP requests the ledger counts for `source` (every kind of run) started since `since`."""
    query = sa.select(sa.func.coalesce(sa.func.sum(etl_runs.c.http_requests), 0)).where(
        etl_runs.c.source == source, etl_runs.c.started_at >= since
    )
    return int(conn.scalar(query))


def runs_by_status(conn: Connection) -> list[Row[Any]]:
    """Per source, kind and status: how many ledger rows, and the snapshots they loaded (committed only)."""
    totals = etl_run_totals.c
    query = sa.select(totals.source, totals.kind, totals.status, totals.runs, totals.loaded).where(
        totals.runs > 0
    )
    return list(conn.execute(query))
