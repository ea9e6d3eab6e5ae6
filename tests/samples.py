"""Helpers to build test pages from the real recorded payloads, keeping every digit as received."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import responses

from etl_cli.extract.base import iter_json_array

ROOT = Path(__file__).resolve().parents[1]
REPLAY_DIR = ROOT / "fixtures" / "replay" / "coingecko"
MARKETS_PAGE = REPLAY_DIR / "coins_markets_page1.json"
MARKETS_2023 = ROOT / "fixtures" / "coingecko" / "markets_usd_5ids_2023-01-02.json"
MARKETS_URL = "https://api.coingecko.com/api/v3/coins/markets"


def records(body: bytes) -> list[str]:
    """The exact source text of each record of a JSON array."""
    return [text for _, text in iter_json_array(body)]


def page(texts: Iterable[str]) -> bytes:
    """A JSON array body made of record texts."""
    return ("[" + ",".join(texts) + "]").encode()


def page_query(number: int, per_page: int = 250) -> dict[str, str]:
    """The query the extractor sends for a page."""
    return {
        "vs_currency": "usd",
        "order": "market_cap_desc",
        "per_page": str(per_page),
        "precision": "full",
        "page": str(number),
    }


def add_page(
    mock: responses.RequestsMock,
    number: int,
    per_page: int = 250,
    url: str = MARKETS_URL,
    **kwargs: object,
) -> None:
    """Register an answer for one page; repeated registrations answer in order."""
    kwargs.setdefault("status", 200)
    matchers = [responses.matchers.query_param_matcher(page_query(number, per_page))]
    matchers += kwargs.pop("match", [])
    mock.add(responses.GET, url, match=matchers, **kwargs)


COINPAPRIKA_REPLAY_DIR = ROOT / "fixtures" / "replay" / "coinpaprika"
COINPAPRIKA_TICKERS = COINPAPRIKA_REPLAY_DIR / "tickers.json"
COINPAPRIKA_TICKER = ROOT / "fixtures" / "coinpaprika" / "ticker_btc-bitcoin_quotes_usd_2022-04-19.json"
CSV_DIR = ROOT / "fixtures" / "csv"
IDENTITY_PAIRS = ROOT / "fixtures" / "identity_pairs.csv"
