"""Sources: one module per provider behind the Extractor protocol; SOURCES maps names to builders."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from etl_cli.config import Settings
from etl_cli.extract.base import Extractor
from etl_cli.extract.coingecko import CoinGeckoExtractor
from etl_cli.extract.http import HttpClient


def build_coingecko(
    settings: Settings,
    *,
    pages: int = 4,
    replay_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
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
    )
    return CoinGeckoExtractor(client, coingecko, max_pages=pages)


SOURCES: dict[str, Callable[..., Extractor]] = {"coingecko": build_coingecko}
