"""Which ranges a backfill asks for: gaps, equal splits, stretched short ranges, the plan's reach."""

from datetime import UTC, datetime, timedelta

import pytest

from etl_cli.backfill.windows import earliest_start, gaps, to_fetch, wanted
from etl_cli.errors import ConfigError
from etl_cli.extract.coingecko_history import GRANULARITIES as COINGECKO
from etl_cli.extract.coinpaprika_history import GRANULARITIES as COINPAPRIKA
from etl_cli.extract.history import Reach, Window

NOW = datetime(2026, 12, 3, 8, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOURLY, DAILY = COINGECKO["hourly"], COINGECKO["daily"]


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def spans(windows: list[Window]) -> list[float]:
    return [w.span / DAY for w in windows]


@pytest.mark.parametrize(
    ("days", "granularity", "expected"),
    [
        (90, HOURLY, [90]),  # CoinGecko serves up to 90 days hourly in one call
        (91, HOURLY, [45.5, 45.5]),  # equal halves, not 90 + 1 (which would come back 5-minutely)
        (365, HOURLY, [73, 73, 73, 73, 73]),
        (7, HOURLY, [7]),
        (0.5, HOURLY, [2]),  # a day or less would come back 5-minutely: stretched back to 2 days
        (365, DAILY, [365]),
        (30, DAILY, [91]),  # 90 days or less would come back hourly
        (300, COINPAPRIKA["hourly"], [150, 150]),  # 5,000 points a call at most
    ],
)
def test_ranges_the_source_serves_at_the_wanted_granularity(days, granularity, expected):
    assert spans(to_fetch(Window(days_ago(days), NOW), [], granularity, None, NOW)) == expected


def test_loaded_ranges_are_not_asked_again():
    want = Window(days_ago(10), NOW)
    loaded = [Window(days_ago(12), days_ago(6)), Window(days_ago(4), days_ago(3))]
    assert gaps(want, loaded) == [Window(days_ago(6), days_ago(4)), Window(days_ago(3), NOW)]
    assert gaps(want, [Window(days_ago(11), NOW)]) == []
    assert to_fetch(want, [want], HOURLY, None, NOW) == []
    # Less than an hour since a backfill that ended now: nothing to ask (the next one will).
    assert (
        to_fetch(
            Window(days_ago(10), NOW), [Window(days_ago(10), NOW - timedelta(minutes=40))], HOURLY, None, NOW
        )
        == []
    )
    # A gap of a few hours is asked as two days, stretched back over what is loaded.
    [again] = to_fetch(want, [Window(days_ago(10), NOW - timedelta(hours=5))], HOURLY, None, NOW)
    assert again == Window(NOW - 2 * DAY, NOW)


def test_a_stretched_range_stays_within_the_plan_reach():
    earliest = days_ago(364)
    [window] = to_fetch(Window(days_ago(363.5), days_ago(361.5)), [], DAILY, earliest, NOW)
    assert window == Window(earliest, earliest + 91 * DAY)


def test_the_plan_reach_refuses_an_earlier_since_in_one_line():
    demo = Reach(365, "CoinGecko's demo plan serves only the past 365 days", "use a later --since")
    assert earliest_start(Window(days_ago(300), NOW), HOURLY, demo, NOW) == days_ago(365) + timedelta(hours=1)
    with pytest.raises(ConfigError) as caught:
        earliest_start(Window(days_ago(400), NOW), HOURLY, demo, NOW)
    assert str(caught.value) == (
        "--since 2025-10-29 08:00 UTC is out of reach: CoinGecko's demo plan serves only the past 365 days, "
        "so --since 2025-12-03 09:00 UTC at the earliest; use a later --since"
    )
    assert earliest_start(Window(days_ago(4000), NOW), HOURLY, Reach(None, "all", ""), NOW) is None


def test_an_empty_range_is_refused():
    with pytest.raises(ConfigError, match=r"^--since 2026-12-04 00:00 UTC is not before now"):
        wanted(datetime(2026, 12, 4, tzinfo=UTC), None, NOW)
    with pytest.raises(ConfigError, match=r"is not before --until \(2026-11-01 00:00 UTC\)"):
        wanted(datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC), NOW)
    assert wanted(days_ago(2), NOW + DAY, NOW) == Window(days_ago(2), NOW)  # never past now
