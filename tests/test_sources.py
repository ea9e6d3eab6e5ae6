"""Every source and one canonical asset per coin, end to end on both databases."""

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl_cli.config import Settings
from etl_cli.errors import RunFailed
from etl_cli.extract import build_coingecko, build_coinpaprika
from etl_cli.extract.csv_file import CsvExtractor
from etl_cli.load.engine import reader
from etl_cli.pipeline import run_named, run_source
from etl_cli.schema.tables import (
    asset_sources,
    etl_runs,
    market_snapshots,
    rejected_records,
    source_checkpoints,
)
from etl_cli.transform import TRANSFORMS
from tests.samples import (
    COINPAPRIKA_REPLAY_DIR,
    COINPAPRIKA_TICKERS,
    CSV_DIR,
    IDENTITY_PAIRS,
    REPLAY_DIR,
    page,
    records,
)

REPLAY_ROOT = REPLAY_DIR.parent


def run_api(engine, source: str, settings: Settings, aliases=None, replay=None):
    build = {"coingecko": build_coingecko, "coinpaprika": build_coinpaprika}[source]
    default = REPLAY_DIR if source == "coingecko" else COINPAPRIKA_REPLAY_DIR
    extractor = build(settings, replay_dir=replay or default)
    return run_source(engine, extractor, TRANSFORMS[source], aliases=aliases)


def links(engine) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(asset_sources.c.source, asset_sources.c.source_asset_id, asset_sources.c.asset_id)
        )
        return {(r.source, r.source_asset_id): r.asset_id for r in rows}


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table))


@pytest.mark.parametrize("order", [("coingecko", "coinpaprika"), ("coinpaprika", "coingecko")])
def test_every_identity_pair_resolves_to_one_asset_by_the_rules_alone(engine, settings, order):
    for source in order:
        run_api(engine, source, settings, aliases={})
    owner = links(engine)
    pairs = list(csv.DictReader(IDENTITY_PAIRS.read_text().splitlines()))
    assert len(pairs) == 54
    missed = [
        p for p in pairs if owner["coingecko", p["coingecko_id"]] != owner["coinpaprika", p["coinpaprika_id"]]
    ]
    assert missed == []
    # look-alikes that are different assets stay apart
    assert owner["coingecko", "bittorrent"] != owner["coinpaprika", "bttc-bittorrent-chain"]
    assert owner["coingecko", "mantle-bridged-usdt-mantle"] != owner["coinpaprika", "usdt-tether"]
    assert (
        owner["coingecko", "bitcoin-avalanche-bridged-btc-b"] != owner["coinpaprika", "btcb-binance-bitcoin"]
    )


def test_the_shipped_alias_map_adds_what_the_rules_cannot_know(engine, settings):
    run_api(engine, "coingecko", settings)
    run_api(engine, "coinpaprika", settings)
    owner = links(engine)
    assert owner["coingecko", "fetch-ai"] == owner["coinpaprika", "fetch-ai"]
    assert owner["coingecko", "coredaoorg"] == owner["coinpaprika", "core-core-dao"]


def replay_dir(tmp_path: Path, tickers: list[str]) -> Path:
    directory = tmp_path / "coinpaprika"
    shutil.copytree(COINPAPRIKA_REPLAY_DIR, directory)
    (directory / "tickers.json").write_bytes(page(tickers))
    return directory


def test_different_coins_sharing_a_symbol_stay_two_assets(engine, settings, tmp_path):
    tickers = records(COINPAPRIKA_TICKERS.read_bytes())
    uniswap = next(t for t in tickers if '"id":"uni-uniswap"' in t)
    # Another coin has its own supply: a copy of Uniswap's numbers under a new name would be Uniswap renamed.
    unicorn = (
        uniswap.replace('"id":"uni-uniswap"', '"id":"uni-unicorn"')
        .replace('"name":"Uniswap"', '"name":"Unicorn"')
        .replace('"circulating_supply":600294743', '"circulating_supply":31415926535')
    )
    bitcoin = next(t for t in tickers if '"id":"btc-bitcoin"' in t)
    # Same name and symbol, seen in the same hour as CoinGecko's bitcoin, but 30% cheaper: another coin.
    impostor = (
        bitcoin.replace('"id":"btc-bitcoin"', '"id":"btc-bitcoin-impostor"')
        .replace('"last_updated":"2024-09-29T11:00:00Z"', '"last_updated":"2025-02-09T17:30:00Z"')
        .replace('"price":65654.22704542862', '"price":67279.86')
    )
    assert len({uniswap, unicorn, bitcoin, impostor}) == 4
    run_api(engine, "coingecko", settings, aliases={})
    run_api(engine, "coinpaprika", settings, aliases={}, replay=replay_dir(tmp_path, [unicorn, impostor]))
    owner = links(engine)
    assert owner["coinpaprika", "uni-unicorn"] != owner["coingecko", "uniswap"]
    assert owner["coinpaprika", "btc-bitcoin-impostor"] != owner["coingecko", "bitcoin"]
    assert len(set(owner.values())) == 252


def test_rerunning_every_source_adds_no_rows_and_changes_no_asset_id(engine, settings):
    settings = Settings(database_url=settings.database_url, csv_path=CSV_DIR)
    for source in ("coingecko", "coinpaprika", "csv"):
        run_named(settings, source, replay_dir=REPLAY_ROOT / source, engine=engine)
    before = (links(engine), count(engine, market_snapshots))
    again = [
        run_named(settings, source, replay_dir=REPLAY_ROOT / source, engine=engine)
        for source in ("coinpaprika", "csv", "coingecko")
    ]
    assert [r.loaded for r in again] == [0, 0, 0]
    assert (links(engine), count(engine, market_snapshots)) == before
    assert before[1] == 250 + 70 + 900
    owner = before[0]
    # one canonical asset per coin across the three sources
    assert owner["csv", "btc-bitcoin"] == owner["coingecko", "bitcoin"] == owner["coinpaprika", "btc-bitcoin"]
    assert owner["csv", "usdt-tether"] == owner["coingecko", "tether"] == owner["coinpaprika", "usdt-tether"]
    assert owner["csv", "sol-solana"] == owner["coingecko", "solana"]


def csv_settings(settings: Settings, path: Path) -> Settings:
    return Settings(database_url=settings.database_url, csv_path=path)


def test_csv_files_load_with_exact_values(engine, settings):
    record = run_named(csv_settings(settings, CSV_DIR), "csv", engine=engine)
    assert (record.extracted, record.loaded, record.rejected) == (900, 900, 0)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(market_snapshots)
            .where(market_snapshots.c.source_asset_id == "sol-solana")
            .order_by(market_snapshots.c.observed_at)
        ).first()
    # coin_Solana_kaggle_head200.csv line 2, read by hand:
    # 1,Solana,SOL,2020-04-11 23:59:59,...,0.776818582977,43862443.7931816,0.0
    assert str(row.price_usd) == "0.776818582977"
    assert str(row.volume_24h_usd) == "43862443.7931816"
    assert row.market_cap_usd == 0
    assert row.observed_at.isoformat() == "2020-04-11T23:59:59+00:00"


def test_appended_rows_load_alone_and_a_bad_row_is_rejected_with_its_line(engine, settings, tmp_path):
    data = tmp_path / "coin_Tether.csv"
    shutil.copy(CSV_DIR / "coin_Tether_kaggle_head200.csv", data)
    settings = csv_settings(settings, data)
    assert run_named(settings, "csv", engine=engine).loaded == 200
    with data.open("ab") as handle:
        handle.write(b"201,Tether,USDT,2015-09-19 23:59:59,1.0,1.0,1.0,1.0123,1.0,1.0\n")
        handle.write(b"202,Tether,USDT,2015-09-20 23:59:59,1.0,1.0,1.0,one,1.0,1.0\n")
    grown = run_named(settings, "csv", engine=engine)
    assert (grown.extracted, grown.loaded, grown.rejected) == (2, 1, 1)
    with engine.connect() as conn:
        reason, fragment = conn.execute(
            sa.select(rejected_records.c.reason, rejected_records.c.fragment)
        ).one()
    assert reason == "coin_Tether.csv line 203: Close: Not a valid number."
    assert fragment == "202,Tether,USDT,2015-09-20 23:59:59,1.0,1.0,1.0,one,1.0,1.0"
    assert run_named(settings, "csv", engine=engine).extracted == 0


class CrashAfter:
    """Let `pages` chunks through, then die as a killed process would (nothing after it runs)."""

    name = "csv"

    def __init__(self, inner, pages):
        self.inner, self.left, self.stats = inner, pages, inner.stats

    def pages(self, state=None):
        for chunk in self.inner.pages(state):
            if not self.left:
                raise SystemExit("killed")
            self.left -= 1
            yield chunk


def test_a_csv_run_that_dies_half_way_resumes_without_duplicates(engine, settings):
    path = CSV_DIR / "coin_Ethereum_kaggle_head300.csv"
    with pytest.raises(SystemExit):
        run_source(
            engine, CrashAfter(CsvExtractor(path, chunk_rows=70), pages=2), TRANSFORMS["csv"], aliases={}
        )
    assert count(engine, market_snapshots) == 140  # the committed chunks
    resumed = run_source(engine, CsvExtractor(path, chunk_rows=70), TRANSFORMS["csv"], aliases={})
    assert (resumed.extracted, resumed.loaded, resumed.skipped) == (160, 160, 0)
    assert count(engine, market_snapshots) == 300


def big_csv(path: Path, rows: int) -> None:
    with path.open("w") as handle:
        handle.write("symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n")
        for i in range(rows):
            handle.write(
                f"TST,Test Coin,{i}.{i % 97:02d}5,,,2024-01-01T00:00:{i % 60:02d}+00:00\n".replace(
                    "T00:00:", f"T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:"
                ).replace("2024-01-01", f"2024-{1 + i // 86400 % 12:02d}-01")
            )


def test_a_killed_csv_run_resumes_where_it_stopped(engine, database_url, tmp_path):
    data = tmp_path / "big.csv"
    big_csv(data, 60_000)
    env = {**os.environ, "CRYPTOETL_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "etl_cli", "run", "--source", "csv", "--path", str(data)]
    victim = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and victim.poll() is None:
        with reader(engine).connect() as conn:
            if conn.scalar(sa.select(source_checkpoints.c.state).where(source_checkpoints.c.source == "csv")):
                break
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    _, err = victim.communicate(timeout=10)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(etl_runs.c.status)) == "running", err.decode()
    partial = count(engine, market_snapshots)
    assert 0 < partial < 60_000 and partial % 5000 == 0  # whole chunks only

    survivor = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert survivor.returncode == 0, survivor.stderr.decode()
    assert count(engine, market_snapshots) == 60_000
    with engine.connect() as conn:
        runs = conn.execute(sa.select(etl_runs.c.status, etl_runs.c.loaded).order_by(etl_runs.c.run_id)).all()
    # the killed run's ledger row counts what it committed, chunk by chunk
    assert [tuple(r) for r in runs] == [("abandoned", partial), ("succeeded", 60_000 - partial)]


def test_an_unknown_header_fails_with_nothing_written(engine, settings, tmp_path):
    shutil.copy(CSV_DIR / "coin_Tether_kaggle_head200.csv", tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("date,close\n2020-01-01,1\n")
    with pytest.raises(Exception, match="unknown CSV header 'date,close'"):
        run_named(csv_settings(settings, tmp_path), "csv", engine=engine)
    assert count(engine, etl_runs) == count(engine, market_snapshots) == 0


def test_a_failing_source_does_not_stop_the_others(engine, settings, tmp_path):
    broken = tmp_path / "coingecko"
    broken.mkdir()
    (broken / "manifest.json").write_text('{"responses": []}')
    with pytest.raises(RunFailed):
        run_named(settings, "coingecko", replay_dir=broken, engine=engine)
    assert run_named(settings, "coinpaprika", replay_dir=COINPAPRIKA_REPLAY_DIR, engine=engine).loaded == 70
