"""CoinGecko /coins/markets pages to snapshots: pure, no I/O."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from etl_cli.extract.base import JsonArrayPage
from etl_cli.transform.parse import Amount, normalize_json_array, optional_amount, text, ticker_symbol
from etl_cli.transform.records import Normalized, Snapshot


class MarketRecord(ma.Schema):
    """The fields we use from one /coins/markets item; the other 20-odd are kept in the raw store."""

    class Meta:
        unknown = ma.EXCLUDE

    id = text(200, min_length=1, required=True)
    symbol = ticker_symbol()
    name = text(200, load_default=None, allow_none=True)
    current_price = Amount(required=True)
    market_cap = optional_amount()
    total_volume = optional_amount()
    market_cap_rank = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    circulating_supply = optional_amount()
    total_supply = optional_amount()
    max_supply = optional_amount()
    last_updated = fields.AwareDateTime(required=True)


MARKET_RECORD = MarketRecord()


def normalize_markets(page: JsonArrayPage) -> Normalized:
    """Map one /coins/markets page to snapshots; an unusable item becomes a reject."""
    return normalize_json_array(page, MARKET_RECORD, _snapshot)


def _snapshot(source: str, record: dict[str, Any]) -> Snapshot:
    return Snapshot(
        source=source,
        source_asset_id=record["id"],
        symbol=record["symbol"],
        name=record["name"],
        observed_at=record["last_updated"].astimezone(UTC),
        price_usd=record["current_price"],
        market_cap_usd=record["market_cap"],
        volume_24h_usd=record["total_volume"],
        market_cap_rank=record["market_cap_rank"],
        circulating_supply=record["circulating_supply"],
        total_supply=record["total_supply"],
        max_supply=record["max_supply"],
    )
