"""The normalized schema in Python: what every source's transform produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Snapshot:
    """One observation of one asset by one source; prices in USD, exact."""

    source: str
    source_asset_id: str
    symbol: str
    name: str | None
    observed_at: datetime  # UTC, timezone-aware
    price_usd: Decimal
    market_cap_usd: Decimal | None = None
    volume_24h_usd: Decimal | None = None
    market_cap_rank: int | None = None
    circulating_supply: Decimal | None = None
    total_supply: Decimal | None = None
    max_supply: Decimal | None = None


@dataclass(frozen=True)
class Reject:
    """A source record we could not use, with why and the record as the source sent it."""

    source: str
    source_asset_id: str | None
    reason: str
    fragment: str


@dataclass
class Normalized:
    """The result of transforming one raw page."""

    snapshots: list[Snapshot] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
