"""A PostgreSQL database shaped like a year of hourly runs, built in minutes: `python -m bench.dataset`.

The default shape holds 10.2M snapshots: 3,000 canonical assets; CoinGecko lists the first third of them and
CoinPaprika the first thirtieth every hour for a year, CSV files the other two thirds once a day (the day's
close); one run per source per hour (26,280 runs, 1% of them failed or abandoned, which leave no rows), one
raw payload per run. Prices run from 1e5 down to 1e-10 with 15 significant digits; a tenth of the assets have
no market cap and CSV rows no rank.

Every row goes in through the schema package's Table objects (insert().from_select over generate_series), into
the schema the migrations create. market_snapshots' secondary indexes are dropped for the insert and built
afterwards (one sorted build each is far faster than 10M inserts into each). The database is kept under a
name that says its shape and reused until asked to rebuild, since building it takes minutes.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from etl_cli.load.engine import open_database
from etl_cli.schema.tables import (
    asset_sources,
    assets,
    etl_runs,
    market_snapshots,
    raw_payloads,
    source_checkpoints,
)

ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
START = datetime(2025, 1, 1, tzinfo=UTC)
COMPLETE = "cryptoetl bench database, complete"  # its COMMENT once every step has committed


@dataclass(frozen=True)
class Shape:
    """How many assets, and how many hours of runs."""

    assets: int = 3000
    hours: int = 8760

    @property
    def database(self) -> str:
        """The bench database's name, which says its shape."""
        return f"cryptoetl_bench_{self.assets}a_{self.hours}h"

    def feeds(self) -> sa.Values:
        """Each source: its place in an hour's runs, the assets it lists, and whether hourly (else daily)."""
        columns = [sa.column(name, sa.Integer) for name in ("position", "first_asset", "last_asset")]
        return sa.values(
            sa.column("source", sa.String), *columns, sa.column("hourly", sa.Boolean), name="feeds"
        ).data(
            [
                ("coingecko", 0, 1, self.assets // 3, True),
                ("coinpaprika", 1, 1, max(self.assets // 30, 1), True),
                ("csv", 2, self.assets // 3 + 1, self.assets, False),
            ]
        )


def database_url(admin_url: str, shape: Shape) -> str:
    """The bench database's URL on the server of `admin_url`."""
    return sa.make_url(admin_url).set(database=shape.database).render_as_string(hide_password=False)


def ensure(admin_url: str, shape: Shape, rebuild: bool = False) -> str:
    """Return the URL of the bench database of this shape, building it unless a complete one exists."""
    url = database_url(admin_url, shape)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            comment = conn.scalar(
                sa.text(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :name"
                ),
                {"name": shape.database},
            )
            if comment == COMPLETE and not rebuild:
                open_database(url).dispose()  # a database built before a new migration gets it now
                print(f"reusing {shape.database} (--rebuild to build it again)")
                return url
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{shape.database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{shape.database}"')
        build(url, shape)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"COMMENT ON DATABASE \"{shape.database}\" IS '{COMPLETE}'")
    finally:
        admin.dispose()
    return url


def build(url: str, shape: Shape) -> None:
    """Migrate the empty database, fill it set-based, then index and analyze it."""
    started = time.monotonic()
    engine = open_database(url)
    try:
        with engine.begin() as conn:
            conn.execute(etl_runs.insert().from_select(*_runs(shape)))
            conn.execute(raw_payloads.insert().from_select(*_payloads()))
            conn.execute(assets.insert().from_select(*_assets(shape)))
            conn.execute(asset_sources.insert().from_select(*_listings(shape)))
            conn.execute(source_checkpoints.insert().from_select(*_checkpoints(shape)))
            for table, column in ((etl_runs, "run_id"), (raw_payloads, "payload_id"), (assets, "asset_id")):
                conn.execute(
                    sa.select(
                        sa.func.setval(
                            sa.func.pg_get_serial_sequence(table.name, column), sa.func.max(table.c[column])
                        )
                    )
                )
        _fill_snapshots(engine, shape)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            rows = conn.scalar(sa.select(sa.func.count()).select_from(market_snapshots))
    finally:
        engine.dispose()
    print(f"built {shape.database}: {rows:,} snapshots in {time.monotonic() - started:.0f} s")


def _fill_snapshots(engine: Engine, shape: Shape, months: int = 12) -> None:
    """Insert the snapshots a month at a time, without the secondary indexes, then build those."""
    indexes = sorted(market_snapshots.indexes, key=lambda index: index.name)
    unique = [c for c in market_snapshots.constraints if isinstance(c, sa.UniqueConstraint)]
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
        for constraint in unique:
            conn.execute(sa.schema.DropConstraint(constraint))
    step = -(-shape.hours // months)
    for first in range(0, shape.hours, step):
        began = time.monotonic()
        with engine.begin() as conn:
            # Rows reference runs, payloads and assets that exist by construction: skip the per-row checks.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
            count = conn.execute(
                market_snapshots.insert().from_select(*_snapshots(shape, first, first + step))
            ).rowcount
        hours = f"{first}..{min(first + step, shape.hours) - 1}"
        print(f"  snapshots of hours {hours}: {count:,} in {time.monotonic() - began:.0f} s")
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
        for constraint in unique:
            _timed(conn, constraint.name, sa.schema.AddConstraint(constraint))
        for index in indexes:
            _timed(conn, index.name, sa.schema.CreateIndex(index))


def _timed(conn: Connection, name: str | None, statement: sa.schema.ExecutableDDLElement) -> None:
    began = time.monotonic()
    conn.execute(statement)
    print(f"  {name}: {time.monotonic() - began:.0f} s")


def _hours(first: int, last: int) -> sa.TableValuedAlias:
    return sa.func.generate_series(first, last).table_valued("value").render_derived("hours")


def _at(seconds: sa.ColumnElement[int]) -> sa.ColumnElement[datetime]:
    """The time `seconds` after START."""
    return sa.func.to_timestamp(START.timestamp() + seconds)


def _runs(shape: Shape) -> tuple[list[str], sa.Select]:
    """One run per source per hour; about 1% failed or abandoned, which loaded nothing."""
    feeds, hour = shape.feeds(), _hours(0, shape.hours - 1)
    run_id = hour.c.value * 3 + feeds.c.position + 1
    status = sa.case((run_id % 997 == 0, "abandoned"), (run_id % 89 == 0, "failed"), else_="succeeded")
    listed = feeds.c.last_asset - feeds.c.first_asset + 1
    due = sa.or_(feeds.c.hourly, hour.c.value % 24 == 23)
    loaded = sa.case((sa.and_(status == "succeeded", due), listed), else_=0)
    started = hour.c.value * 3600 + feeds.c.position * 20
    values = {
        "run_id": run_id,
        "source": feeds.c.source,
        "status": status,
        "started_at": _at(started),
        "finished_at": _at(started + 15),
        "extracted": loaded,
        "loaded": loaded,
        "http_requests": sa.case((feeds.c.source == "csv", 0), else_=1),
        "error": sa.case((status != "succeeded", "bench: this run failed"), else_=None),
    }
    return _from(values, sa.select().select_from(hour).join(feeds, sa.true()))


def _payloads() -> tuple[list[str], sa.Select]:
    """One raw payload per run."""
    run = etl_runs.c
    digest = sa.func.md5(sa.cast(run.run_id, sa.Text), type_=sa.Text)
    values = {
        "payload_id": run.run_id,
        "source": run.source,
        "url": "bench://" + run.source + "/" + sa.cast(run.run_id, sa.Text),
        "http_status": sa.case((run.source == "csv", None), else_=200),
        "fetched_at": run.started_at,
        "sha256": digest + digest,
        "body": sa.literal(b"[]"),
        "run_id": run.run_id,
    }
    return _from(values, sa.select())


def _assets(shape: Shape) -> tuple[list[str], sa.Select]:
    """The canonical assets, each created by the first source that lists it."""
    number = _hours(1, shape.assets).c.value
    coingecko = number <= shape.assets // 3
    values = {
        "asset_id": number,
        "symbol": "S" + sa.cast(number, sa.Text),
        "name": "Asset " + sa.cast(number, sa.Text),
        "origin_source": sa.case((coingecko, "coingecko"), else_="csv"),
        "origin_source_asset_id": _source_asset_id(sa.case((coingecko, "coingecko"), else_="csv"), number),
        "created_at": sa.literal(START),
    }
    return _from(values, sa.select())


def _source_asset_id(source: sa.ColumnElement[str], asset_id: sa.ColumnElement[int]) -> sa.ColumnElement[str]:
    number = sa.cast(asset_id, sa.Text)
    return sa.case(
        (source == "coingecko", "coin-" + number),
        (source == "coinpaprika", "s" + number + "-coin-" + number),
        else_="s" + number + "-asset-" + number,
    )


def _listings(shape: Shape) -> tuple[list[str], sa.Select]:
    """Each source's listings of the assets it feeds."""
    feeds = shape.feeds()
    values = {
        "source": feeds.c.source,
        "source_asset_id": _source_asset_id(feeds.c.source, assets.c.asset_id),
        "asset_id": assets.c.asset_id,
        "symbol": assets.c.symbol,
        "name": assets.c.name,
        "first_seen_at": assets.c.created_at,
    }
    listed = assets.c.asset_id.between(feeds.c.first_asset, feeds.c.last_asset)
    return _from(values, sa.select().select_from(assets).join(feeds, listed))


def _snapshots(shape: Shape, first: int, stop: int) -> tuple[list[str], sa.Select]:
    """The observations of hours [first, stop) by every successful run, in the order runs would load them."""
    feeds, hour, link = shape.feeds(), _hours(first, min(stop, shape.hours) - 1), asset_sources.c
    run = etl_runs.c
    asset = sa.cast(link.asset_id, sa.Float)
    base = sa.func.power(10.0, 5 - 15 * (asset - 1) / max(shape.assets - 1, 1))
    price = base * (1 + 0.1 * sa.func.sin(hour.c.value / 50.0 + asset) + 0.001 * feeds.c.position)
    supply = sa.cast(1_000_000 * (link.asset_id % 97 + 1), sa.Numeric)
    uncapped = link.asset_id % 10 == 0
    values = {
        "source": link.source,
        "source_asset_id": link.source_asset_id,
        "asset_id": link.asset_id,
        "symbol": link.symbol,
        "name": link.name,
        # CoinGecko stamps each coin a few seconds apart; a CSV day is its close, 23:59:59.
        "observed_at": _at(hour.c.value * 3600 + sa.case((feeds.c.hourly, link.asset_id % 60), else_=3599)),
        # float8 to numeric keeps 15 significant digits.
        "price_usd": sa.cast(price, sa.Numeric),
        "market_cap_usd": sa.case(
            (uncapped, None), else_=sa.func.round(sa.cast(price, sa.Numeric) * supply, 2)
        ),
        "volume_24h_usd": sa.func.round(
            sa.cast(price, sa.Numeric) * supply * sa.literal(0.03, sa.Numeric), 2
        ),
        "market_cap_rank": sa.case((link.source == "csv", None), else_=link.asset_id),
        "circulating_supply": supply,
        "total_supply": supply,
        "max_supply": sa.case((link.asset_id % 3 == 0, supply * 2), else_=None),
        "run_id": run.run_id,
        "payload_id": run.run_id,
        "loaded_at": run.finished_at,
    }
    source = (
        sa.select()
        .select_from(asset_sources)
        .join(feeds, feeds.c.source == link.source)
        .join(hour, sa.or_(feeds.c.hourly, hour.c.value % 24 == 23))
        .join(
            etl_runs,
            sa.and_(run.run_id == hour.c.value * 3 + feeds.c.position + 1, run.status == "succeeded"),
        )
        .order_by(hour.c.value, feeds.c.position, link.asset_id)
    )
    return _from(values, source)


def _checkpoints(shape: Shape) -> tuple[list[str], sa.Select]:
    """Each source's checkpoint, as its last runs left it."""
    run = etl_runs.c
    succeeded = run.status == "succeeded"
    values = {
        "source": run.source,
        "last_run_id": sa.func.max(run.run_id),
        "last_success_at": sa.func.max(sa.case((succeeded, run.finished_at))),
        "last_failure_at": sa.func.max(sa.case((~succeeded, run.finished_at))),
        "last_observed_at": _at(sa.literal(shape.hours * 3600 - 1)),
        "last_loaded_at": sa.func.max(sa.case((succeeded, run.finished_at))),
    }
    return _from(values, sa.select().group_by(run.source))


def _from(values: dict[str, sa.ColumnElement], source: sa.Select) -> tuple[list[str], sa.Select]:
    """(columns, SELECT of their values) for insert().from_select."""
    return list(values), source.add_columns(*values.values())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL database to connect to first")
    parser.add_argument("--assets", type=int, default=Shape.assets)
    parser.add_argument("--hours", type=int, default=Shape.hours)
    parser.add_argument("--rebuild", action="store_true", help="build the database again even if it exists")
    args = parser.parse_args()
    print(ensure(args.admin_url, Shape(args.assets, args.hours), rebuild=args.rebuild))


if __name__ == "__main__":
    main()
