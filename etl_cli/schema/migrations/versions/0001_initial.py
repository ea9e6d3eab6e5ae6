"""Initial schema: run ledger, raw payloads, canonical assets, market snapshots, rejects, checkpoints.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Exact numbers are NUMERIC on PostgreSQL and TEXT on SQLite (which has no exact decimal type: a NUMERIC
column there would turn them into floats). Timestamps are timestamptz on PostgreSQL and ISO-8601 UTC text
on SQLite.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

EXACT = sa.Numeric().with_variant(sa.Text(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "etl_runs",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP),
        sa.Column("extracted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("loaded", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rejected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("http_requests", sa.Integer, nullable=False, server_default="0"),
        sa.Column("http_retries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        sa.Column("pid", sa.Integer),
        sa.Column("hostname", sa.String(255)),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed', 'abandoned')", name="ck_etl_runs_status"
        ),
    )
    op.create_index("ix_etl_runs_source_started_at", "etl_runs", ["source", "started_at"])

    op.create_table(
        "raw_payloads",
        sa.Column("payload_id", BIG_ID, primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("http_status", sa.Integer),  # NULL for files
        sa.Column("fetched_at", TIMESTAMP, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("etl_runs.run_id"), nullable=False),
        sa.UniqueConstraint("source", "url", "sha256", name="uq_raw_payloads_source_url_sha256"),
    )

    op.create_table(
        "assets",
        sa.Column("asset_id", sa.Integer, primary_key=True),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("origin_source", sa.String(32), nullable=False),
        sa.Column("origin_source_asset_id", sa.String(200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("origin_source", "origin_source_asset_id", name="uq_assets_origin"),
    )

    op.create_table(
        "asset_sources",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("source_asset_id", sa.String(200), primary_key=True),
        sa.Column("asset_id", sa.Integer, sa.ForeignKey("assets.asset_id"), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("first_seen_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_asset_sources_asset_id", "asset_sources", ["asset_id"])

    op.create_table(
        "market_snapshots",
        sa.Column("snapshot_id", BIG_ID, primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_asset_id", sa.String(200), nullable=False),
        sa.Column("asset_id", sa.Integer, sa.ForeignKey("assets.asset_id"), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("observed_at", TIMESTAMP, nullable=False),
        sa.Column("price_usd", EXACT, nullable=False),
        sa.Column("market_cap_usd", EXACT),
        sa.Column("volume_24h_usd", EXACT),
        sa.Column("market_cap_rank", sa.Integer),
        sa.Column("circulating_supply", EXACT),
        sa.Column("total_supply", EXACT),
        sa.Column("max_supply", EXACT),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("etl_runs.run_id"), nullable=False),
        sa.Column("payload_id", BIG_ID, sa.ForeignKey("raw_payloads.payload_id"), nullable=False),
        sa.Column("loaded_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint(
            "source", "source_asset_id", "observed_at", name="uq_market_snapshots_observation"
        ),
    )
    op.create_index(
        "ix_market_snapshots_asset_id_observed_at", "market_snapshots", ["asset_id", "observed_at"]
    )
    op.create_index("ix_market_snapshots_observed_at", "market_snapshots", ["observed_at"])
    op.create_index("ix_market_snapshots_symbol_observed_at", "market_snapshots", ["symbol", "observed_at"])
    op.create_index(
        "ix_market_snapshots_price_usd_snapshot_id", "market_snapshots", ["price_usd", "snapshot_id"]
    )

    op.create_table(
        "rejected_records",
        sa.Column("reject_id", BIG_ID, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("etl_runs.run_id"), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_asset_id", sa.String(200)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("fragment", sa.Text, nullable=False),
        sa.Column("payload_id", BIG_ID, sa.ForeignKey("raw_payloads.payload_id"), nullable=False),
        sa.Column("rejected_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_rejected_records_run_id", "rejected_records", ["run_id"])

    op.create_table(
        "source_checkpoints",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("last_run_id", sa.Integer, sa.ForeignKey("etl_runs.run_id")),
        sa.Column("last_success_at", TIMESTAMP),
        sa.Column("last_failure_at", TIMESTAMP),
        sa.Column("last_error", sa.Text),
        sa.Column("last_observed_at", TIMESTAMP),
        sa.Column("last_loaded_at", TIMESTAMP),
        sa.Column("state", sa.Text),
    )


def downgrade() -> None:
    for table in (
        "source_checkpoints",
        "rejected_records",
        "market_snapshots",
        "asset_sources",
        "assets",
        "raw_payloads",
        "etl_runs",
    ):
        op.drop_table(table)
