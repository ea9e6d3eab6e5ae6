"""GET /assets, /assets/<id>, /assets/<id>/history: canonical assets and their latest and past prices."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, request, url_for
from flask_smorest import abort
from sqlalchemy.engine import Connection, Row

from api import db, queries
from api.errors import ErrorSchema
from api.http import NOT_MODIFIED, conditional
from api.paging import PageRequest, page_response
from api.queries import SnapshotFilter
from api.responses import (
    DIVERGENCE_PCT,
    AssetEnvelopeSchema,
    AssetPageSchema,
    HistoryEnvelopeSchema,
    MovedAssetSchema,
)
from api.schemas import INT32, AssetsArgs, HistoryArgs, Interval, NoArgs
from api.smorest import Blueprint
from api.totals import asset_total
from etl_cli.schema import reads
from etl_cli.schema.divergence import with_divergences

blp = Blueprint("assets", __name__, description="Canonical assets, their latest snapshots and history")
NO_SUCH_ASSET = "No asset has this id"
# An asset id is an INTEGER: any other (SQLite cannot even bind one past 64 bits) is a 404 before any query.
ASSET = f"/assets/<int(min=1, max={INT32}):asset_id>"
# A merge retires an asset id for good; its listings, snapshots and history are the survivor's now.
MOVED = "This asset was merged into another: `Location` (and the body) name the same request for the survivor"
MOVED_HEADERS = {
    "Location": {"description": "The same URL for the surviving asset", "schema": {"type": "string"}}
}


@blp.route("/assets")
@blp.arguments(AssetsArgs, location="query", as_kwargs=True)
@blp.response(200, AssetPageSchema)
@blp.alt_response(304, description=NOT_MODIFIED)
@conditional
def list_assets(symbol: str | None, page: PageRequest, count: str | None) -> Response:
    """List canonical assets (by asset_id), each with the newest snapshot from each of its sources."""
    conn = db.get_conn()
    rows, has_more = page.cut(queries.asset_page(conn, symbol, page.fetch, page.offset))
    next_args = {"offset": page.offset + page.limit} if has_more else None
    total = asset_total(conn, symbol, count).pagination() if count else {}
    return page_response(_with_listings(conn, rows), page, next_args, **total)


@blp.route(ASSET)
@blp.arguments(NoArgs, location="query", as_kwargs=True)
@blp.response(200, AssetEnvelopeSchema)
@blp.alt_response(304, description=NOT_MODIFIED)
@blp.alt_response(308, schema=MovedAssetSchema, description=MOVED, headers=MOVED_HEADERS)
@blp.alt_response(404, schema=ErrorSchema, description=NO_SUCH_ASSET)
@conditional
def get_asset(asset_id: int) -> dict[str, Any] | Response:
    """Get one canonical asset with the newest snapshot from each of its sources, and why each is there.

    An id that a merge retired answers 308 Permanent Redirect to the asset it was merged into.
    """
    conn = db.get_conn()
    asset = _asset_or_404(conn, asset_id)
    if asset.merged_into is not None:
        return _moved(asset, "assets.get_asset")
    return {"data": _with_listings(conn, [asset])[0]}


@blp.route(f"{ASSET}/history")
@blp.arguments(HistoryArgs, location="query", as_kwargs=True)
@blp.response(200, HistoryEnvelopeSchema)
@blp.alt_response(304, description=NOT_MODIFIED)
@blp.alt_response(308, schema=MovedAssetSchema, description=MOVED, headers=MOVED_HEADERS)
@blp.alt_response(404, schema=ErrorSchema, description=NO_SUCH_ASSET)
@conditional
def asset_history(asset_id: int, where: SnapshotFilter, interval: Interval, limit: int) -> Response:
    """Get an asset's price, market cap and volume over time: one series per source, oldest point first.

    `interval=raw` gives every observation; `5m`, `15m`, `1h`, `4h`, `1d` give one point per bucket
    (buckets start on the hour / at 00:00 UTC), the last observation in it, so its values stay exact.
    An id that a merge retired answers 308 Permanent Redirect to the survivor's history.
    """
    conn = db.get_conn()
    asset = _asset_or_404(conn, asset_id)
    if asset.merged_into is not None:
        return _moved(asset, "assets.asset_history")
    rows = queries.history(conn, replace(where, asset_id=asset_id), interval_s=interval.seconds, limit=limit)
    by_source: dict[str, list[Any]] = defaultdict(list)
    for point in rows:
        by_source[point.source].append(point)
    # The query returns at most limit + 1 points per source, oldest first; the extra one is dropped.
    series = [
        {
            "source": source,
            "truncated": len(points) > limit,
            "points": [_point(point, interval.seconds) for point in points[-limit:]],
        }
        for source, points in by_source.items()
    ]
    body = {
        "data": {
            "asset_id": asset.asset_id,
            "symbol": asset.symbol,
            "name": asset.name,
            "interval": interval.name,
            "series": series,
        }
    }
    return current_app.json.response(body)


def _asset_or_404(conn: Connection, asset_id: int) -> Row[Any]:
    asset = queries.asset(conn, asset_id)
    if asset is None:
        abort(404, message=f"no asset has id {asset_id}")
    return asset


def _moved(asset: Row[Any], endpoint: str) -> Response:
    """308 to the same request for the asset that a merge folded this one into."""
    location = url_for(endpoint, asset_id=asset.merged_into)
    if request.query_string:
        location += "?" + request.query_string.decode()
    body = {
        "asset_id": asset.asset_id,
        "merged_into": asset.merged_into,
        "location": location,
        "message": f"asset {asset.asset_id} was merged into asset {asset.merged_into}",
    }
    response = current_app.json.response(body)
    response.status_code = 308
    response.headers["Location"] = location
    return response


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
    views = with_divergences(conn, reads.asset_views(conn, assets), current_app.config[DIVERGENCE_PCT])
    return [view.as_dict() for view in views]
