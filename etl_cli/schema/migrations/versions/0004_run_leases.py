"""The ledger is the per-source lock: one `running` row per source, kept alive by its heartbeat.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

A run holds its source while its row is `running` and its heartbeat is fresh; every commit of the run checks,
in the same transaction, that the row is still `running`. A unique index on the source of `running` rows makes
two live runs of one source impossible whatever the code does. Rows left `running` twice by the lock-loss
defect this replaces are closed first (all but the newest of each source), or the index could not be built.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.add_column("etl_runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE etl_runs SET status = 'abandoned', finished_at = started_at, "
        "error = 'left running beside a newer run of its source (closed by migration 0004)' "
        "WHERE status = 'running' AND run_id < "
        "(SELECT max(newer.run_id) FROM etl_runs AS newer "
        "WHERE newer.source = etl_runs.source AND newer.status = 'running')"
    )
    op.create_index(
        "uq_etl_runs_running_source",
        "etl_runs",
        ["source"],
        unique=True,
        postgresql_where=RUNNING,
        sqlite_where=RUNNING,
    )


def downgrade() -> None:
    op.drop_index("uq_etl_runs_running_source", table_name="etl_runs")
    op.drop_column("etl_runs", "heartbeat_at")
