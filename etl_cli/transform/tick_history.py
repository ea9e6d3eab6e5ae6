"""CoinPaprika /tickers/{coin_id}/historical pages to snapshots: pure, no I/O.

A page is a list of {timestamp, price, volume_24h, market_cap}, in USD (CoinPaprika's historical ticks
reference; no genuine recording of one is known to us).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields

from etl_cli.extract.base import JsonArrayPage
from etl_cli.extract.history import Coin
from etl_cli.transform.parse import Amount, normalize_json_array, optional_amount
from etl_cli.transform.records import Normalized, Snapshot


class Tick(ma.Schema):
    """One historical tick."""

    class Meta:
        unknown = ma.EXCLUDE

    timestamp = fields.AwareDateTime(required=True)
    price = Amount(required=True)
    volume_24h = optional_amount()
    market_cap = optional_amount()


TICK = Tick()


def normalize_ticks(page: JsonArrayPage, coin: Coin) -> Normalized:
    """Map one page of `coin`'s ticks to snapshots; an unusable tick becomes a reject."""

    def snapshot(source: str, record: dict[str, Any]) -> Snapshot:
        return Snapshot(
            source=source,
            source_asset_id=coin.id,
            symbol=coin.symbol.upper(),
            name=coin.name,
            observed_at=record["timestamp"].astimezone(UTC),
            price_usd=record["price"],
            market_cap_usd=record["market_cap"] or None,  # CoinPaprika writes 0 for "no cap"
            volume_24h_usd=record["volume_24h"],
        )

    result = normalize_json_array(page, TICK, snapshot)
    result.rejects = [replace(reject, source_asset_id=coin.id) for reject in result.rejects]
    return result
