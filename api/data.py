"""GET /data: normalized snapshots, filtered, sorted, paged by offset or by keyset cursor."""

from __future__ import annotations

from flask import Response

from api import db, queries
from api.http import NOT_MODIFIED, conditional
from api.paging import PageRequest, Sort, encode_cursor, page_response
from api.queries import SnapshotFilter
from api.responses import SnapshotPageSchema
from api.schemas import DataArgs
from api.smorest import Blueprint
from api.totals import snapshot_total

blp = Blueprint("data", __name__, description="Normalized market snapshots")


@blp.route("/data")
@blp.arguments(DataArgs, location="query", as_kwargs=True)
@blp.response(200, SnapshotPageSchema)
@blp.alt_response(304, description=NOT_MODIFIED)
@conditional
def list_snapshots(where: SnapshotFilter, sort: Sort, page: PageRequest, count: str | None) -> Response:
    """List snapshots: each row is a row of market_snapshots.

    Filters combine with AND. Pages come `limit` rows at a time; `links.next` continues with a keyset
    cursor, which stays fast however deep it goes and never skips or repeats a row while data loads.
    Exact numbers are JSON numbers with every stored digit: parse them as decimals, not doubles.
    """
    conn = db.get_conn()
    fetched = queries.snapshots(conn, where, sort, page.fetch, offset=page.offset, after=page.cursor)
    rows, has_more = page.cut(fetched)
    next_cursor = encode_cursor(sort, rows[-1]) if has_more else None
    next_args = {"cursor": next_cursor} if has_more else None
    total = snapshot_total(conn, where, count).pagination() if count else {}
    return page_response(rows, page, next_args, sort=sort.name, next_cursor=next_cursor, **total)
