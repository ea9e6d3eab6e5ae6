"""Measure the ETL on both databases: the quick start (replayed CoinGecko), its re-run, CSV throughput.

Usage: python bench/etl_load.py [--rows 200000] [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432/postgres]
Prints one line per measurement. Creates and drops its own PostgreSQL database and temporary SQLite file.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from throwaway import postgres_database

from etl_cli.config import Settings
from etl_cli.load.engine import open_database
from etl_cli.pipeline import run_named

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
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        csv_file = Path(folder) / "bench.csv"
        write_csv(csv_file, args.rows)
        print(f"csv file: {args.rows} rows, {csv_file.stat().st_size / 1e6:.1f} MB")
        measure("sqlite", f"sqlite:///{folder}/bench.db", csv_file)
        with postgres_database(args.postgres) as url:
            measure("postgresql", url, csv_file)


if __name__ == "__main__":
    main()
