"""GET /assets, /assets/<id>, /assets/<id>/history: canonical assets and their latest and past prices."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, request, url_for
from flask_smorest import abort

from api import db, queries
from api.errors import ErrorSchema
from api.http import conditional
from api.responses import AssetEnvelopeSchema, AssetPageSchema, HistoryEnvelopeSchema
from api.schemas import INTERVALS, AssetsArgs, HistoryArgs, NoArgs
from api.smorest import Blueprint

blp = Blueprint("assets", __name__, description="Canonical assets, their latest snapshots and history")
NOT_MODIFIED = "Not modified: your copy (ETag / Last-Modified) is current"


@blp.route("/assets")
@blp.arguments(AssetsArgs, location="query")
@blp.response(200, AssetPageSchema)
@blp.alt_response(304, description=NOT_MODIFIED)
@conditional
def list_assets(args: dict[str, Any]) -> Response:
    """List canonical assets (by asset_id), each with the newest snapshot from each of its sources."""
    conn = db.get_conn()
    limit, offset = args["limit"], args["offset"]
    page = queries.asset_page(conn, args.get("symbol"), limit + 1, offset)
    has_more = len(page) > limit
    page = page[:limit]
    data = _with_listings(conn, page)
    next_url = None
    if has_more:
        query = {**request.args.to_dict(), "offset": offset + limit}
        next_url = url_for("assets.list_assets", **query)
    body = {
        "data": data,
        "pagination": {"limit": limit, "offset": offset, "count": len(data), "has_more": has_more},
        "links": {"self": request.full_path.rstrip("?"), "next": next_url},
    }
    # Typed rows go straight to JSON (as in /data); AssetPageSchema documents them and a test checks it.
    return current_app.json.response(body)


@blp.route("/assets/<int:asset_id>")
@blp.arguments(NoArgs, location="query")
@blp.response(200, AssetEnvelopeSchema)
@blp.alt_response(304, description=NOT_MODIFIED)
@blp.alt_response(404, schema=ErrorSchema, description="No asset has this id")
@conditional
def get_asset(_args: dict[str, Any], asset_id: int) -> dict[str, Any]:
    """Get one canonical asset with the newest snapshot from each of its sources."""
    conn = db.get_conn()
    row = queries.asset(conn, asset_id)
    if row is None:
        abort(404, message=f"no asset has id {asset_id}")
    return {"data": _with_listings(conn, [row])[0]}


@blp.route("/assets/<int:asset_id>/history")
@blp.arguments(HistoryArgs, location="query")
@blp.response(200, HistoryEnvelopeSchema)
@blp.alt_response(304, description=NOT_MODIFIED)
@blp.alt_response(404, schema=ErrorSchema, description="No asset has this id")
@conditional
def asset_history(args: dict[str, Any], asset_id: int) -> Response:
    """Get an asset's price, market cap and volume over time: one series per source, oldest point first.

    `interval=raw` gives every observation; `5m`, `15m`, `1h`, `4h`, `1d` give one point per bucket
    (buckets start on the hour / at 00:00 UTC), the last observation in it, so its values stay exact.
    """
    conn = db.get_conn()
    row = queries.asset(conn, asset_id)
    if row is None:
        abort(404, message=f"no asset has id {asset_id}")
    interval_s = INTERVALS[args["interval"]]
    limit = args["limit"]
    rows = queries.history(
        conn,
        asset_id,
        start=args.get("start"),
        end=args.get("end"),
        interval_s=interval_s,
        source=args.get("source"),
        limit=limit,
    )
    by_source: dict[str, list[Any]] = defaultdict(list)
    for point in rows:
        by_source[point.source].append(point)
    # The query returns at most limit + 1 points per source, oldest first; the extra one is dropped.
    series = [
        {
            "source": source,
            "truncated": len(points) > limit,
            "points": [_point(point, interval_s) for point in points[-limit:]],
        }
        for source, points in by_source.items()
    ]
    body = {
        "data": {
            "asset_id": row.asset_id,
            "symbol": row.symbol,
            "name": row.name,
            "interval": args["interval"],
            "series": series,
        }
    }
    return current_app.json.response(body)


def _point(row: Any, interval_s: int | None) -> dict[str, Any]:
    start = (
        row.observed_at if interval_s is None else datetime.fromtimestamp(int(row.bucket) * interval_s, UTC)
    )
    return {
        "t": start,
        "observed_at": row.observed_at,
        "price_usd": row.price_usd,
        "market_cap_usd": row.market_cap_usd,
        "volume_24h_usd": row.volume_24h_usd,
    }


def _with_listings(conn: Any, assets: list[Any]) -> list[dict[str, Any]]:
    listings = defaultdict(list)
    for row in queries.latest_listings(conn, [a.asset_id for a in assets]):
        listings[row.asset_id].append(
            {
                "source": row.source,
                "source_asset_id": row.source_asset_id,
                "price_usd": row.price_usd,
                "observed_at": row.observed_at,
            }
        )
    return [
        {"asset_id": a.asset_id, "symbol": a.symbol, "name": a.name, "sources": listings[a.asset_id]}
        for a in assets
    ]
