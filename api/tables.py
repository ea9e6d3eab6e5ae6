"""The tables the API reads: the schema contract of sql/ (etl_cli.schema), plus Alembic's version table.

Types there return exact Decimals and aware UTC datetimes on both databases; tables may gain columns, and the
API only ever names the ones it needs.
"""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table

from etl_cli.schema.tables import (
    asset_sources,
    assets,
    etl_runs,
    market_snapshots,
    source_checkpoints,
)

__all__ = ["alembic_version", "asset_sources", "assets", "etl_runs", "market_snapshots", "source_checkpoints"]

# Alembic's own table; kept out of the schema's metadata, which must describe only cryptoetl's tables.
alembic_version = Table("alembic_version", MetaData(), Column("version_num", String(32), primary_key=True))
