"""CoinGecko /coins/markets pages to snapshots: pure, no I/O."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

import marshmallow as ma
from marshmallow import fields, validate

from etl_cli.extract.base import RawPage
from etl_cli.transform.parse import describe_invalid, iter_json_array, text_or_none
from etl_cli.transform.records import Normalized, Reject, Snapshot

# Anything larger is a corrupt value, not a market: it would not fit the database's NUMERIC either.
MAX_AMOUNT = Decimal("1e30")


def amount(**kwargs: object) -> fields.Decimal:
    """A non-negative exact amount; NaN and infinity are refused by the field itself."""
    return fields.Decimal(validate=validate.Range(min=0, max=MAX_AMOUNT), **kwargs)


class MarketRecord(ma.Schema):
    """The fields we use from one /coins/markets item; the other 20-odd are kept in the raw store."""

    class Meta:
        unknown = ma.EXCLUDE

    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    symbol = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(load_default=None, allow_none=True)
    current_price = amount(required=True)
    market_cap = amount(load_default=None, allow_none=True)
    total_volume = amount(load_default=None, allow_none=True)
    market_cap_rank = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    circulating_supply = amount(load_default=None, allow_none=True)
    total_supply = amount(load_default=None, allow_none=True)
    max_supply = amount(load_default=None, allow_none=True)
    last_updated = fields.AwareDateTime(required=True)


MARKET_RECORD = MarketRecord()


def normalize_markets(page: RawPage) -> Normalized:
    """Map one /coins/markets page to snapshots; an unusable item becomes a reject."""
    result = Normalized()
    try:
        items = list(iter_json_array(page.body))
    except ValueError as exc:
        reason = f"page is not a JSON array: {exc}"
        result.rejects.append(Reject(page.source, None, reason, page.body[:500].decode("utf-8", "replace")))
        return result
    for item, text in items:
        try:
            record = MARKET_RECORD.load(item)
        except ma.ValidationError as exc:
            result.rejects.append(Reject(page.source, text_or_none(item, "id"), describe_invalid(exc), text))
            continue
        result.snapshots.append(
            Snapshot(
                source=page.source,
                source_asset_id=record["id"],
                symbol=record["symbol"].upper(),
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
        )
    return result
