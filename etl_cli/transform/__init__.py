"""Pure transforms: raw page in, normalized snapshots and rejects out. TRANSFORMS maps sources to them.

Each transform's module is imported when it first runs, so that a run imports only its own source's.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from etl_cli.transform.records import Normalized


def _on_first_use(module: str, name: str) -> Callable[..., Normalized]:
    """The function `name` of etl_cli.transform.`module`, imported when it is first called."""

    def transform(*args: Any, **kwargs: Any) -> Normalized:
        return getattr(import_module(f"etl_cli.transform.{module}"), name)(*args, **kwargs)

    return transform


# Each takes the page type its source's extractor yields (JsonArrayPage or CsvChunk).
TRANSFORMS: dict[str, Callable[..., Normalized]] = {
    "coingecko": _on_first_use("coingecko", "normalize_markets"),
    "coinpaprika": _on_first_use("coinpaprika", "normalize_tickers"),
    "csv": _on_first_use("csv_rows", "normalize_csv"),
}

# A source's past, page and coin to snapshots: the history sources' pages carry no symbol or name.
HISTORY_TRANSFORMS: dict[str, Callable[..., Normalized]] = {
    "coingecko": _on_first_use("market_chart", "normalize_market_chart"),
    "coinpaprika": _on_first_use("tick_history", "normalize_ticks"),
}
