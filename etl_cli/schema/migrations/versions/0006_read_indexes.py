"""Indexes for the read side at ten million rows: /data by time, market cap or rank, history, and /stats.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

/data's default order, newest first with ties by snapshot_id, is now the order of one index: on observed_at
alone, a page at a time shared by thousands of rows (a day's CSV close) sorted all of them. The market-cap and
rank indexes serve their sorts in both directions: /data reads the rows that have a value, then those that
have none, each part in index order (see api/queries.py). On PostgreSQL the (asset_id, observed_at) index
carries what an asset's history shows, so a year of it is read from the index, not from a table page per
observation (rows are stored in the order runs load them, every asset's hour together). The etl_runs indexes
serve /stats per source and kind of row: the newest run and the newest success are ends of index ranges,
failures since that success a short range.

On a large market_snapshots each index takes a while to build and holds writes (not reads) until it is done.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

HISTORY = ["source", "snapshot_id", "price_usd", "market_cap_usd", "volume_24h_usd"]
NEW = [
    ("market_snapshots", "ix_market_snapshots_observed_at_snapshot_id", ["observed_at", "snapshot_id"]),
    ("market_snapshots", "ix_market_snapshots_market_cap_usd_snapshot_id", ["market_cap_usd", "snapshot_id"]),
    (
        "market_snapshots",
        "ix_market_snapshots_market_cap_rank_snapshot_id",
        ["market_cap_rank", "snapshot_id"],
    ),
    ("etl_runs", "ix_etl_runs_source_kind_run_id", ["source", "kind", "run_id"]),
    ("etl_runs", "ix_etl_runs_source_kind_status_run_id", ["source", "kind", "status", "run_id"]),
]


def upgrade() -> None:
    for table, name, columns in NEW:
        op.create_index(name, table, columns)
    op.drop_index("ix_market_snapshots_observed_at", table_name="market_snapshots")
    op.drop_index("ix_market_snapshots_asset_id_observed_at", table_name="market_snapshots")
    op.create_index(
        "ix_market_snapshots_asset_id_observed_at",
        "market_snapshots",
        ["asset_id", "observed_at"],
        postgresql_include=HISTORY,
    )


def downgrade() -> None:
    op.drop_index("ix_market_snapshots_asset_id_observed_at", table_name="market_snapshots")
    op.create_index(
        "ix_market_snapshots_asset_id_observed_at", "market_snapshots", ["asset_id", "observed_at"]
    )
    op.create_index("ix_market_snapshots_observed_at", "market_snapshots", ["observed_at"])
    for table, name, _columns in NEW:
        op.drop_index(name, table_name=table)
