"""Measure the ETL on both databases: the quick start (replayed CoinGecko), its re-run, CSV throughput.

Usage: python bench/etl_load.py [--rows 200000] [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432/postgres]
Prints one line per measurement. Creates and drops its own PostgreSQL database and temporary SQLite file.
With --figures, prints instead issue 12's CSV figures (csv_figures(), which `python -m bench` shows too):
`cryptoetl run --source csv` as a user runs it, each load in its own process, beside its ceiling or peer.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from throwaway import postgres_database

from etl_cli.config import Settings
from etl_cli.load.engine import create_engine, open_database
from etl_cli.load.snapshots import OBSERVATION_KEY
from etl_cli.pipeline import run_named
from etl_cli.schema.tables import assets, etl_runs, market_snapshots, raw_payloads

ROOT = Path(__file__).resolve().parents[1]


def write_csv(path: Path, rows: int) -> None:
    """A generic-layout CSV: 100 coins, one observation per coin per minute."""
    with path.open("w") as handle:
        handle.write("symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n")
        for i in range(rows):
            coin, minute = i % 100, i // 100
            handle.write(
                f"C{coin},Coin {coin},{1 + coin}.{minute % 1000:03d}123456789,{coin}000000.5,{minute}.25,"
                f"2024-01-01T00:00:00Z\n".replace(
                    "00:00:00", f"{minute // 60 % 24:02d}:{minute % 60:02d}:00"
                ).replace("2024-01-01", f"2024-{1 + minute // 1440 % 12:02d}-{1 + minute // 17280 % 28:02d}")
            )


ISSUE_ASSETS = 2000
ISSUE_START = datetime(2024, 1, 1, tzinfo=UTC)


def write_issue_csv(path: Path, rows: int) -> None:
    """Issue 12's generic-layout CSV: 2,000 assets hourly, prices 1e-10..1e5 with 15 significant digits."""
    draw = random.Random(12)
    with path.open("w") as handle:
        handle.write("symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n")
        for i in range(rows):
            coin, hour = i % ISSUE_ASSETS, i // ISSUE_ASSETS
            price = _significant(draw, draw.randint(-10, 4))
            cap, volume = _significant(draw, draw.randint(3, 11)), _significant(draw, draw.randint(0, 9))
            moment = (ISSUE_START + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ")
            handle.write(f"C{coin},Coin {coin},{price},{cap},{volume},{moment}\n")


def _significant(draw: random.Random, magnitude: int) -> str:
    """A positive decimal of 15 significant digits, its first digit at 10**magnitude, in plain notation."""
    return format(Decimal(draw.randrange(10**14, 10**15)).scaleb(magnitude - 14), "f")


ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
PEER_TABLE = """CREATE TABLE peer (
    symbol text, name text, price_usd numeric, market_cap_usd numeric, volume_24h_usd numeric,
    observed_at timestamptz, UNIQUE (symbol, name, observed_at))"""


# The database's own speed on cryptoetl's schema: the file's rows, typed, into market_snapshots with its
# indexes, unique key and foreign keys (one run, one payload, the assets made first), skipping stored rows.
SCHEMA_SETUP = """
INSERT INTO etl_runs (run_id, source, status, started_at) VALUES (1, 'csv', 'succeeded', now());
INSERT INTO raw_payloads (payload_id, source, url, fetched_at, sha256, body, run_id)
    VALUES (1, 'csv', 'file:///peer', now(), '', '', 1);
CREATE TEMP TABLE stage (
    symbol text, name text, price_usd numeric, market_cap_usd numeric, volume_24h_usd numeric,
    observed_at timestamptz)"""
SCHEMA_INSERT = """
INSERT INTO assets (symbol, name, origin_source, origin_source_asset_id, created_at)
    SELECT DISTINCT symbol, name, 'csv', symbol || '-' || name, now() FROM stage;
INSERT INTO market_snapshots (source, source_asset_id, asset_id, symbol, name, observed_at, price_usd,
        market_cap_usd, volume_24h_usd, run_id, payload_id, loaded_at)
    SELECT 'csv', a.origin_source_asset_id, a.asset_id, s.symbol, s.name, s.observed_at, s.price_usd,
        s.market_cap_usd, s.volume_24h_usd, 1, 1, now()
    FROM stage s JOIN assets a ON a.origin_source_asset_id = s.symbol || '-' || s.name
    ON CONFLICT DO NOTHING"""


@dataclass(frozen=True)
class Measured:
    """One command's wall time and its own peak resident memory."""

    seconds: float
    peak_mb: float


def csv_figures(rows: int, admin_url: str = ADMIN_URL) -> list[tuple[str, str, str, str]]:
    """Issue 12's CSV figures from one run: (what, ours, the ceiling or peer, ratio)."""
    with tempfile.TemporaryDirectory() as folder:
        big, small = Path(folder) / f"{rows}.csv", Path(folder) / f"{rows // 10}.csv"
        tiny = Path(folder) / "10.csv"
        write_issue_csv(big, rows)
        write_issue_csv(small, rows // 10)
        write_issue_csv(tiny, 10)
        load = ["run", "--source", "csv", "--path"]
        with postgres_database(admin_url) as url:
            ours_pg = cryptoetl([*load, str(big)], url)
        with postgres_database(admin_url) as url:
            copy = psql_copy(url, big)
        with postgres_database(admin_url) as url:
            schema_pg = psql_into_schema(url, big)
        sqlite_url = f"sqlite:///{folder}/ours.db"
        ours_sqlite = cryptoetl([*load, str(big)], sqlite_url)
        rerun = cryptoetl([*load, str(big)], sqlite_url)
        tenth = cryptoetl([*load, str(small)], f"sqlite:///{folder}/tenth.db")
        help_seconds = min(cryptoetl(["--help"], sqlite_url).seconds for _ in range(3))
        tiny_url = f"sqlite:///{folder}/tiny.db"
        cryptoetl([*load, str(tiny)], tiny_url)
        # The same command on a file of 10 rows: start-up, the ledger row, the lock; all but the file's size.
        tiny_rerun = min(cryptoetl([*load, str(tiny)], tiny_url).seconds for _ in range(3))
        core = core_executemany(Path(folder) / "peer.db", big)
        schema_sqlite = core_into_schema(Path(folder) / "schema.db", big)
    return [
        (
            f"`cryptoetl run --source csv` into PostgreSQL, {rows:,} rows, end to end",
            f"{rows / ours_pg.seconds:,.0f} rows/s",
            f"`psql \\copy` into a table with the same key: {rows / copy:,.0f} rows/s",
            f"{copy / ours_pg.seconds:.2f}",
        ),
        (
            "the same, against PostgreSQL's own speed on our schema",
            f"{rows / ours_pg.seconds:,.0f} rows/s",
            f"psql: `\\copy`, then INSERT .. SELECT into market_snapshots: {rows / schema_pg:,.0f} rows/s",
            f"{schema_pg / ours_pg.seconds:.2f}",
        ),
        (
            "the same into SQLite",
            f"{rows / ours_sqlite.seconds:,.0f} rows/s",
            f"SQLAlchemy Core executemany of ready rows: {rows / core:,.0f} rows/s",
            f"{core / ours_sqlite.seconds:.2f}",
        ),
        (
            "the same, against SQLite's own speed on our schema",
            f"{rows / ours_sqlite.seconds:,.0f} rows/s",
            f"Core executemany of typed rows into market_snapshots: {rows / schema_sqlite:,.0f} rows/s",
            f"{schema_sqlite / ours_sqlite.seconds:.2f}",
        ),
        (
            "peak RSS of the SQLite load",
            f"{ours_sqlite.peak_mb:.0f} MB at {rows:,} rows",
            f"{tenth.peak_mb:.0f} MB at {rows // 10:,} rows",
            f"{ours_sqlite.peak_mb / tenth.peak_mb:.2f}x",
        ),
        (
            "no-op re-run of the unchanged file (SQLite)",
            f"{rerun.seconds * 1000:.0f} ms",
            f"`cryptoetl --help`: {help_seconds * 1000:.0f} ms",
            f"+{(rerun.seconds - help_seconds) * 1000:.0f} ms",
        ),
        (
            "the same, against the command's own start-up",
            f"{rerun.seconds * 1000:.0f} ms",
            f"no-op re-run of a 10-row file: {tiny_rerun * 1000:.0f} ms",
            f"+{(rerun.seconds - tiny_rerun) * 1000:.0f} ms",
        ),
    ]


def cryptoetl(args: list[str], database_url: str) -> Measured:
    """Run the CLI in its own process, as a user would; its wall time and peak RSS."""
    env = {**os.environ, "CRYPTOETL_DATABASE_URL": database_url}
    started = time.perf_counter()
    command = [sys.executable, "-m", "etl_cli", *args]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status:
        raise RuntimeError(f"{' '.join(args)} failed: {process.stderr.read().decode()}")
    return Measured(seconds, usage.ru_maxrss / 1024)


def psql_copy(url: str, csv_file: Path) -> float:
    """Seconds for `psql \\copy` of the file into a table with the same key: the ceiling."""
    target = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["psql", "-q", target, "-c", PEER_TABLE], check=True)  # noqa: S607
    started = time.perf_counter()
    copy = f"\\copy peer FROM '{csv_file}' WITH (FORMAT csv, HEADER)"
    subprocess.run(["psql", "-q", target, "-c", copy], check=True)  # noqa: S607
    return time.perf_counter() - started


def psql_into_schema(url: str, csv_file: Path) -> float:
    """Seconds for psql to \\copy the file and insert it into market_snapshots: our schema's own ceiling."""
    open_database(url).dispose()
    target = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    script = csv_file.with_suffix(".sql")
    copy = f"\\copy stage FROM '{csv_file}' WITH (FORMAT csv, HEADER)"
    script.write_text(f"{SCHEMA_SETUP};\n{copy}\nBEGIN;{SCHEMA_INSERT};\nCOMMIT;\n")
    started = time.perf_counter()
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", target, "-f", str(script)],  # noqa: S607
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def core_into_schema(database: Path, csv_file: Path) -> float:
    """Seconds for Core's executemany of the file's rows, read and typed beforehand, into market_snapshots."""
    engine = open_database(f"sqlite:///{database}")
    now = datetime.now(UTC)
    with csv_file.open() as handle:
        records = list(csv.DictReader(handle))
    with engine.begin() as conn:
        conn.execute(sa.insert(etl_runs).values(run_id=1, source="csv", status="succeeded", started_at=now))
        payload = {"source": "csv", "url": "file:///peer", "fetched_at": now, "sha256": "", "body": b""}
        conn.execute(sa.insert(raw_payloads).values(payload_id=1, run_id=1, **payload))
        coins = sorted({(r["symbol"], r["name"]) for r in records})
        conn.execute(
            sa.insert(assets),
            [
                {
                    "symbol": s,
                    "name": n,
                    "origin_source": "csv",
                    "origin_source_asset_id": f"{s}-{n}",
                    "created_at": now,
                }
                for s, n in coins
            ],
        )
        asset_ids = dict(conn.execute(sa.select(assets.c.origin_source_asset_id, assets.c.asset_id)).all())
    rows = [_snapshot_row(record, asset_ids, now) for record in records]
    insert = sqlite_insert(market_snapshots).on_conflict_do_nothing(index_elements=OBSERVATION_KEY)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert, rows)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def _snapshot_row(record: dict[str, str], asset_ids: dict[str, int], now: datetime) -> dict[str, object]:
    source_asset_id = f"{record['symbol']}-{record['name']}"
    return {
        "source": "csv",
        "source_asset_id": source_asset_id,
        "asset_id": asset_ids[source_asset_id],
        "symbol": record["symbol"],
        "name": record["name"],
        "observed_at": datetime.fromisoformat(record["observed_at"]),
        **{name: Decimal(record[name]) for name in ("price_usd", "market_cap_usd", "volume_24h_usd")},
        "run_id": 1,
        "payload_id": 1,
        "loaded_at": now,
    }


def core_executemany(database: Path, csv_file: Path) -> float:
    """Seconds for SQLAlchemy Core's executemany of the file's rows, read beforehand, into a keyed table."""
    engine = create_engine(f"sqlite:///{database}")
    peer = sa.Table(
        "peer",
        sa.MetaData(),
        *(sa.Column(name, sa.Text) for name in next(csv.reader(csv_file.open()))),
        sa.UniqueConstraint("symbol", "name", "observed_at"),
    )
    peer.metadata.create_all(engine)
    with csv_file.open() as handle:
        rows = list(csv.DictReader(handle))
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(peer.insert(), rows)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def measure(label: str, url: str, csv_file: Path) -> None:
    """Print the timings of the quick start, its re-run, a CSV load and its re-run on one database."""
    engine = open_database(url)
    settings = Settings(database_url=url, csv_path=csv_file)
    replay = ROOT / "fixtures" / "replay" / "coingecko"
    for attempt in ("first", "re-run"):
        started = time.perf_counter()
        record = run_named(settings, "coingecko", replay_dir=replay, engine=engine)
        seconds = time.perf_counter() - started
        counts = f"{record.extracted} records, {record.loaded} loaded"
        print(f"{label}: quick start ({attempt}): {counts}, {seconds:.3f} s")
    started = time.perf_counter()
    record = run_named(settings, "csv", engine=engine)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = record.loaded / seconds
    print(
        f"{label}: csv {record.loaded} rows in {seconds:.2f} s = {rate:,.0f} rows/s; peak RSS {peak:.0f} MB"
    )
    started = time.perf_counter()
    record = run_named(settings, "csv", engine=engine)
    seconds = time.perf_counter() - started
    print(f"{label}: csv unchanged re-run: {record.extracted} rows read in {seconds:.3f} s")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--postgres", default=ADMIN_URL)
    parser.add_argument("--figures", action="store_true", help="issue 12's CSV figures instead")
    args = parser.parse_args()
    if args.figures:
        for figure in csv_figures(args.rows, args.postgres):
            print(" | ".join(figure))
        return
    with tempfile.TemporaryDirectory() as folder:
        csv_file = Path(folder) / "bench.csv"
        write_csv(csv_file, args.rows)
        print(f"csv file: {args.rows} rows, {csv_file.stat().st_size / 1e6:.1f} MB")
        measure("sqlite", f"sqlite:///{folder}/bench.db", csv_file)
        with postgres_database(args.postgres) as url:
            measure("postgresql", url, csv_file)


if __name__ == "__main__":
    main()
