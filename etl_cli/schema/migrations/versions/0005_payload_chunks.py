"""Where each stored CSV chunk sits in its file, so a replay re-transforms it exactly.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

raw_payloads keeps one row per distinct body (two chunks of a file with the same bytes share it); a chunk's
rejects name their file's line numbers, and its over-long lines are not in the body. payload_chunks keeps,
for every place a stored chunk was read from, its first data line and those long lines (JSON), with the run
that read it there.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payload_chunks",
        sa.Column("payload_id", BIG_ID, sa.ForeignKey("raw_payloads.payload_id"), primary_key=True),
        sa.Column("first_line", sa.Integer, primary_key=True),
        sa.Column("long_lines", sa.Text),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("etl_runs.run_id"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payload_chunks")
