"""`cryptoetl backfill` end to end on both databases, against a local provider on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from etl_cli.backfill.plan import BackfillRequest, plan_backfill
from etl_cli.backfill.runner import run_backfill
from etl_cli.cli import app
from etl_cli.config import Settings
from etl_cli.extract import HISTORY_SOURCES
from etl_cli.load import ledger as ledger_rows
from etl_cli.pipeline import run_named
from etl_cli.progress import PageDone
from etl_cli.quota import quota_of
from etl_cli.schema.tables import (
    asset_sources,
    backfill_ranges,
    etl_runs,
    market_snapshots,
    raw_payloads,
    rejected_records,
)
from etl_cli.transform import HISTORY_TRANSFORMS
from tests.history_provider import CHARTS, history_env, serving
from tests.samples import COINPAPRIKA_REPLAY_DIR, REPLAY_DIR

WEEK = ("--since", "2023-10-03T19:00Z", "--until", "2023-10-10T19:00Z")
TWO_COINS = ("--source", "coingecko", "--ids", "bitcoin,matic-network", *WEEK)
LIVE_AT = datetime(2025, 2, 9, 17, 44, tzinfo=UTC)  # the live page's snapshots are from this minute


@pytest.fixture
def provider():
    with serving() as server:
        yield server


@pytest.fixture
def cli(database_url, provider):
    runner = CliRunner()

    def invoke(*args: str, **env: str):
        return runner.invoke(app, ["backfill", *args], env={**history_env(database_url, provider), **env})

    return invoke


def served_points(path: Path) -> dict[datetime, tuple]:
    """A recorded chart read with the json module: time (to the ms, UTC) -> (price, cap or None, volume)."""
    chart = json.loads(path.read_bytes(), parse_float=Decimal)
    points: dict[datetime, list] = {}
    for index, series in enumerate(("prices", "market_caps", "total_volumes")):
        for ms, value in chart[series]:
            when = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)
            points.setdefault(when, [None, None, None])[index] = value if value != 0 or index != 1 else None
    return {when: tuple(values) for when, values in points.items()}


def history_rows(engine, coin_id: str) -> dict[datetime, tuple]:
    """Stored coingecko snapshots of a coin older than the live page: time -> (price, cap, volume)."""
    s = market_snapshots.c
    query = sa.select(s.observed_at, s.price_usd, s.market_cap_usd, s.volume_24h_usd).where(
        s.source == "coingecko", s.source_asset_id == coin_id, s.observed_at < LIVE_AT
    )
    with engine.connect() as conn:
        return {row.observed_at: tuple(row[1:]) for row in conn.execute(query)}


def asset_ids(engine, source: str = "coingecko") -> dict[str, set[int]]:
    """Each source id's asset ids across its snapshots and its link (one each, if all is well)."""
    found: dict[str, set[int]] = {}
    with engine.connect() as conn:
        for table in (market_snapshots, asset_sources):
            query = sa.select(table.c.source_asset_id, table.c.asset_id).where(table.c.source == source)
            for coin_id, asset_id in conn.execute(query):
                found.setdefault(coin_id, set()).add(asset_id)
    return found


def ledger(engine) -> list[tuple]:
    with engine.connect() as conn:
        query = sa.select(etl_runs.c.kind, etl_runs.c.status, etl_runs.c.loaded).order_by(etl_runs.c.run_id)
        return [tuple(row) for row in conn.execute(query)]


def test_two_coins_over_a_week_store_every_served_point_exactly_on_the_live_assets(
    engine, database_url, cli, provider
):
    run_named(Settings(database_url=database_url), "coingecko", replay_dir=REPLAY_DIR, engine=engine)
    live_assets = asset_ids(engine)

    result = cli(*TWO_COINS, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["kind"], summary["status"], summary["loaded"], summary["rejected"]) == (
        "backfill",
        "succeeded",
        169 + 289,
        0,
    )
    assert summary["plan"]["calls"] == summary["http_requests"] == 2  # both coins were named by the live run
    assert result.stderr.splitlines()[0] == (
        "coingecko backfill of 2 coins, hourly points from 2023-10-03 19:00 to 2023-10-10 19:00 UTC"
    )
    for coin_id, path in CHARTS.items():
        assert history_rows(engine, coin_id) == served_points(path), coin_id
    assert asset_ids(engine) == live_assets  # every point on the asset its live snapshot is on
    assert provider.requests[0] == (
        "/api/v3/coins/bitcoin/market_chart/range",
        {"vs_currency": "usd", "from": "1696359600", "to": "1696964400", "precision": "full"},
    )
    with engine.connect() as conn:
        bodies = conn.execute(sa.select(raw_payloads.c.body).where(raw_payloads.c.url.like("%market_chart%")))
        assert sorted(bodies.scalars()) == sorted(path.read_bytes() for path in CHARTS.values())

    again = cli(*TWO_COINS, "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["loaded"] == 0
    assert len(provider.requests) == 2  # the loaded ranges are not asked for again
    assert ledger(engine) == [
        ("run", "succeeded", 250),
        ("backfill", "succeeded", 458),
        ("backfill", "succeeded", 0),
    ]


def test_a_coin_never_seen_live_is_named_by_the_source_and_the_call_is_planned(engine, cli, provider):
    result = cli("--source", "coingecko", "--ids", "bitcoin", *WEEK)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[1].startswith(
        "plan: 2 calls (1 to name coins, 1 for ranges), about 1 s at 60000 calls a minute"
    )
    assert provider.requests[0] == (
        "/api/v3/coins/markets",
        {
            "vs_currency": "usd",
            "order": "market_cap_desc",
            "per_page": "250",
            "precision": "full",
            "page": "1",
        }
        | {"ids": "bitcoin"},
    )
    with engine.connect() as conn:
        names = conn.execute(sa.select(market_snapshots.c.symbol, market_snapshots.c.name).distinct()).all()
        link = conn.execute(sa.select(asset_sources.c.symbol, asset_sources.c.name)).all()
    assert names == link == [("BTC", "Bitcoin")]
    assert len(history_rows(engine, "bitcoin")) == 169


def test_top_n_comes_from_coins_markets(engine, cli, provider):
    result = cli("--source", "coingecko", "--top", "1", *WEEK, "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    assert (plan["calls"], plan["calls_are_upper_bound"]) == (2, True)
    assert provider.requests[0][1]["per_page"] == "1" and provider.requests[1][0].endswith(
        "/bitcoin/market_chart/range"
    )


def test_an_unknown_id_fails_before_any_range_is_asked(engine, cli, provider):
    result = cli("--source", "coingecko", "--ids", "bitcoin,no-such-coin", *WEEK)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: coingecko backfill 1 failed: coingecko names no coin no-such-coin: give its own ids "
        "(`cryptoetl assets` lists them)"
    )
    assert provider.calls_to("market_chart") == 0


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (
            ("--source", "coingecko", "--ids", "bitcoin", "--since", "2024-12-01"),
            {"COINGECKO_API_PLAN": "demo"},
            "Error: --since 2024-12-01 00:00 UTC is out of reach: CoinGecko's demo plan serves only the past "
            "365 days (CRYPTOETL_COINGECKO_HISTORY_DAYS), so --since ",
        ),
        (
            ("--source", "coinpaprika", "--ids", "btc-bitcoin", "--since", "2026-11-01"),
            {},
            "Error: --since 2026-11-01 00:00 UTC is out of reach: CoinPaprika's free plan "
            "(COINPAPRIKA_API_PLAN) serves hourly points for the past day only, so --since ",
        ),
        (
            ("--source", "coingecko", "--ids", "bitcoin,matic-network", *WEEK),
            {"CRYPTOETL_COINGECKO_MONTHLY_QUOTA": "1"},
            "Error: this backfill needs 3 calls, more than the 1 left of the monthly quota of 1 "
            "(CoinGecko pro plan; 0 made this month): narrow it (--ids, --top, --since) or pass "
            "--allow-over-quota",
        ),
    ],
    ids=["coingecko-demo-reach", "coinpaprika-free-hourly", "quota"],
)
def test_out_of_reach_or_over_quota_is_refused_in_one_line_before_any_call(
    engine, cli, provider, args, env, line
):
    result = cli(*args, **env)
    assert result.exit_code == 1
    errors = [text for text in result.stderr.splitlines() if text.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(line)
    assert provider.requests == [] and ledger(engine) == []


def test_allow_over_quota_runs_anyway(engine, cli, provider):
    result = cli(*TWO_COINS, "--allow-over-quota", CRYPTOETL_COINGECKO_MONTHLY_QUOTA="1")
    assert result.exit_code == 0, result.output
    assert "plan: 3 calls (1 to name coins, 2 for ranges)" in result.stderr
    assert "300.0% of the monthly quota of 1 " in result.stderr


def test_429_and_5xx_mid_backfill_are_retried(engine, cli, provider):
    busy = (429, {"Retry-After": "0"}, b'{"status":{"error_code":429,"error_message":"Throttled"}}')
    down = (503, {"Retry-After": "0"}, b"<html>upstream timeout</html>")
    provider.scripted["/api/v3/coins/matic-network/market_chart/range"] += [busy, down]
    result = cli(*TWO_COINS, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    # One call names the two coins (never seen here), two get their ranges, and two were retried.
    assert (summary["http_requests"], summary["http_retries"], summary["loaded"]) == (5, 2, 169 + 289)
    assert history_rows(engine, "matic-network") == served_points(CHARTS["matic-network"])


def test_a_failing_range_keeps_the_ranges_before_it_and_the_rerun_goes_on(engine, cli, provider):
    broken = (200, {}, b'{"prices": [[1, 2]], "market_caps": 5}')
    provider.scripted["/api/v3/coins/matic-network/market_chart/range"].append(broken)
    failed = cli(*TWO_COINS)
    assert failed.exit_code == 1 and "did not return a JSON object of arrays" in failed.stderr
    assert len(history_rows(engine, "bitcoin")) == 169 and history_rows(engine, "matic-network") == {}
    with engine.connect() as conn:
        # The names, bitcoin's chart and the bad body, kept as received.
        assert conn.scalar(sa.select(sa.func.count()).select_from(raw_payloads)) == 3
    rerun = cli(*TWO_COINS)
    assert rerun.exit_code == 0, rerun.output
    assert provider.calls_to("/bitcoin/") == 1 and provider.calls_to("/matic-network/") == 2
    assert ledger(engine) == [("backfill", "failed", 169), ("backfill", "succeeded", 289)]
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(backfill_ranges)) == 2


def tick_body(start: datetime, count: int, null_price_at: int) -> bytes:
    """Hourly CoinPaprika ticks in the documented shape (no genuine recording exists), every digit written."""
    ticks = [
        f'{{"timestamp":"{start + timedelta(hours=i):%Y-%m-%dT%H:%M:%SZ}",'
        f'"price":{"null" if i == null_price_at else f"{96000 + i}.0123456789"},'
        f'"volume_24h":{1968587956 + i},"market_cap":{0 if i == 0 else 83761787514 + i}}}'
        for i in range(count)
    ]
    return f"[{','.join(ticks)}]".encode()


def test_coinpaprika_ticks_land_on_the_live_assets(engine, database_url, cli, provider):
    settings = Settings(database_url=database_url)
    run_named(settings, "coingecko", replay_dir=REPLAY_DIR, engine=engine)
    run_named(settings, "coinpaprika", replay_dir=COINPAPRIKA_REPLAY_DIR, engine=engine)
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
    provider.ticks["btc-bitcoin"] = tick_body(day, 24, null_price_at=5)
    since, until = f"{day:%Y-%m-%d}", f"{day + timedelta(days=1):%Y-%m-%d}"
    args = ("--source", "coinpaprika", "--ids", "btc-bitcoin", "--since", since, "--until", until, "--json")
    result = cli(*args, COINPAPRIKA_API_PLAN="pro")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["loaded"], summary["rejected"], summary["http_requests"]) == (23, 1, 1)
    assert provider.requests == [
        (
            "/v1/tickers/btc-bitcoin/historical",
            {
                "start": f"{day:%Y-%m-%dT%H:%M:%SZ}",
                "end": f"{day + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}",
                "interval": "1h",
                "limit": "5000",
                "quote": "usd",
            },
        )
    ]
    s = market_snapshots.c
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(s.observed_at, s.price_usd, s.market_cap_usd, s.asset_id)
            .where(s.source_asset_id == "btc-bitcoin", s.observed_at >= day)
            .order_by(s.observed_at)
        ).all()
        reason = conn.scalar(sa.select(rejected_records.c.reason))
    assert len(stored) == 23 and reason == "price: Field may not be null."
    assert stored[0][:3] == (day, Decimal("96000.0123456789"), None)  # CoinPaprika's 0 cap: no cap
    assert stored[-1][:3] == (day + timedelta(hours=23), Decimal("96023.0123456789"), Decimal("83761787537"))
    assert {row.asset_id for row in stored} == asset_ids(engine)["bitcoin"]  # one asset, both sources


def test_health_judges_the_schedule_by_its_runs_not_by_a_fresh_backfill(engine, database_url, cli):
    five_hours_ago = datetime.now(UTC) - timedelta(hours=5)
    with engine.begin() as conn:
        run_id = ledger_rows.start_run(conn, "coingecko", five_hours_ago)
        ledger_rows.finish_run(conn, run_id, "succeeded", five_hours_ago, ledger_rows.RunCounts())
    assert cli(*TWO_COINS).exit_code == 0
    health = CliRunner().invoke(app, ["health"], env={"CRYPTOETL_DATABASE_URL": database_url})
    assert health.exit_code == 1
    assert health.stderr.startswith(
        f"Error: unhealthy: stale: the newest success (coingecko run {run_id}) finished 300 min ago"
    )
    runs = CliRunner().invoke(app, ["runs"], env={"CRYPTOETL_DATABASE_URL": database_url}).stdout.splitlines()
    assert [line.split()[2:4] for line in runs[1:]] == [["backfill", "succeeded"], ["run", "succeeded"]]


def test_each_committed_range_is_reported_where_a_progress_display_hooks_in(engine, database_url, provider):
    settings = Settings.from_env(history_env(database_url, provider))
    history = HISTORY_SOURCES["coingecko"](settings)
    since, until = datetime(2023, 10, 3, 19, tzinfo=UTC), datetime(2023, 10, 10, 19, tzinfo=UTC)
    request = BackfillRequest("coingecko", since, until, ids=("bitcoin", "matic-network"))
    with engine.connect() as conn:
        plan = plan_backfill(conn, history, request, quota_of(settings, "coingecko"), datetime.now(UTC))
    reports: list[PageDone] = []
    observer = SimpleNamespace(run_started=lambda source, run_id: reports.append((source, run_id)))
    observer.page_done = reports.append
    record = run_backfill(engine, history, HISTORY_TRANSFORMS["coingecko"], plan, {}, observer)
    assert reports == [
        ("coingecko", record.run_id),
        PageDone("coingecko", record.run_id, 1, 169, 169, pages_planned=2),
        PageDone("coingecko", record.run_id, 2, 169 + 289, 169 + 289, pages_planned=2),
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("--source", "coingecko", *WEEK),
            "Error: give the coins with --ids ID,... or --top N (one of the two)",
        ),
        (
            ("--source", "coingecko", "--ids", "bitcoin", "--top", "5", *WEEK),
            "Error: give the coins with --ids ID,... or --top N (one of the two)",
        ),
        (
            ("--source", "coingecko", "--ids", "bitcoin", "--since", "last week"),
            "Error: --since 'last week' is not a date or time: write 2026-09-04 or 2026-09-04T12:00Z",
        ),
        (
            ("--source", "coingecko", "--ids", "bitcoin", "--since", "2023-10-10", "--until", "2023-10-03"),
            "Error: --since 2023-10-10 00:00 UTC is not before --until (2023-10-03 00:00 UTC): "
            "give an earlier --since",
        ),
    ],
)
def test_a_bad_request_is_one_line_before_any_call(engine, cli, provider, args, line):
    result = cli(*args)
    assert (result.exit_code, result.stderr) == (1, line + "\n")
    assert provider.requests == []
