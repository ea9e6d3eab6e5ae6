"""CoinPaprika /tickers?quotes=USD pages to snapshots: pure, no I/O."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from etl_cli.extract.base import JsonArrayPage
from etl_cli.transform.parse import Amount, normalize_json_array, optional_amount, text, ticker_symbol
from etl_cli.transform.records import Normalized, Snapshot


class UsdQuote(ma.Schema):
    """`quotes.USD` of a ticker."""

    class Meta:
        unknown = ma.EXCLUDE

    price = Amount(required=True)
    volume_24h = optional_amount()
    market_cap = optional_amount()


class Quotes(ma.Schema):
    """`quotes` of a ticker: we ask for USD only."""

    class Meta:
        unknown = ma.EXCLUDE

    USD = fields.Nested(UsdQuote, required=True)


class Ticker(ma.Schema):
    """The fields we use from one ticker; the others are kept in the raw store."""

    class Meta:
        unknown = ma.EXCLUDE

    id = text(200, min_length=1, required=True)
    symbol = ticker_symbol()
    name = text(200, load_default=None, allow_none=True)
    rank = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    # On the free plan circulating_supply is absent; max_supply is 0 (not null) when uncapped.
    circulating_supply = optional_amount()
    total_supply = optional_amount()
    max_supply = optional_amount()
    last_updated = fields.AwareDateTime(required=True)
    quotes = fields.Nested(Quotes, required=True)


TICKER = Ticker()


def normalize_tickers(page: JsonArrayPage) -> Normalized:
    """Map one /tickers page to snapshots; an unusable ticker becomes a reject."""
    return normalize_json_array(page, TICKER, _snapshot)


def _snapshot(source: str, record: dict[str, Any]) -> Snapshot:
    usd = record["quotes"]["USD"]
    return Snapshot(
        source=source,
        source_asset_id=record["id"],
        symbol=record["symbol"],
        name=record["name"],
        observed_at=record["last_updated"].astimezone(UTC),
        price_usd=usd["price"],
        market_cap_usd=usd["market_cap"],
        volume_24h_usd=usd["volume_24h"],
        # CoinPaprika writes 0 for "no rank" and "no cap"; neither is a real value.
        market_cap_rank=record["rank"] or None,
        circulating_supply=record["circulating_supply"],
        total_supply=record["total_supply"] or None,
        max_supply=record["max_supply"] or None,
    )
