"""Cross-source divergence: sources whose newest prices, within the same hour, differ by more than 2%."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from etl_cli.cli import app
from etl_cli.load.bulk import insert_rows
from etl_cli.schema.divergence import divergences
from etl_cli.schema.tables import asset_sources, assets, market_snapshots
from tests.api.conftest import Served, _served, synthetic_run

T = datetime(2025, 2, 9, 17, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
# asset id -> (source, price, when): each listing's snapshots; the newest of each is what counts.
LISTINGS = {
    1: [("coingecko", "100", T), ("coinpaprika", "103", T + 30 * MINUTE)],  # 3.00%: diverging
    2: [("coingecko", "100", T), ("coinpaprika", "101.5", T + 10 * MINUTE)],  # 1.50%
    3: [("coingecko", "100", T), ("coinpaprika", "150", T + 61 * MINUTE)],  # not within the hour
    4: [("coingecko", "100", T), ("coinpaprika", "102", T)],  # exactly 2%: not more than 2%
    # Diverged once, agrees now: history is not what counts.
    5: [
        ("coingecko", "100", T - 60 * MINUTE),
        ("coinpaprika", "200", T - 60 * MINUTE),
        ("coingecko", "100", T),
        ("coinpaprika", "100.1", T),
    ],
    6: [("coingecko", "100", T), ("coinpaprika", "100.5", T), ("csv", "110", T + 5 * MINUTE)],  # 10.00%
    7: [("coingecko", "0", T), ("coinpaprika", "5", T)],  # a zero price is its own problem
}


def seed(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        run_id, payload_id = synthetic_run(conn, T)
        common = {"created_at": T, "origin_source": "coingecko"}
        insert_rows(
            conn,
            assets,
            [
                {
                    "asset_id": i,
                    "symbol": f"S{i}",
                    "name": f"Coin {i}",
                    "origin_source_asset_id": f"c{i}",
                    **common,
                }
                for i in LISTINGS
            ],
        )
        links = {(i, source) for i, rows in LISTINGS.items() for source, _, _ in rows}
        insert_rows(
            conn,
            asset_sources,
            [
                {
                    "source": s,
                    "source_asset_id": f"{s}-{i}",
                    "asset_id": i,
                    "symbol": f"S{i}",
                    "first_seen_at": T,
                }
                for i, s in sorted(links)
            ],
        )
        insert_rows(
            conn,
            market_snapshots,
            [
                {
                    "source": s,
                    "source_asset_id": f"{s}-{i}",
                    "asset_id": i,
                    "symbol": f"S{i}",
                    "name": f"Coin {i}",
                    "observed_at": when,
                    "price_usd": Decimal(price),
                    "run_id": run_id,
                    "payload_id": payload_id,
                    "loaded_at": T,
                }
                for i, rows in LISTINGS.items()
                for s, price, when in rows
            ],
        )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _served(request.param, tmp_path_factory, lambda _url, engine: seed(engine))


def test_only_newest_prices_within_the_hour_and_over_the_threshold_diverge(seeded):
    engine = sa.create_engine(seeded.url)
    queries: list[str] = []

    def count(*args):
        queries.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with engine.connect() as conn:
            found = divergences(conn, Decimal(2))
            assert len(queries) == 1  # one set-based statement for every asset
            looser = divergences(conn, Decimal(1))
    finally:
        engine.dispose()
    assert {i: d.spread_pct for i, d in found.items()} == {1: Decimal("3.00"), 6: Decimal("10.00")}
    six = found[6]
    assert [(x.source, x.price_usd) for x in six.sources] == [
        ("coingecko", Decimal("100")),
        ("coinpaprika", Decimal("100.5")),
        ("csv", Decimal("110")),
    ]
    assert (six.low_usd, six.high_usd) == (Decimal("100"), Decimal("110"))
    assert set(looser) == {1, 2, 4, 6}


def test_the_api_says_which_assets_diverge_and_stats_counts_them(seeded):
    one = seeded.client.get("/assets/1").get_json()["data"]["divergence"]
    assert one["spread_pct"] == 3.0 and one["low_usd"] == 100 and one["high_usd"] == 103
    assert [(x["source"], x["price_usd"]) for x in one["sources"]] == [
        ("coingecko", 100),
        ("coinpaprika", 103),
    ]
    assert seeded.client.get("/assets/2").get_json()["data"]["divergence"] is None
    page = seeded.client.get("/assets?limit=10").get_json()["data"]
    assert [a["asset_id"] for a in page if a["divergence"]] == [1, 6]
    assert seeded.client.get("/stats").get_json()["data"]["diverging_assets"] == 2


def test_assets_diverging_lists_them_and_the_threshold_is_a_setting(seeded):
    runner = CliRunner()
    env = {"CRYPTOETL_DATABASE_URL": seeded.url}
    listed = runner.invoke(app, ["assets", "--diverging", "--json"], env=env)
    assert listed.exit_code == 0, listed.stderr
    assert [(a["asset_id"], a["divergence"]["spread_pct"]) for a in json.loads(listed.stdout)] == [
        (1, "3.00"),
        (6, "10.00"),
    ]
    text = runner.invoke(app, ["assets", "--diverging"], env={**env, "CRYPTOETL_DIVERGENCE_PCT": "1"})
    assert text.exit_code == 0
    lines = text.stdout.splitlines()[1:]
    assert [line.split()[0] for line in lines] == ["1", "2", "4", "6"]
    assert lines[1].endswith("DIVERGING by 1.50%")
