"""CoinGecko's past: /coins/{id}/market_chart/range for a coin's points, /coins/markets to name the coins.

CoinGecko picks the granularity from the range's length (its market chart range reference): a day up to now
gives 5-minute points, 2 to 90 days hourly points, more than 90 days daily points (00:00 UTC). So an hourly
range lasts 2 to 90 days and a daily one at least 91. The demo plan serves only the past 365 days.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import timedelta
from urllib.parse import quote

from etl_cli.config import CoinGeckoSettings
from etl_cli.extract.base import JsonArrayPage, SeriesPage
from etl_cli.extract.coingecko import PER_PAGE, call, markets_query
from etl_cli.extract.history import Coin, Granularity, Reach, Window, names_a_coin
from etl_cli.extract.http import HttpSource

GRANULARITIES = {
    "hourly": Granularity(
        "hourly", timedelta(hours=1), shortest=timedelta(days=2), longest=timedelta(days=90)
    ),
    "daily": Granularity("daily", timedelta(days=1), shortest=timedelta(days=91), longest=None),
}


class CoinGeckoHistory(HttpSource[CoinGeckoSettings]):
    """Market charts of CoinGecko coins, one range of one coin a call."""

    name = "coingecko"

    def granularity(self, interval: str) -> Granularity:
        """Hourly: ranges of 2 to 90 days; daily: of 91 days or more."""
        return GRANULARITIES[interval]

    def reach(self, interval: str) -> Reach:
        """CRYPTOETL_COINGECKO_HISTORY_DAYS back (the demo plan: 365), whatever the interval."""
        plan, days = self.settings.api_plan, self.settings.history_days
        if days is None:
            return Reach(None, f"CoinGecko's {plan} plan serves all history", "")
        remedy = "or a paid plan (COINGECKO_API_PLAN=pro)" if plan == "demo" else "or a larger plan"
        return Reach(
            days,
            f"CoinGecko's {plan} plan serves only the past {days} days (CRYPTOETL_COINGECKO_HISTORY_DAYS)",
            f"use a later --since, {remedy}",
        )

    def catalog_calls(self, ids: Sequence[str] | None, top: int | None) -> int:
        """One /coins/markets page per 250 coins."""
        return math.ceil((len(ids) if ids is not None else top or 0) / PER_PAGE)

    def catalog(self, ids: Sequence[str] | None, top: int | None) -> Iterator[JsonArrayPage]:
        """/coins/markets pages naming `ids` (250 a call), or the top `top` coins by market cap."""
        url = f"{self.settings.base_url}/coins/markets"
        if ids is not None:
            for start in range(0, len(ids), PER_PAGE):
                query = {**markets_query(1, PER_PAGE), "ids": ",".join(ids[start : start + PER_PAGE])}
                yield JsonArrayPage.parse(call(self.client, url, query))
            return
        per_page = min(top or 0, PER_PAGE)
        for number in range(1, self.catalog_calls(None, top) + 1):
            page = JsonArrayPage.parse(call(self.client, url, markets_query(number, per_page)))
            yield page
            if page.record_count() < per_page:
                return

    def coins(self, page: JsonArrayPage) -> list[Coin]:
        """The coins of a /coins/markets page, by market cap; records without an id or symbol are skipped."""
        return [
            Coin(item["id"], item["symbol"], item.get("name"))
            for item, _ in page.items or ()
            if names_a_coin(item)
        ]

    def fetch(self, coin: Coin, window: Window, interval: str) -> SeriesPage:
        """One coin's chart over `window`, every digit (`interval` follows from the window's length)."""
        query = {
            "vs_currency": "usd",
            "from": int(window.start.timestamp()),
            "to": int(window.end.timestamp()),
            "precision": "full",
        }
        url = f"{self.settings.base_url}/coins/{quote(coin.id, safe='')}/market_chart/range"
        return SeriesPage.parse(call(self.client, url, query))
