"""Identity evidence and corrections: why each listing is on its asset, merges and splits after the fact.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

Links made before this revision keep `unrecorded` as their rule, but for the listing that created its asset,
which is `new`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    # No foreign key: SQLite cannot add one to an existing table without rebuilding it.
    op.add_column("assets", sa.Column("merged_into", sa.Integer))
    op.add_column(
        "asset_sources", sa.Column("rule", sa.String(16), nullable=False, server_default="unrecorded")
    )
    op.add_column("asset_sources", sa.Column("evidence", sa.Text))
    op.execute(
        "UPDATE asset_sources SET rule = 'new' WHERE EXISTS (SELECT 1 FROM assets"
        " WHERE assets.asset_id = asset_sources.asset_id AND assets.origin_source = asset_sources.source"
        " AND assets.origin_source_asset_id = asset_sources.source_asset_id)"
    )
    op.create_table(
        "asset_corrections",
        sa.Column("correction_id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("from_asset_id", sa.Integer, sa.ForeignKey("assets.asset_id"), nullable=False),
        sa.Column("to_asset_id", sa.Integer, sa.ForeignKey("assets.asset_id"), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("links", sa.Text, nullable=False),
        sa.Column("corrected_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("kind IN ('merge', 'split')", name="ck_asset_corrections_kind"),
    )


def downgrade() -> None:
    op.drop_table("asset_corrections")
    with op.batch_alter_table("asset_sources") as batch:
        batch.drop_column("evidence")
        batch.drop_column("rule")
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("merged_into")
