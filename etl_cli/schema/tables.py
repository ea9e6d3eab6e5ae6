"""Core Table objects mirroring what etl_cli/schema/migrations creates (a test keeps them in step)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from etl_cli.schema.types import ExactDecimal, StorableText, UtcDateTime

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

etl_runs = Table(
    "etl_runs",
    metadata,
    Column("run_id", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("extracted", Integer, nullable=False, server_default="0"),
    Column("loaded", Integer, nullable=False, server_default="0"),
    Column("skipped", Integer, nullable=False, server_default="0"),
    Column("rejected", Integer, nullable=False, server_default="0"),
    Column("http_requests", Integer, nullable=False, server_default="0"),
    Column("http_retries", Integer, nullable=False, server_default="0"),
    Column("error", StorableText),
    Column("pid", Integer),
    Column("hostname", String(255)),
    # 'run' (`cryptoetl run`, the scheduler), 'backfill' or 'replay': only runs say how the schedule is doing.
    Column("kind", String(16), nullable=False, server_default="run"),
    # A `running` row is its source's lease while this is fresh (etl_cli/load/locks.py).
    Column("heartbeat_at", UtcDateTime),
    CheckConstraint("status IN ('running', 'succeeded', 'failed', 'abandoned')", name="ck_etl_runs_status"),
    CheckConstraint("kind IN ('run', 'backfill', 'replay')", name="ck_etl_runs_kind"),
    Index("ix_etl_runs_source_started_at", "source", "started_at"),
    # One running run per source, whatever the code does.
    Index(
        "uq_etl_runs_running_source",
        "source",
        unique=True,
        postgresql_where=text("status = 'running'"),
        sqlite_where=text("status = 'running'"),
    ),
    # /stats per source and kind: the newest run, the newest success and the failures since, from indexes.
    Index("ix_etl_runs_source_kind_run_id", "source", "kind", "run_id"),
    Index("ix_etl_runs_source_kind_status_run_id", "source", "kind", "status", "run_id"),
)

# Per source, kind and status: how many ledger rows, and the records they loaded. Kept by triggers on etl_runs
# (migration 0007), whoever writes the ledger, so /stats and /metrics read a few rows however long it grows.
etl_run_totals = Table(
    "etl_run_totals",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("runs", BigInteger, nullable=False),
    Column("loaded", BigInteger, nullable=False),
)

raw_payloads = Table(
    "raw_payloads",
    metadata,
    Column("payload_id", BigId, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("http_status", Integer),  # NULL for files
    Column("fetched_at", UtcDateTime, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("run_id", Integer, ForeignKey("etl_runs.run_id"), nullable=False),
    UniqueConstraint("source", "url", "sha256", name="uq_raw_payloads_source_url_sha256"),
)

# Where each stored CSV chunk was read in its file: a body shared by two chunks has a row for each.
payload_chunks = Table(
    "payload_chunks",
    metadata,
    Column("payload_id", BigId, ForeignKey("raw_payloads.payload_id"), primary_key=True),
    Column("first_line", Integer, primary_key=True),
    Column("long_lines", Text),  # JSON: [{"number", "size", "head" (base64)}] of lines over the size limit
    Column("run_id", Integer, ForeignKey("etl_runs.run_id"), nullable=False),
)

assets = Table(
    "assets",
    metadata,
    Column("asset_id", Integer, primary_key=True),
    Column("symbol", String(64), nullable=False),
    Column("name", Text),
    # The source record that first showed this asset: its provenance, and the key that lets new assets be
    # created in one multi-row INSERT and read back by value instead of one RETURNING per row.
    Column("origin_source", String(32), nullable=False),
    Column("origin_source_asset_id", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Set when a correction merged this asset into another: the API points a retired id at its survivor.
    # (No foreign key: SQLite cannot add one to an existing table without rebuilding it.)
    Column("merged_into", Integer),
    UniqueConstraint("origin_source", "origin_source_asset_id", name="uq_assets_origin"),
)

asset_sources = Table(
    "asset_sources",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("source_asset_id", String(200), primary_key=True),
    Column("asset_id", Integer, ForeignKey("assets.asset_id"), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("name", Text),
    Column("first_seen_at", UtcDateTime, nullable=False),
    # Why this listing is on its asset: the identity rule that placed it (alias, id, name, prefix, supply),
    # `new` when it made its own asset, `merge`/`split` when a correction moved it; `evidence` is a JSON
    # list of the reasons, one line each.
    Column("rule", String(16), nullable=False, server_default="unrecorded"),
    Column("evidence", Text),
    Index("ix_asset_sources_asset_id", "asset_id"),
)

# Every identity correction after the fact: a merge retires `from_asset_id` into `to_asset_id`; a split
# moves some listings of `from_asset_id` to `to_asset_id`. `links`: the moved listings as they were (JSON).
asset_corrections = Table(
    "asset_corrections",
    metadata,
    Column("correction_id", Integer, primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("from_asset_id", Integer, ForeignKey("assets.asset_id"), nullable=False),
    Column("to_asset_id", Integer, ForeignKey("assets.asset_id"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("links", Text, nullable=False),
    Column("corrected_at", UtcDateTime, nullable=False),
    CheckConstraint("kind IN ('merge', 'split')", name="ck_asset_corrections_kind"),
)

market_snapshots = Table(
    "market_snapshots",
    metadata,
    Column("snapshot_id", BigId, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("source_asset_id", String(200), nullable=False),
    Column("asset_id", Integer, ForeignKey("assets.asset_id"), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("name", Text),
    Column("observed_at", UtcDateTime, nullable=False),
    Column("price_usd", ExactDecimal, nullable=False),
    Column("market_cap_usd", ExactDecimal),
    Column("volume_24h_usd", ExactDecimal),
    Column("market_cap_rank", Integer),
    Column("circulating_supply", ExactDecimal),
    Column("total_supply", ExactDecimal),
    Column("max_supply", ExactDecimal),
    Column("run_id", Integer, ForeignKey("etl_runs.run_id"), nullable=False),
    Column("payload_id", BigId, ForeignKey("raw_payloads.payload_id"), nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
    UniqueConstraint("source", "source_asset_id", "observed_at", name="uq_market_snapshots_observation"),
    # An asset's history; on PostgreSQL it carries what the history shows, so no table page is read.
    Index(
        "ix_market_snapshots_asset_id_observed_at",
        "asset_id",
        "observed_at",
        postgresql_include=["source", "snapshot_id", "price_usd", "market_cap_usd", "volume_24h_usd"],
    ),
    # /data's default order (newest first, ties by snapshot_id) and its time windows.
    Index("ix_market_snapshots_observed_at_snapshot_id", "observed_at", "snapshot_id"),
    # The API's symbol filter (newest first) and its price-sorted keyset paging.
    Index("ix_market_snapshots_symbol_observed_at", "symbol", "observed_at"),
    Index("ix_market_snapshots_price_usd_snapshot_id", "price_usd", "snapshot_id"),
    # Its market-cap and rank sorts, both directions (the NULLs, last either way, are read as a part apart).
    Index("ix_market_snapshots_market_cap_usd_snapshot_id", "market_cap_usd", "snapshot_id"),
    Index("ix_market_snapshots_market_cap_rank_snapshot_id", "market_cap_rank", "snapshot_id"),
)

rejected_records = Table(
    "rejected_records",
    metadata,
    Column("reject_id", BigId, primary_key=True),
    Column("run_id", Integer, ForeignKey("etl_runs.run_id"), nullable=False),
    Column("source", String(32), nullable=False),
    Column("source_asset_id", String(200)),
    Column("reason", StorableText, nullable=False),
    Column("fragment", StorableText, nullable=False),
    Column("payload_id", BigId, ForeignKey("raw_payloads.payload_id"), nullable=False),
    Column("rejected_at", UtcDateTime, nullable=False),
    Index("ix_rejected_records_run_id", "run_id"),
)

source_checkpoints = Table(
    "source_checkpoints",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("last_run_id", Integer, ForeignKey("etl_runs.run_id")),
    Column("last_success_at", UtcDateTime),
    Column("last_failure_at", UtcDateTime),
    Column("last_error", StorableText),
    Column("last_observed_at", UtcDateTime),
    # Set in every transaction that adds rows (each CSV chunk too): what the API's ETag follows.
    Column("last_loaded_at", UtcDateTime),
    Column("state", Text),  # JSON, for sources that resume mid-stream (per-file CSV progress)
)

backfill_ranges = Table(
    "backfill_ranges",
    metadata,
    # One range of one coin's history that a backfill loaded, committed with its rows: what it resumes after.
    Column("source", String(32), primary_key=True),
    Column("source_asset_id", String(200), primary_key=True),
    Column("granularity", String(16), primary_key=True),
    Column("range_start", UtcDateTime, primary_key=True),
    Column("range_end", UtcDateTime, primary_key=True),
    Column("run_id", Integer, ForeignKey("etl_runs.run_id"), nullable=False),
    Column("completed_at", UtcDateTime, nullable=False),
    CheckConstraint("range_start < range_end", name="ck_backfill_ranges_order"),
)
