"""Marshmallow schemas of the answers: they write the OpenAPI document; small answers are dumped through them.

The list endpoints build their rows straight from typed query results (cheaper than a second pass through
marshmallow); a test validates every endpoint's real answer against the document these schemas produce.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

DIVERGENCE_PCT = "CRYPTOETL_DIVERGENCE_PCT"  # app.config key: the percent over which sources diverge


def _exact(description: str, *, allow_none: bool = True) -> fields.Decimal:
    # A JSON number with every stored digit (never rounded through a float).
    return fields.Decimal(
        required=True, allow_none=allow_none, metadata={"description": f"{description} (exact decimal)"}
    )


class ResponseSchema(ma.Schema):
    """Base of response schemas: documented as closed objects whose every field is always present."""

    class Meta:
        unknown = ma.RAISE  # apispec documents this as additionalProperties: false


class SnapshotSchema(ResponseSchema):
    """One row of market_snapshots: one observation of an asset by a source."""

    snapshot_id = fields.Integer(required=True)
    source = fields.String(required=True)
    source_asset_id = fields.String(required=True)
    asset_id = fields.Integer(required=True)
    symbol = fields.String(required=True)
    name = fields.String(required=True, allow_none=True)
    observed_at = fields.AwareDateTime(
        required=True, metadata={"description": "The source's time for it, UTC"}
    )
    price_usd = _exact("Price in USD", allow_none=False)
    market_cap_usd = _exact("Market capitalisation in USD")
    volume_24h_usd = _exact("Traded volume over 24 hours in USD")
    market_cap_rank = fields.Integer(required=True, allow_none=True)
    circulating_supply = _exact("Circulating supply")
    total_supply = _exact("Total supply")
    max_supply = _exact("Maximum supply")
    run_id = fields.Integer(required=True)
    payload_id = fields.Integer(required=True)
    loaded_at = fields.AwareDateTime(required=True)


class PaginationSchema(ResponseSchema):
    """Where this page sits."""

    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    count = fields.Integer(required=True, metadata={"description": "Rows in this page"})
    has_more = fields.Boolean(required=True)
    sort = fields.String(metadata={"description": "The order of the rows (/data only)"})
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "Cursor of the next page (/data only)"}
    )
    total = fields.Integer(
        metadata={"description": "Rows matching the filters, in all pages (only when `count` is given)"}
    )
    total_is_estimate = fields.Boolean(
        metadata={
            "description": "`total` is PostgreSQL's planner estimate (`count=estimated` on a large set)"
        }
    )


class LinksSchema(ResponseSchema):
    """Relative URLs; `next` is null on the last page."""

    self = fields.String(required=True)
    next = fields.String(required=True, allow_none=True)


class SnapshotPageSchema(ResponseSchema):
    """A page of /data."""

    data = fields.List(fields.Nested(SnapshotSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)
    links = fields.Nested(LinksSchema, required=True)


class ListingSchema(ResponseSchema):
    """An asset as one source lists it, with that source's newest snapshot."""

    source = fields.String(required=True)
    source_asset_id = fields.String(required=True)
    price_usd = _exact("Newest price in USD from this source")
    observed_at = fields.AwareDateTime(required=True, allow_none=True)
    rule = fields.String(
        required=True,
        metadata={
            "description": "Why this listing is on this asset: the identity rule that put it here (alias, "
            "id, name, prefix, supply), new (it created the asset), merge or split (a correction moved it), "
            "unrecorded (linked before rules were recorded)"
        },
    )
    evidence = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "The reasons, one line each: what agreed, what was set aside, what moved it"
        },
    )


class DivergenceSchema(ResponseSchema):
    """Sources whose newest prices of the asset, observed within the same hour, disagree too much."""

    sources = fields.List(
        fields.Nested(ListingSchema), required=True, metadata={"description": "The listings that disagree"}
    )
    low_usd = _exact("Lowest of their prices", allow_none=False)
    high_usd = _exact("Highest of their prices", allow_none=False)
    spread_pct = _exact("(high - low) / low, in percent, to 2 places", allow_none=False)


class AssetSchema(ResponseSchema):
    """A canonical asset and its latest snapshot from each source."""

    asset_id = fields.Integer(required=True)
    symbol = fields.String(required=True)
    name = fields.String(required=True, allow_none=True)
    sources = fields.List(fields.Nested(ListingSchema), required=True)
    divergence = fields.Nested(
        DivergenceSchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "Set when its sources' prices within an hour differ by more than "
            "CRYPTOETL_DIVERGENCE_PCT percent (default 2); else null"
        },
    )


class AssetPageSchema(ResponseSchema):
    """A page of /assets."""

    data = fields.List(fields.Nested(AssetSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)
    links = fields.Nested(LinksSchema, required=True)


class MovedAssetSchema(ResponseSchema):
    """The answer for an asset id that a merge retired: where its listings and history are now."""

    asset_id = fields.Integer(required=True, metadata={"description": "The retired id asked for"})
    merged_into = fields.Integer(required=True, metadata={"description": "The asset it was merged into"})
    location = fields.String(required=True, metadata={"description": "The same request for the survivor"})
    message = fields.String(required=True)


class AssetEnvelopeSchema(ResponseSchema):
    """One asset."""

    data = fields.Nested(AssetSchema, required=True)


class PointSchema(ResponseSchema):
    """One point of a series."""

    t = fields.AwareDateTime(
        required=True, metadata={"description": "Bucket start (the observation, if raw)"}
    )
    observed_at = fields.AwareDateTime(required=True, metadata={"description": "Time of the value shown"})
    price_usd = _exact("Price in USD", allow_none=False)
    market_cap_usd = _exact("Market capitalisation in USD")
    volume_24h_usd = _exact("Traded volume over 24 hours in USD")


class SeriesSchema(ResponseSchema):
    """One source's points, oldest first."""

    source = fields.String(required=True)
    truncated = fields.Boolean(required=True, metadata={"description": "Older points exist beyond `limit`"})
    points = fields.List(fields.Nested(PointSchema), required=True)


class HistorySchema(ResponseSchema):
    """An asset's time series, ready to plot."""

    asset_id = fields.Integer(required=True)
    symbol = fields.String(required=True)
    name = fields.String(required=True, allow_none=True)
    interval = fields.String(required=True)
    series = fields.List(fields.Nested(SeriesSchema), required=True)


class HistoryEnvelopeSchema(ResponseSchema):
    """An asset's history."""

    data = fields.Nested(HistorySchema, required=True)


class RunSchema(ResponseSchema):
    """One run of the ETL, from the ledger (etl_runs)."""

    run_id = fields.Integer(required=True)
    source = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "run, backfill or replay"})
    status = fields.String(required=True, metadata={"description": "running, succeeded, failed or abandoned"})
    started_at = fields.AwareDateTime(required=True)
    finished_at = fields.AwareDateTime(required=True, allow_none=True)
    duration_s = fields.Float(required=True, allow_none=True)
    extracted = fields.Integer(required=True)
    loaded = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    http_requests = fields.Integer(required=True)
    http_retries = fields.Integer(required=True)
    error = fields.String(required=True, allow_none=True)


class SourceStatsSchema(ResponseSchema):
    """How one source's pipeline is doing."""

    source = fields.String(required=True)
    state = fields.String(
        required=True,
        metadata={
            "description": "never_run; failing (the runs since the last success failed); or ok. "
            "Judged on runs only: backfills and replays do not count"
        },
    )
    last_run = fields.Nested(
        RunSchema, required=True, allow_none=True, metadata={"description": "The newest run (kind run)"}
    )
    last_backfill = fields.Nested(RunSchema, required=True, allow_none=True)
    last_success_at = fields.AwareDateTime(required=True, allow_none=True)
    last_failure_at = fields.AwareDateTime(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)
    runs_total = fields.Integer(required=True)
    records_loaded = fields.Integer(required=True, metadata={"description": "Snapshots loaded by its runs"})
    consecutive_failures = fields.Integer(required=True)
    newest_observed_at = fields.AwareDateTime(required=True, allow_none=True)
    freshness_lag_s = fields.Float(
        required=True, allow_none=True, metadata={"description": "Seconds from the newest observation to now"}
    )


class StatsSchema(ResponseSchema):
    """The pipeline's health per source, and its latest runs."""

    generated_at = fields.AwareDateTime(required=True)
    diverging_assets = fields.Integer(
        required=True,
        metadata={"description": "Assets whose sources disagree on price (see the assets' `divergence`)"},
    )
    sources = fields.List(fields.Nested(SourceStatsSchema), required=True)
    recent_runs = fields.List(fields.Nested(RunSchema), required=True)


class StatsEnvelopeSchema(ResponseSchema):
    """The answer of /stats."""

    data = fields.Nested(StatsSchema, required=True)


class DatabaseHealthSchema(ResponseSchema):
    """The database as the API sees it."""

    reachable = fields.Boolean(required=True)
    dialect = fields.String(required=True)
    latency_ms = fields.Float(required=True, metadata={"description": "Round trip of a trivial query"})
    schema_version = fields.String(required=True, metadata={"description": "Alembic revision"})


class HealthSchema(ResponseSchema):
    """The API is up and its database answers."""

    status = fields.String(required=True, metadata={"example": "ok"})
    database = fields.Nested(DatabaseHealthSchema, required=True)
    version = fields.String(required=True, metadata={"description": "cryptoetl version"})
    request_id = fields.String(required=True)
