"""The columns the API reads, with types that return exact Decimals and aware UTC datetimes on both databases.

A read-only mirror of part of sql/migrations (the schema contract): the API image does not ship etl_cli.load.
Tables may gain columns; the API only ever names the ones below.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Numeric, String, Table, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC on PostgreSQL; on SQLite the digits as TEXT in positional notation (as the ETL writes them)."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Pick the storage type per database."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        """Bind a Decimal (a cursor value) exactly: positional text on SQLite."""
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"exact columns take Decimal, not {type(value).__name__}")
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Return a Decimal whatever the storage."""
        return None if value is None else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes; timestamptz on PostgreSQL, naive UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Bind an aware datetime as UTC (naive UTC on SQLite, where it compares as text)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

alembic_version = Table("alembic_version", metadata, Column("version_num", String(32), primary_key=True))

etl_runs = Table(
    "etl_runs",
    metadata,
    Column("run_id", Integer, primary_key=True),
    Column("source", String(32)),
    Column("status", String(16)),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("extracted", Integer),
    Column("loaded", Integer),
    Column("skipped", Integer),
    Column("rejected", Integer),
    Column("http_requests", Integer),
    Column("http_retries", Integer),
    Column("error", Text),
)

assets = Table(
    "assets",
    metadata,
    Column("asset_id", Integer, primary_key=True),
    Column("symbol", String(64)),
    Column("name", Text),
)

asset_sources = Table(
    "asset_sources",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("source_asset_id", String(200), primary_key=True),
    Column("asset_id", Integer),
)

market_snapshots = Table(
    "market_snapshots",
    metadata,
    Column("snapshot_id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("source", String(32)),
    Column("source_asset_id", String(200)),
    Column("asset_id", Integer),
    Column("symbol", String(64)),
    Column("name", Text),
    Column("observed_at", UtcDateTime),
    Column("price_usd", ExactDecimal),
    Column("market_cap_usd", ExactDecimal),
    Column("volume_24h_usd", ExactDecimal),
    Column("market_cap_rank", Integer),
    Column("circulating_supply", ExactDecimal),
    Column("total_supply", ExactDecimal),
    Column("max_supply", ExactDecimal),
    Column("run_id", Integer),
    Column("payload_id", BigInteger().with_variant(Integer(), "sqlite")),
    Column("loaded_at", UtcDateTime),
)

source_checkpoints = Table(
    "source_checkpoints",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("last_run_id", Integer),
    Column("last_success_at", UtcDateTime),
    Column("last_failure_at", UtcDateTime),
    Column("last_error", Text),
    Column("last_observed_at", UtcDateTime),
)

# The public columns of a snapshot, in the order /data returns them.
SNAPSHOT_COLUMNS = tuple(column.name for column in market_snapshots.columns)
