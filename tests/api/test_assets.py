"""GET /assets, /assets/<id> and /assets/<id>/history on both databases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from etl_cli.config import Settings
from etl_cli.pipeline import run_named
from tests.api.conftest import (
    SYNTHETIC_ASSETS,
    SYNTHETIC_START,
    SYNTHETIC_STEP,
    SYNTHETIC_TIMES,
    backfill_bitcoin_week,
    dispose,
    make_app,
)
from tests.samples import COINPAPRIKA_REPLAY_DIR, REPLAY_DIR


def body(response) -> dict:
    return json.loads(response.get_data(as_text=True), parse_float=Decimal)


def latest_by_listing(rows: list[dict]) -> dict[tuple[str, str], dict]:
    latest: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (row["source"], row["source_asset_id"])
        if key not in latest or row["observed_at"] > latest[key]["observed_at"]:
            latest[key] = row
    return latest


def listing(row: dict) -> dict:
    return {
        "source": row["source"],
        "source_asset_id": row["source_asset_id"],
        "price_usd": row["price_usd"],
        "observed_at": row["observed_at"].isoformat(),
        # The synthetic links are inserted as a migrated database keeps its older links.
        "rule": "unrecorded",
        "evidence": [],
    }


def test_assets_list_the_latest_snapshot_per_source(synthetic):
    page = body(synthetic.client.get("/assets"))
    assert [a["asset_id"] for a in page["data"]] == list(range(1, SYNTHETIC_ASSETS + 1))
    assert page["pagination"] == {"limit": 100, "offset": 0, "count": 40, "has_more": False}
    latest = latest_by_listing(synthetic.rows)
    for asset in page["data"]:
        expected = sorted(
            (listing(row) for row in latest.values() if row["asset_id"] == asset["asset_id"]),
            key=lambda item: (item["source"], item["source_asset_id"]),
        )
        assert asset["sources"] == expected
        assert {"asset_id", "symbol", "name", "sources", "divergence"} == set(asset)
    two = next(a for a in page["data"] if a["asset_id"] == 5)
    assert [s["source"] for s in two["sources"]] == ["coingecko", "coinpaprika"]
    assert all(
        s["observed_at"] == (SYNTHETIC_START + 74 * SYNTHETIC_STEP).isoformat() for s in two["sources"]
    )


def test_assets_real_page_keeps_exact_prices(loaded):
    assets = body(loaded.client.get("/assets?limit=1000"))["data"]
    assert len(assets) == 250
    bitcoin = next(a for a in assets if a["sources"][0]["source_asset_id"] == "bitcoin")
    assert bitcoin["symbol"] == "BTC" and bitcoin["name"] == "Bitcoin"
    assert bitcoin["sources"][0]["price_usd"] == Decimal("96114.08481738689")
    apenft = next(a for a in assets if a["sources"][0]["source_asset_id"] == "apenft")
    assert apenft["sources"][0]["price_usd"] == Decimal("4.461282308207794E-7")


def test_assets_paging_and_symbol(synthetic):
    page = body(synthetic.client.get("/assets?limit=7&offset=7"))
    assert [a["asset_id"] for a in page["data"]] == list(range(8, 15))
    assert page["pagination"]["has_more"] is True
    assert page["links"]["next"] == "/assets?limit=7&offset=14"
    last = body(synthetic.client.get("/assets?limit=7&offset=35"))
    assert [a["asset_id"] for a in last["data"]] == list(range(36, 41))
    assert last["links"]["next"] is None
    assert [a["asset_id"] for a in body(synthetic.client.get("/assets?symbol=ABC"))["data"]] == [1]
    assert body(synthetic.client.get("/assets?symbol=nope"))["data"] == []
    assert synthetic.client.get("/assets?limit=1001").status_code == 400
    assert synthetic.client.get("/assets?sort=name").status_code == 400


def test_one_asset_and_404(synthetic):
    asset = body(synthetic.client.get("/assets/5"))["data"]
    assert asset["asset_id"] == 5 and asset["symbol"] == "S5" and len(asset["sources"]) == 2
    for missing in ("/assets/999", "/assets/999/history", "/assets/abc"):
        response = synthetic.client.get(missing)
        assert response.status_code == 404
        error = body(response)
        assert set(error) == {"code", "status", "message", "errors"} and error["code"] == 404
    assert "999" in body(synthetic.client.get("/assets/999"))["message"]


@pytest.mark.parametrize("asset_id", [0, 2**31, 2**63, 2**64])
def test_an_asset_id_no_integer_column_holds_is_a_404(synthetic, asset_id):
    # SQLite cannot bind an integer beyond 64 bits: /assets/9223372036854775808 was a 500 there.
    for url in (f"/assets/{asset_id}", f"/assets/{asset_id}/history"):
        response = synthetic.client.get(url)
        assert response.status_code == 404, url
        assert set(body(response)) == {"code", "status", "message", "errors"}


def test_history_raw_is_every_observation_oldest_first(synthetic):
    history = body(synthetic.client.get("/assets/5/history"))["data"]
    assert history["interval"] == "raw" and history["asset_id"] == 5
    assert [s["source"] for s in history["series"]] == ["coingecko", "coinpaprika"]
    for series in history["series"]:
        rows = sorted(
            (r for r in synthetic.rows if r["asset_id"] == 5 and r["source"] == series["source"]),
            key=lambda r: r["observed_at"],
        )
        assert series["truncated"] is False
        assert [p["observed_at"] for p in series["points"]] == [r["observed_at"].isoformat() for r in rows]
        assert [p["t"] for p in series["points"]] == [p["observed_at"] for p in series["points"]]
        assert [p["price_usd"] for p in series["points"]] == [r["price_usd"] for r in rows]
        assert [p["volume_24h_usd"] for p in series["points"]] == [Decimal("0.0")] * SYNTHETIC_TIMES


def test_history_buckets_keep_each_bucket_last_observation(synthetic):
    history = body(synthetic.client.get("/assets/3/history?interval=1h"))["data"]
    (series,) = history["series"]
    by_time = {r["observed_at"]: r for r in synthetic.rows if r["asset_id"] == 3}
    # 75 observations 10 minutes apart from 00:00: hours 0..12, the last of each at :50 (12:20 for the last).
    assert len(series["points"]) == 13
    for hour, point in enumerate(series["points"]):
        assert point["t"] == (SYNTHETIC_START + timedelta(hours=hour)).isoformat()
        last = min(6 * hour + 5, SYNTHETIC_TIMES - 1)
        when = SYNTHETIC_START + last * SYNTHETIC_STEP
        assert point["observed_at"] == when.isoformat()
        assert point["price_usd"] == by_time[when]["price_usd"]
        assert point["market_cap_usd"] == by_time[when]["market_cap_usd"]
    day = body(synthetic.client.get("/assets/3/history?interval=1d"))["data"]["series"][0]["points"]
    assert [(p["t"], p["observed_at"]) for p in day] == [
        (SYNTHETIC_START.isoformat(), (SYNTHETIC_START + 74 * SYNTHETIC_STEP).isoformat())
    ]


def test_history_window_source_and_limit(synthetic):
    start = SYNTHETIC_START + 10 * SYNTHETIC_STEP
    end = SYNTHETIC_START + 20 * SYNTHETIC_STEP
    window = body(
        synthetic.client.get(
            "/assets/5/history",
            query_string={"from": start.isoformat(), "to": end.isoformat(), "source": "coinpaprika"},
        )
    )["data"]["series"]
    assert [s["source"] for s in window] == ["coinpaprika"]
    times = [datetime.fromisoformat(p["observed_at"]) for p in window[0]["points"]]
    assert times == [start + n * SYNTHETIC_STEP for n in range(10)]
    cut = body(synthetic.client.get("/assets/3/history?limit=10"))["data"]["series"][0]
    assert cut["truncated"] is True
    assert [datetime.fromisoformat(p["observed_at"]) for p in cut["points"]] == [
        SYNTHETIC_START + n * SYNTHETIC_STEP for n in range(65, 75)
    ]
    exact = body(synthetic.client.get("/assets/3/history?limit=75"))["data"]["series"][0]
    assert exact["truncated"] is False and len(exact["points"]) == 75


@pytest.mark.parametrize(
    ("query", "named"),
    [("interval=2h", "interval"), ("limit=10001", "limit"), ("source=x", "source"), ("step=1", "step")],
)
def test_history_bad_parameters(synthetic, query, named):
    response = synthetic.client.get(f"/assets/3/history?{query}")
    assert response.status_code == 400 and list(body(response)["errors"]) == [named]


def test_history_buckets_cut_fractions_rather_than_round_them(engine, database_url, tmp_path):
    # SQLite's strftime('%s') rounds 00:59:59.9995 up to 01:00:00, which put points in the next bucket.
    data = tmp_path / "fractions.csv"
    data.write_text(
        "symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n"
        "FRC,Fraction,1,,,2024-03-01T00:10:00Z\n"
        "FRC,Fraction,2,,,2024-03-01T00:59:59.999999Z\n"
        "FRC,Fraction,3,,,2024-03-01T01:00:00.000001Z\n"
    )
    run_named(Settings(database_url=database_url, csv_path=data), "csv", engine=engine)
    app = make_app(database_url)
    try:
        asset_id = body(app.test_client().get("/assets?symbol=frc"))["data"][0]["asset_id"]
        history = body(app.test_client().get(f"/assets/{asset_id}/history?interval=1h"))["data"]
    finally:
        dispose(app)
    points = history["series"][0]["points"]
    assert [(p["t"], p["price_usd"]) for p in points] == [
        ("2024-03-01T00:00:00+00:00", Decimal("2")),
        ("2024-03-01T01:00:00+00:00", Decimal("3")),
    ]


def test_history_shows_backfilled_points_with_the_live_ones_one_series_per_source(engine, database_url):
    settings = Settings(database_url=database_url)
    run_named(settings, "coingecko", replay_dir=REPLAY_DIR, engine=engine)
    run_named(settings, "coinpaprika", replay_dir=COINPAPRIKA_REPLAY_DIR, engine=engine)
    assert backfill_bitcoin_week(database_url, engine).loaded == 169
    app = make_app(database_url)
    try:
        [bitcoin] = [
            a for a in body(app.test_client().get("/assets?symbol=btc"))["data"] if a["name"] == "Bitcoin"
        ]
        history = body(app.test_client().get(f"/assets/{bitcoin['asset_id']}/history?limit=1000"))["data"]
    finally:
        dispose(app)
    series = {s["source"]: s["points"] for s in history["series"]}
    assert sorted(series) == ["coingecko", "coinpaprika"]
    coingecko = series["coingecko"]
    assert len(coingecko) == 169 + 1  # the backfilled week, then the live snapshot of 2025-02-09
    assert coingecko[0]["observed_at"] == "2023-10-03T19:00:22.085000+00:00"
    assert coingecko[0]["price_usd"] == Decimal("27309.802923311734")
    assert coingecko[-1]["observed_at"] == "2025-02-09T17:44:04.143000+00:00"
    assert len(series["coinpaprika"]) == 1
