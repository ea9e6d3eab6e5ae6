"""CoinGecko market charts to snapshots: the real recordings digit for digit, and each way a pair goes bad."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from etl_cli.extract.base import RawPage, SeriesPage
from etl_cli.extract.history import Coin
from etl_cli.transform.market_chart import normalize_market_chart
from tests.samples import CHART_BITCOIN_7D, CHART_MATIC_1D, CHART_TERRA_DAILY

FETCHED = datetime(2023, 10, 10, 19, 1, tzinfo=UTC)
BITCOIN = Coin("bitcoin", "btc", "Bitcoin")


def normalize(body: bytes, coin: Coin = BITCOIN):
    raw = RawPage("coingecko", "https://example.test/coins/x/market_chart/range", 200, FETCHED, body)
    return normalize_market_chart(SeriesPage.parse(raw), coin)


def served(body: bytes) -> dict[datetime, tuple]:
    """What the chart says, read with the json module: time -> (price, cap, volume)."""
    chart = json.loads(body, parse_float=Decimal)
    points: dict[datetime, list] = {}
    for index, series in enumerate(("prices", "market_caps", "total_volumes")):
        for ms, value in chart[series]:
            when = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)
            points.setdefault(when, [None, None, None])[index] = value
    return {when: tuple(values) for when, values in points.items()}


@pytest.mark.parametrize(
    ("path", "count"), [(CHART_BITCOIN_7D, 169), (CHART_MATIC_1D, 289), (CHART_TERRA_DAILY, 1157)]
)
def test_every_recorded_point_becomes_one_exact_snapshot(path, count):
    body = path.read_bytes()
    result = normalize(body)
    assert (len(result.snapshots), result.rejects) == (count, [])
    stored = {s.observed_at: (s.price_usd, s.market_cap_usd, s.volume_24h_usd) for s in result.snapshots}
    expected = {when: (p, None if c == 0 else c, v) for when, (p, c, v) in served(body).items()}
    assert stored == expected
    assert all(s.source_asset_id == "bitcoin" and s.symbol == "BTC" for s in result.snapshots)


def test_times_to_the_millisecond_and_the_now_point():
    snapshots = normalize(CHART_BITCOIN_7D.read_bytes()).snapshots
    assert snapshots[0].observed_at == datetime(2023, 10, 3, 19, 0, 22, 85000, tzinfo=UTC)
    assert snapshots[0].price_usd == Decimal("27309.802923311734")
    # The appended "now" point: 40.7 minutes after the one before, on a whole second.
    assert snapshots[-1].observed_at == datetime(2023, 10, 10, 18, 41, 43, tzinfo=UTC)
    assert snapshots[-1].price_usd == Decimal("27339.363878680077")


def test_scientific_notation_and_zero_caps_of_the_daily_chart():
    snapshots = {s.observed_at: s for s in normalize(CHART_TERRA_DAILY.read_bytes()).snapshots}
    tiny = snapshots[datetime(2022, 5, 29, tzinfo=UTC)]  # written 8.942189806384498e-05
    assert tiny.price_usd == Decimal("0.00008942189806384498")
    assert format(tiny.price_usd, "f") == "0.00008942189806384498"
    assert sum(s.market_cap_usd is None for s in snapshots.values()) == 166  # written 0.0: no supply data
    now_point = snapshots[datetime(2022, 7, 6, 19, 32, 40, tzinfo=UTC)]
    assert (now_point.price_usd, now_point.volume_24h_usd) == (
        Decimal("0.00011309377199738744"),
        Decimal("101286762.33928853"),
    )


def chart(prices: str, caps: str = "[]", volumes: str = "[]") -> bytes:
    return f'{{"prices":{prices},"market_caps":{caps},"total_volumes":{volumes}}}'.encode()


def test_arrays_of_different_lengths_and_times():
    result = normalize(chart("[[1000,1.5],[2000,2.5]]", "[[1000,10.0],[3000,30.0]]", "[[2000,7]]"))
    assert [
        (s.observed_at.timestamp(), s.price_usd, s.market_cap_usd, s.volume_24h_usd) for s in result.snapshots
    ] == [
        (1.0, Decimal("1.5"), Decimal("10.0"), None),
        (2.0, Decimal("2.5"), None, Decimal("7")),
    ]
    [reject] = result.rejects
    assert (reject.reason, reject.fragment) == (
        "no price at 1970-01-01T00:00:03+00:00",
        "market_caps [3000,30.0]",
    )


RANGE = "Must be greater than or equal to 0 and less than or equal to"


@pytest.mark.parametrize(
    ("pair", "reason"),
    [
        ("[1000,-1.5]", f"prices: value: {RANGE} 1E+30."),
        ('[1000,"abc"]', "prices: value: Not a valid number."),
        ("[1000.5,1]", "prices: time: Not a valid integer."),
        ("[-5,1]", f"prices: time: {RANGE} 253402300799999."),
        ("[1000]", "prices: not a [time, value] pair"),
        ('{"t":1000}', "prices: not a [time, value] pair"),
        ("[5000,2]", "prices: a second point at 1970-01-01T00:00:05+00:00"),
    ],
)
def test_a_bad_pair_is_rejected_with_its_exact_text_and_the_rest_loads(pair, reason):
    result = normalize(chart(f"[[5000,9.75],{pair}]"))
    assert [(r.source_asset_id, r.reason, r.fragment) for r in result.rejects] == [("bitcoin", reason, pair)]
    assert [s.price_usd for s in result.snapshots] == [Decimal("9.75")]


def test_a_null_price_is_a_time_without_price():
    result = normalize(chart("[[1000,null],[5000,9.75]]", "[[1000,2.0]]"))
    assert [(r.reason, r.fragment) for r in result.rejects] == [
        ("no price at 1970-01-01T00:00:01+00:00", "prices [1000,null]; market_caps [1000,2.0]")
    ]
    assert [s.price_usd for s in result.snapshots] == [Decimal("9.75")]


@pytest.mark.parametrize("body", [b"[]", b'{"prices": 5}', b"<html>", b'{"error":"coin not found"'])
def test_a_body_that_is_not_a_chart_is_one_reject_and_fails_the_run(body):
    raw = RawPage("coingecko", "https://example.test/chart", 200, FETCHED, body)
    page = SeriesPage.parse(raw)
    result = normalize_market_chart(page, BITCOIN)
    assert result.snapshots == [] and result.rejects[0].reason.startswith("page is not a market chart: ")
    with pytest.raises(Exception, match="did not return a JSON object of arrays"):
        page.record_count()
