"""What a history source hands the backfill: its coins, the ranges one call may ask for, and the pages.

A history source is the past of a live source (same name, same ids): a coin's points over a time range, at
a granularity the plan serves. It knows its endpoints and its plans' limits; the backfill (etl_cli/backfill)
decides which ranges to ask for, and keeps, loads and accounts for every page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from etl_cli.extract.base import HttpStats, JsonArrayPage, ParsedPage

INTERVALS = ("hourly", "daily")


@dataclass(frozen=True)
class Coin:
    """A coin as one source names it: its id there, its symbol and its name."""

    id: str
    symbol: str
    name: str | None


@dataclass(frozen=True, order=True)
class Window:
    """The time range of one call, start inclusive and end exclusive, in whole seconds, UTC."""

    start: datetime
    end: datetime

    @property
    def span(self) -> timedelta:
        """How long the range is."""
        return self.end - self.start


@dataclass(frozen=True)
class Granularity:
    """The ranges one call may ask for to get points of an interval."""

    interval: str  # hourly, daily
    step: timedelta  # between two points
    shortest: timedelta  # a shorter range is stretched to this (CoinGecko answers it at a finer grain)
    longest: timedelta | None  # a longer range is split (CoinGecko answers it coarser; CoinPaprika cuts it)


@dataclass(frozen=True)
class Reach:
    """How far back a plan serves an interval, and what to say when asked for more."""

    days: int | None  # None: all the history there is
    plan: str  # "CoinGecko's demo plan serves only the past 365 days"
    remedy: str  # "use a later --since, or a paid plan (COINGECKO_API_PLAN=pro)"


def names_a_coin(item: Any) -> bool:
    """True for a catalog record with a non-empty string id and symbol."""
    return isinstance(item, dict) and all(
        isinstance(item.get(key), str) and item[key] for key in ("id", "symbol")
    )


class HistorySource(Protocol):
    """A source's past: knows its endpoints and its plans, nothing about storage."""

    name: str
    stats: HttpStats

    def granularity(self, interval: str) -> Granularity:
        """The ranges one call may ask for to get `interval` points."""
        ...

    def reach(self, interval: str) -> Reach:
        """How far back the configured plan serves `interval` points."""
        ...

    def catalog_calls(self, ids: Sequence[str] | None, top: int | None) -> int:
        """How many calls catalog() makes for these ids or this top N."""
        ...

    def catalog(self, ids: Sequence[str] | None, top: int | None) -> Iterator[JsonArrayPage]:
        """Yield the pages that name these coins, or the top N coins."""
        ...

    def coins(self, page: JsonArrayPage) -> list[Coin]:
        """The coins a catalog page names, in the source's order (by market cap)."""
        ...

    def fetch(self, coin: Coin, window: Window, interval: str) -> ParsedPage:
        """Get one coin's `interval` points over `window`."""
        ...
