"""Sources: one module per provider behind the Extractor protocol; SOURCES maps names to builders."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from etl_cli.config import Settings
from etl_cli.errors import ConfigError
from etl_cli.extract.base import Extractor
from etl_cli.extract.coingecko import CoinGeckoExtractor
from etl_cli.extract.coinpaprika import CoinPaprikaExtractor
from etl_cli.extract.csv_file import CsvExtractor
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
    coingecko = settings.coingecko
    secret = {coingecko.key_header: coingecko.api_key} if coingecko.api_key else {}
    client = HttpClient(
        "coingecko",
        settings.http,
        secret_headers=secret,
        calls_per_minute=coingecko.calls_per_minute,
        replay_dir=replay_dir,
        sleep=sleep,
        stop=stop,
    )
    return CoinGeckoExtractor(client, coingecko, max_pages=pages)


def build_coinpaprika(
    settings: Settings,
    *,
    replay_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    stop: threading.Event | None = None,
    **_: object,
) -> Extractor:
    """Build the CoinPaprika extractor; a key, if any, goes in the Authorization header."""
    coinpaprika = settings.coinpaprika
    client = HttpClient(
        "coinpaprika",
        settings.http,
        secret_headers={"Authorization": coinpaprika.api_key} if coinpaprika.api_key else {},
        calls_per_minute=coinpaprika.calls_per_minute,
        replay_dir=replay_dir,
        sleep=sleep,
        stop=stop,
    )
    return CoinPaprikaExtractor(client, coinpaprika)


def build_csv(settings: Settings, **_: object) -> Extractor:
    """Build the CSV extractor over CRYPTOETL_CSV_PATH (or --path); headers are checked before any write."""
    if settings.csv_path is None:
        raise ConfigError("--source csv needs --path FILE_OR_FOLDER (or CRYPTOETL_CSV_PATH)")
    return CsvExtractor(settings.csv_path, max_line_bytes=settings.csv_max_line_bytes)


SOURCES: dict[str, Callable[..., Extractor]] = {
    "coingecko": build_coingecko,
    "coinpaprika": build_coinpaprika,
    "csv": build_csv,
}
