"""Backfills: each ledger row says what kind of run it is; a backfill's progress is kept per coin and range.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

etl_runs.kind is 'run' (`cryptoetl run` and the scheduler), 'backfill' or 'replay'; every row already there
is a run. backfill_ranges holds each range of one coin's history that a backfill loaded, committed with its
rows, so a killed backfill resumes after its last completed range and a finished one fetches nothing again.
It stands apart from source_checkpoints, which describes the live runs that /stats and health judge.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
KINDS = "kind IN ('run', 'backfill', 'replay')"


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        # SQLite cannot add a constraint to a table, but a new column may carry its own CHECK (a batch
        # rebuild instead would drop etl_runs, which every other table references).
        op.execute(
            "ALTER TABLE etl_runs ADD COLUMN kind VARCHAR(16) DEFAULT 'run' NOT NULL "
            f"CONSTRAINT ck_etl_runs_kind CHECK ({KINDS})"
        )
    else:
        op.add_column("etl_runs", sa.Column("kind", sa.String(16), nullable=False, server_default="run"))
        op.create_check_constraint("ck_etl_runs_kind", "etl_runs", KINDS)

    op.create_table(
        "backfill_ranges",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("source_asset_id", sa.String(200), primary_key=True),
        sa.Column("granularity", sa.String(16), primary_key=True),
        sa.Column("range_start", TIMESTAMP, primary_key=True),
        sa.Column("range_end", TIMESTAMP, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("etl_runs.run_id"), nullable=False),
        sa.Column("completed_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("range_start < range_end", name="ck_backfill_ranges_order"),
    )


def downgrade() -> None:
    op.drop_table("backfill_ranges")
    if op.get_context().dialect.name != "sqlite":  # there the CHECK goes with its column
        op.drop_constraint("ck_etl_runs_kind", "etl_runs", type_="check")
    op.drop_column("etl_runs", "kind")
