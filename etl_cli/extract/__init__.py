"""Sources: one module per provider behind the Extractor protocol; SOURCES maps names to builders.

Each builder imports its source's modules when it runs: a run of one source (a CSV file's no-op re-run
above all) does not pay for the HTTP stack of the others, nor does any import of this package's modules.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli.config import Settings
from etl_cli.errors import ConfigError

if TYPE_CHECKING:
    from etl_cli.extract.base import Extractor
    from etl_cli.extract.history import HistorySource
    from etl_cli.extract.http import HttpClient


def build_coingecko(
    settings: Settings,
    *,
    pages: int = 4,
    replay_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    stop: threading.Event | None = None,
    **_: object,
) -> Extractor:
    """Build the CoinGecko extractor; the key goes in a header, never in the URL."""
    from etl_cli.extract.coingecko import CoinGeckoExtractor

    client = http_client(settings, "coingecko", replay_dir=replay_dir, sleep=sleep, stop=stop)
    return CoinGeckoExtractor(client, settings.coingecko, max_pages=pages)


def build_coinpaprika(
    settings: Settings,
    *,
    replay_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    stop: threading.Event | None = None,
    **_: object,
) -> Extractor:
    """Build the CoinPaprika extractor; a key, if any, goes in the Authorization header."""
    from etl_cli.extract.coinpaprika import CoinPaprikaExtractor

    client = http_client(settings, "coinpaprika", replay_dir=replay_dir, sleep=sleep, stop=stop)
    return CoinPaprikaExtractor(client, settings.coinpaprika)


def http_client(settings: Settings, source: str, **options: Any) -> HttpClient:
    """The HTTP client of an API source: its key header and rate limit (options: replay_dir, sleep, stop)."""
    from etl_cli.extract.http import HttpClient

    api = settings.coingecko if source == "coingecko" else settings.coinpaprika
    header = settings.coingecko.key_header if source == "coingecko" else "Authorization"
    secret = {header: api.api_key} if api.api_key else {}
    return HttpClient(
        source, settings.http, secret_headers=secret, calls_per_minute=api.calls_per_minute, **options
    )


def build_csv(settings: Settings, **_: object) -> Extractor:
    """Build the CSV extractor over CRYPTOETL_CSV_PATH (or --path); headers are checked before any write."""
    from etl_cli.extract.csv_file import CsvExtractor

    if settings.csv_path is None:
        raise ConfigError("--source csv needs --path FILE_OR_FOLDER (or CRYPTOETL_CSV_PATH)")
    return CsvExtractor(settings.csv_path, max_line_bytes=settings.csv_max_line_bytes)


SOURCES: dict[str, Callable[..., Extractor]] = {
    "coingecko": build_coingecko,
    "coinpaprika": build_coinpaprika,
    "csv": build_csv,
}


def build_coingecko_history(settings: Settings, **options: Any) -> HistorySource:
    """CoinGecko's market charts, over the same client as its live extractor."""
    from etl_cli.extract.coingecko_history import CoinGeckoHistory

    return CoinGeckoHistory(http_client(settings, "coingecko", **options), settings.coingecko)


def build_coinpaprika_history(settings: Settings, **options: Any) -> HistorySource:
    """CoinPaprika's historical ticks, over the same client as its live extractor."""
    from etl_cli.extract.coinpaprika_history import CoinPaprikaHistory

    return CoinPaprikaHistory(http_client(settings, "coinpaprika", **options), settings.coinpaprika)


# The sources with a past to backfill.
HISTORY_SOURCES: dict[str, Callable[..., HistorySource]] = {
    "coingecko": build_coingecko_history,
    "coinpaprika": build_coinpaprika_history,
}
