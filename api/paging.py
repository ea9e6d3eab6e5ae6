"""Paging of list endpoints: the page asked for, /data's sorts and keyset cursor, the page envelope."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from flask import Response, current_app, request, url_for

T = TypeVar("T")

# Sort name -> (market_snapshots column, whether it can be NULL); each also sorts descending with "-".
SORT_KEYS = {
    "observed_at": ("observed_at", False),
    "price_usd": ("price_usd", False),
    "market_cap_usd": ("market_cap_usd", True),
    "rank": ("market_cap_rank", True),
}
SORTS = tuple(name for key in SORT_KEYS for name in (key, f"-{key}"))
DEFAULT_SORT = "-observed_at"
NOT_A_CURSOR = "not a cursor from a previous page"
CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]+")  # base64url without padding, as encode_cursor writes it
# What the sorted columns hold: snapshot_id is a BIGINT (SQLite's INTEGER alike), market_cap_rank an INTEGER,
# the amounts PostgreSQL NUMERICs (at most 131072 digits before the point and 16383 after).
BIGINT = range(-(2**63), 2**63)
INTEGER = range(-(2**31), 2**31)
NUMERIC_WHOLE_DIGITS = 131_072
NUMERIC_SCALE = 16_383


@dataclass(frozen=True)
class Sort:
    """A sort order: a column, a direction, ties broken by snapshot_id in the same direction."""

    name: str

    @property
    def key(self) -> str:
        """The sort's name without its direction."""
        return self.name.removeprefix("-")

    @property
    def descending(self) -> bool:
        """Whether larger values come first."""
        return self.name.startswith("-")

    @property
    def column(self) -> str:
        """The market_snapshots column sorted on."""
        return SORT_KEYS[self.key][0]

    @property
    def nullable(self) -> bool:
        """Whether the column can be NULL (NULLs then come last in both directions)."""
        return SORT_KEYS[self.key][1]


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort it belongs to, the last row's sort value and its snapshot_id."""

    sort: str
    value: datetime | Decimal | int | None
    snapshot_id: int


@dataclass(frozen=True)
class PageRequest:
    """The page a list endpoint was asked for: `limit` rows from `offset`, or after `cursor`."""

    limit: int
    offset: int = 0
    cursor: Cursor | None = None

    @property
    def fetch(self) -> int:
        """Rows to fetch: one more than a page says whether another follows, without a COUNT."""
        return self.limit + 1

    def cut(self, rows: list[T]) -> tuple[list[T], bool]:
        """This page's rows out of the `fetch` fetched, and whether more follow."""
        return rows[: self.limit], len(rows) > self.limit


def page_response(
    data: list[Any], page: PageRequest, next_args: Mapping[str, Any] | None, **pagination: Any
) -> Response:
    """Answer a list endpoint: its rows, where the page sits (plus `pagination`), links to it and the next.

    `next_args` take the place of `offset` and `cursor` in this request's query to make links.next; None
    means this is the last page. The rows are already typed (Decimal, aware datetime): dumping them through
    marshmallow again would cost more than the query. The endpoint's page schema documents them, and a test
    holds the answers to it.
    """
    next_url = None
    if next_args is not None:
        kept = {key: value for key, value in request.args.items() if key not in ("offset", "cursor")}
        next_url = url_for(request.endpoint or "", **request.view_args or {}, **kept, **next_args)
    body = {
        "data": data,
        "pagination": {
            "limit": page.limit,
            "offset": page.offset,
            "count": len(data),
            "has_more": next_args is not None,
            **pagination,
        },
        "links": {"self": request.full_path.rstrip("?"), "next": next_url},
    }
    return current_app.json.response(body)


def encode_cursor(sort: Sort, row: dict[str, Any]) -> str:
    """Make the cursor that continues after `row` (a row of market_snapshots) in `sort` order."""
    value = row[sort.column]
    # Decimals travel as their exact digits: the next page starts exactly after this value.
    text = None if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    raw = json.dumps([sort.name, text, row["snapshot_id"]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """Read a cursor made by encode_cursor.

    Its values must be ones their columns can hold: bound to a query, any other fails in the database (a 500
    where the client deserves a 400), or, written out on SQLite, can take gigabytes (`1e999999999999`).

    Raises:
        ValueError: the text is not such a cursor.
    """
    if not CURSOR_TEXT.fullmatch(text):
        raise ValueError(NOT_A_CURSOR)  # b64decode would skip foreign characters rather than refuse them
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        sort, value, snapshot_id = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise ValueError(NOT_A_CURSOR) from exc
    if sort not in SORTS or type(snapshot_id) is not int or snapshot_id not in BIGINT:
        raise ValueError(NOT_A_CURSOR)
    key = Sort(sort)
    if value is None and key.nullable:
        return Cursor(sort, None, snapshot_id)
    if not isinstance(value, str):
        raise ValueError(NOT_A_CURSOR)
    try:
        return Cursor(sort, _parse_value(key, value), snapshot_id)
    except (ValueError, InvalidOperation, OverflowError) as exc:
        raise ValueError(NOT_A_CURSOR) from exc


def _parse_value(sort: Sort, text: str) -> datetime | Decimal | int:
    if sort.key == "observed_at":
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment.astimezone(UTC)  # OverflowError when it leaves the calendar
    if sort.key == "rank":
        rank = int(text)
        if rank not in INTEGER:
            raise ValueError("beyond INTEGER")
        return rank
    number = Decimal(text)
    if not number.is_finite():
        raise ValueError("not a finite number")
    _sign, digits, exponent = number.as_tuple()
    if len(digits) + int(exponent) > NUMERIC_WHOLE_DIGITS or -int(exponent) > NUMERIC_SCALE:
        raise ValueError("beyond NUMERIC")
    return number
