"""Pure transforms: raw page in, normalized snapshots and rejects out. TRANSFORMS maps sources to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from etl_cli.transform.coingecko import normalize_markets
from etl_cli.transform.coinpaprika import normalize_tickers
from etl_cli.transform.csv_rows import normalize_csv
from etl_cli.transform.records import Normalized

# Each takes the page type its source's extractor yields (JsonArrayPage or CsvChunk).
TRANSFORMS: dict[str, Callable[[Any], Normalized]] = {
    "coingecko": normalize_markets,
    "coinpaprika": normalize_tickers,
    "csv": normalize_csv,
}
