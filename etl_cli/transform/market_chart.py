"""CoinGecko /market_chart/range bodies to snapshots, one per timestamp: pure, no I/O.

A chart is three arrays of [unix ms, value]: `prices`, `market_caps`, `total_volumes`. They usually share
their timestamps, but may not, and may differ in length; the last point of a range that reaches the present
is the present moment, off the grid. Each timestamp with a price becomes one snapshot of the coin, observed
at that millisecond; values are kept digit for digit (scientific notation included).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from etl_cli.extract.base import SeriesPage
from etl_cli.extract.history import Coin
from etl_cli.transform.parse import MAX_AMOUNT, Amount, describe_invalid
from etl_cli.transform.records import Normalized, Reject, Snapshot

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
# Each series and the snapshot field it fills.
SERIES = {"prices": "price_usd", "market_caps": "market_cap_usd", "total_volumes": "volume_24h_usd"}


class ChartPoint(ma.Schema):
    """One [unix ms, value] pair of a series."""

    time = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=LAST_MS))
    value = Amount(required=True, allow_none=True)


CHART_POINT = ChartPoint()


def normalize_market_chart(page: SeriesPage, coin: Coin) -> Normalized:
    """Map a chart of `coin` to one snapshot per timestamp; a bad pair or a time without price is a reject."""
    result = Normalized()
    if page.series is None:
        reason = f"page is not a market chart: {page.problem}"
        result.rejects.append(
            Reject(page.source, coin.id, reason, page.body[:500].decode("utf-8", "replace"))
        )
        return result
    values: dict[int, dict[str, Decimal | None]] = defaultdict(dict)
    texts: dict[int, list[str]] = defaultdict(list)
    for series, field in SERIES.items():
        for item, text in page.series.get(series, ()):
            point, reason = _read_point(item)
            if point is not None and field in values[point["time"]]:
                reason = f"a second point at {_utc(point['time']).isoformat()}"
            if point is None or reason:
                result.rejects.append(Reject(page.source, coin.id, f"{series}: {reason}", text))
                continue
            values[point["time"]][field] = point["value"]
            texts[point["time"]].append(f"{series} {text}")
    for time in sorted(values):
        point = values[time]
        price = point.get("price_usd")
        if price is None:
            reason = f"no price at {_utc(time).isoformat()}"
            result.rejects.append(Reject(page.source, coin.id, reason, "; ".join(texts[time])))
            continue
        result.snapshots.append(
            Snapshot(
                source=page.source,
                source_asset_id=coin.id,
                symbol=coin.symbol.upper(),
                name=coin.name,
                observed_at=_utc(time),
                price_usd=price,
                # CoinGecko writes a cap of 0.0 where it has no supply data (terra-luna until September 2019).
                market_cap_usd=point.get("market_cap_usd") or None,
                volume_24h_usd=point.get("volume_24h_usd"),
            )
        )
    return result


def _read_point(item: Any) -> tuple[dict[str, Any] | None, str | None]:
    """A pair as {time, value}, or None and why not.

    A well-formed pair (nearly all: a chart holds thousands) is read directly, at a fraction of the schema's
    cost; any other goes through the schema, which says what is wrong with it.
    """
    if isinstance(item, list) and len(item) == 2:
        time, value = item
        if type(time) is int and 0 <= time <= LAST_MS:
            if value is None:
                return {"time": time, "value": None}, None
            if type(value) in (Decimal, int) and 0 <= value <= MAX_AMOUNT:
                return {"time": time, "value": Decimal(value)}, None
    else:
        return None, "not a [time, value] pair"
    try:
        return CHART_POINT.load({"time": item[0], "value": item[1]}), None
    except ma.ValidationError as exc:
        return None, describe_invalid(exc)


def _utc(milliseconds: int) -> datetime:
    return EPOCH + timedelta(milliseconds=milliseconds)
