"""CoinGecko /coins/markets: endpoint, parameters and paging; the HTTP discipline lives in http.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from etl_cli.config import CoinGeckoSettings
from etl_cli.errors import FatalSourceError
from etl_cli.extract.base import HttpStats, JsonArrayPage, RawPage
from etl_cli.extract.http import HttpClient, error_code

log = logging.getLogger(__name__)

PER_PAGE = 250
# CoinGecko's answer when a key is sent to the host of the other plan.
WRONG_HOST_HINTS = {
    10010: "this is a Pro API key: set COINGECKO_API_PLAN=pro",
    10011: "this is a Demo API key: set COINGECKO_API_PLAN=demo",
}


class CoinGeckoExtractor:
    """Market data for the top coins by market cap, one page of `per_page` coins at a time."""

    name = "coingecko"

    def __init__(
        self,
        client: HttpClient,
        settings: CoinGeckoSettings,
        max_pages: int = 4,
        per_page: int = PER_PAGE,
    ) -> None:
        self.client = client
        self.settings = settings
        self.max_pages = max_pages
        self.per_page = per_page

    @property
    def stats(self) -> HttpStats:
        """HTTP requests and retries so far."""
        return self.client.stats

    def pages(self, state: Mapping[str, Any] | None = None) -> Iterator[JsonArrayPage]:
        """Yield pages 1..max_pages, stopping after a short or empty one (the API gives no total)."""
        for number in range(1, self.max_pages + 1):
            page = JsonArrayPage.parse(self._fetch(number))
            yield page  # kept in the raw store before anything judges it
            count = page.record_count()
            log.info("coingecko: page %d has %d records", number, count)
            if count < self.per_page:
                return

    def _fetch(self, number: int) -> RawPage:
        params = {
            "vs_currency": "usd",
            "order": "market_cap_desc",
            "per_page": self.per_page,
            "precision": "full",
            "page": number,
        }
        try:
            return self.client.get(f"{self.settings.base_url}/coins/markets", params)
        except FatalSourceError as exc:
            hint = WRONG_HOST_HINTS.get(error_code(exc.response))
            if hint:
                raise FatalSourceError(f"{exc} ({hint})", exc.response) from exc
            raise
