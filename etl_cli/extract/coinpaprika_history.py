"""CoinPaprika's past: /tickers/{coin_id}/historical for a coin's points, /tickers to name the coins.

What history each plan serves, per CoinPaprika's historical ticks reference: daily points for the last year
(free), 5 years (starter) or all of it (pro and up); hourly points for the last day (free), 30 days (starter),
90 days (pro), 365 days (business) or all of it (enterprise). A call returns 5,000 points at most.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from urllib.parse import quote

from etl_cli.config import CoinPaprikaSettings
from etl_cli.extract.base import JsonArrayPage
from etl_cli.extract.history import Coin, Granularity, Reach, Window, names_a_coin
from etl_cli.extract.http import HttpSource

LIMIT = 5000
GRANULARITIES = {
    "hourly": Granularity("hourly", timedelta(hours=1), timedelta(0), timedelta(hours=LIMIT - 1)),
    "daily": Granularity("daily", timedelta(days=1), timedelta(0), timedelta(days=LIMIT - 1)),
}
PARAMETERS = {"hourly": "1h", "daily": "1d"}
# Days of history per plan and interval; None: all of it.
REACH_DAYS: dict[str, dict[str, int | None]] = {
    "free": {"daily": 365, "hourly": 1},
    "starter": {"daily": 5 * 365, "hourly": 30},
    "pro": {"daily": None, "hourly": 90},
    "business": {"daily": None, "hourly": 365},
    "enterprise": {"daily": None, "hourly": None},
}


class CoinPaprikaHistory(HttpSource[CoinPaprikaSettings]):
    """Historical ticks of CoinPaprika coins, one range of one coin a call."""

    name = "coinpaprika"

    def granularity(self, interval: str) -> Granularity:
        """Any range up to 5,000 points."""
        return GRANULARITIES[interval]

    def reach(self, interval: str) -> Reach:
        """What COINPAPRIKA_API_PLAN serves of `interval` points."""
        plan = self.settings.api_plan
        days = REACH_DAYS[plan][interval]
        if days is None:
            return Reach(None, f"CoinPaprika's {plan} plan serves all {interval} history", "")
        daily = REACH_DAYS[plan]["daily"]
        other = (
            f"--interval daily (the past {daily} days on this plan), "
            if interval == "hourly" and (daily is None or daily > days)
            else ""
        )
        return Reach(
            days,
            f"CoinPaprika's {plan} plan (COINPAPRIKA_API_PLAN) serves {interval} points for the past "
            f"{'day' if days == 1 else f'{days} days'} only",
            f"use {other}a later --since, or set COINPAPRIKA_API_PLAN to a plan that serves more",
        )

    def catalog_calls(self, ids: Sequence[str] | None, top: int | None) -> int:
        """One /tickers call names every coin."""
        return 1

    def catalog(self, ids: Sequence[str] | None, top: int | None) -> Iterator[JsonArrayPage]:
        """The /tickers page: every coin CoinPaprika lists."""
        yield JsonArrayPage.parse(self.client.get(f"{self.settings.base_url}/tickers", {"quotes": "USD"}))

    def coins(self, page: JsonArrayPage) -> list[Coin]:
        """The coins of a /tickers page by rank (0, CoinPaprika's "no rank", last)."""
        tickers = [item for item, _ in page.items or () if names_a_coin(item)]
        tickers.sort(key=lambda item: item.get("rank") or float("inf"))
        return [Coin(item["id"], item["symbol"], item.get("name")) for item in tickers]

    def fetch(self, coin: Coin, window: Window, interval: str) -> JsonArrayPage:
        """One coin's ticks of `interval` over `window`, in USD."""
        query = {
            "start": _iso(window.start),
            "end": _iso(window.end),
            "interval": PARAMETERS[interval],
            "limit": LIMIT,
            "quote": "usd",
        }
        url = f"{self.settings.base_url}/tickers/{quote(coin.id, safe='')}/historical"
        return JsonArrayPage.parse(self.client.get(url, query))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
