"""CoinPaprika /tickers: one response holds every ticker; the HTTP discipline lives in http.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from etl_cli.config import CoinPaprikaSettings
from etl_cli.extract.base import HttpStats, JsonArrayPage
from etl_cli.extract.http import HttpClient

log = logging.getLogger(__name__)


class CoinPaprikaExtractor:
    """Every CoinPaprika ticker with its USD quote, in one request."""

    name = "coinpaprika"

    def __init__(self, client: HttpClient, settings: CoinPaprikaSettings) -> None:
        self.client = client
        self.settings = settings

    @property
    def stats(self) -> HttpStats:
        """HTTP requests and retries so far."""
        return self.client.stats

    def pages(self, state: Mapping[str, Any] | None = None) -> Iterator[JsonArrayPage]:
        """Yield the single /tickers page."""
        page = JsonArrayPage.parse(self.client.get(f"{self.settings.base_url}/tickers", {"quotes": "USD"}))
        yield page  # kept in the raw store before anything judges it
        log.info("coinpaprika: %d tickers", page.record_count())
