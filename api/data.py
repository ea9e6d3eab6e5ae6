"""GET /data: normalized snapshots, filtered, sorted, paged by offset or by keyset cursor."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request, url_for

from api import db, queries
from api.http import conditional
from api.paging import Sort, encode_cursor
from api.responses import SnapshotPageSchema
from api.schemas import DataArgs
from api.smorest import Blueprint

blp = Blueprint("data", __name__, description="Normalized market snapshots")


@blp.route("/data")
@blp.arguments(DataArgs, location="query")
@blp.response(200, SnapshotPageSchema)
@blp.alt_response(304, description="Not modified: your copy (ETag / Last-Modified) is current")
@conditional
def list_snapshots(args: dict[str, Any]) -> Response:
    """List snapshots: each row is a row of market_snapshots.

    Filters combine with AND. Pages come `limit` rows at a time; `links.next` continues with a keyset
    cursor, which stays fast however deep it goes and never skips or repeats a row while data loads.
    Exact numbers are JSON numbers with every stored digit: parse them as decimals, not doubles.
    """
    sort = Sort(args["sort"])
    where = queries.SnapshotFilter(
        symbol=args.get("symbol"),
        asset_id=args.get("asset_id"),
        source=args.get("source"),
        start=args.get("start"),
        end=args.get("end"),
    )
    limit = args["limit"]
    # One row more than asked says whether there is a next page without a COUNT over millions of rows.
    rows = queries.snapshots(
        db.get_conn(), where, sort, limit + 1, offset=args["offset"], after=args.get("cursor")
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(sort, rows[-1]) if has_more else None
    body = {
        "data": rows,
        "pagination": {
            "limit": limit,
            "offset": args["offset"],
            "count": len(rows),
            "has_more": has_more,
            "sort": sort.name,
            "next_cursor": next_cursor,
        },
        "links": {"self": request.full_path.rstrip("?"), "next": next_link(next_cursor)},
    }
    # Rows are already typed (Decimal, aware datetime); dumping them through marshmallow again would
    # cost more than the query. SnapshotPageSchema documents them, and a test holds the output to it.
    return current_app.json.response(body)


def next_link(cursor: str | None) -> str | None:
    """The URL of the next page: the same query, with the cursor in place of any offset."""
    if cursor is None:
        return None
    args = {key: value for key, value in request.args.items() if key not in ("offset", "cursor")}
    return url_for(request.endpoint or "", **request.view_args or {}, **args, cursor=cursor)
