from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from etl_cli.schema.revisions import alembic_config, current_revision, head_revision, upgrade
from etl_cli.schema.tables import assets, etl_runs, market_snapshots, metadata, raw_payloads


def test_core_tables_match_the_migrated_schema(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_indexes_carry_the_columns_the_tables_declare(engine):
    # compare_metadata does not look at an index's INCLUDE columns (PostgreSQL only); this does.
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        reflected = {ix["name"]: ix.get("dialect_options", {}) for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            declared = index.dialect_options["postgresql"]["include"] or []
            if engine.dialect.name == "postgresql":
                assert reflected[index.name].get("postgresql_include", []) == declared, index.name
            else:
                assert index.name in reflected


def test_head_revision_read_from_the_scripts_is_alembics():
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_upgrade_is_idempotent_and_reaches_head(engine):
    assert upgrade(engine) == head_revision()
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()


EXACT_VALUES = [
    Decimal("96114.08481738689"),
    Decimal("4.461282308207794E-7"),
    Decimal("0.000012345678"),
    Decimal("1.234e-08"),
    Decimal("141737141514.8817"),
    Decimal("986061142857000.0"),
    Decimal("0.0"),
    Decimal("123456789012345678901234567.123456789012345678901234567"),
]


@pytest.fixture
def snapshot_row(engine):
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(etl_runs).values(run_id=1, source="test", status="running", started_at=now))
        conn.execute(
            sa.insert(raw_payloads).values(
                payload_id=1,
                source="test",
                url="u",
                http_status=200,
                fetched_at=now,
                sha256="h",
                body=b"[]",
                run_id=1,
            )
        )
        conn.execute(
            sa.insert(assets).values(
                asset_id=1, symbol="X", origin_source="test", origin_source_asset_id="x", created_at=now
            )
        )

    def row(**values):
        base = {
            "source": "test",
            "source_asset_id": "x",
            "asset_id": 1,
            "symbol": "X",
            "observed_at": datetime(2025, 2, 9, 17, 44, 4, 143000, tzinfo=UTC),
            "price_usd": Decimal("1"),
            "run_id": 1,
            "payload_id": 1,
            "loaded_at": datetime.now(UTC),
        }
        return {**base, **values}

    return row


@pytest.mark.parametrize("value", EXACT_VALUES, ids=str)
def test_decimals_round_trip_digit_for_digit(engine, snapshot_row, value):
    with engine.begin() as conn:
        conn.execute(sa.insert(market_snapshots), [snapshot_row(price_usd=value)])
    with engine.connect() as conn:
        stored = conn.scalar(sa.select(market_snapshots.c.price_usd))
    assert stored == value
    assert isinstance(stored, Decimal)
    assert format(stored, "f").rstrip("0").rstrip(".") == format(value, "f").rstrip("0").rstrip(".")


def test_timestamps_come_back_aware_utc(engine, snapshot_row):
    paris = timezone(timedelta(hours=1))
    observed = datetime(2025, 2, 9, 18, 44, 4, 143000, tzinfo=paris)
    with engine.begin() as conn:
        conn.execute(sa.insert(market_snapshots), [snapshot_row(observed_at=observed)])
    with engine.connect() as conn:
        stored = conn.scalar(sa.select(market_snapshots.c.observed_at))
    assert stored == datetime(2025, 2, 9, 17, 44, 4, 143000, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"price_usd": 0.1}, "exact columns take Decimal, not float"),
        ({"observed_at": datetime(2025, 1, 1)}, "timestamps must be timezone-aware"),
    ],
)
def test_floats_and_naive_datetimes_are_refused(engine, snapshot_row, values, error):
    with pytest.raises(sa.exc.StatementError, match=error), engine.begin() as conn:
        conn.execute(sa.insert(market_snapshots), [snapshot_row(**values)])


def test_negative_zero_is_stored_as_zero(engine, snapshot_row):
    with engine.begin() as conn:
        conn.execute(sa.insert(market_snapshots), [snapshot_row(price_usd=Decimal("-0.0"))])
    with engine.connect() as conn:
        assert str(conn.scalar(sa.select(market_snapshots.c.price_usd))) == "0.0"
