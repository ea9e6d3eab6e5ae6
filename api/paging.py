"""Paging of list endpoints: the page asked for, /data's sorts and keyset cursor, the page envelope."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
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

    Raises:
        ValueError: the text is not such a cursor.
    """
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        sort, value, snapshot_id = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise ValueError("not a cursor from a previous page") from exc
    if sort not in SORTS or type(snapshot_id) is not int or not (value is None or isinstance(value, str)):
        raise ValueError("not a cursor from a previous page")
    key = Sort(sort)
    if value is None:
        if not key.nullable:
            raise ValueError("not a cursor from a previous page")
        return Cursor(sort, None, snapshot_id)
    return Cursor(sort, _parse_value(key, value), snapshot_id)


def _parse_value(sort: Sort, text: str) -> datetime | Decimal | int:
    try:
        if sort.key == "observed_at":
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                raise ValueError("naive time")
            return parsed
        if sort.key == "rank":
            return int(text)
        number = Decimal(text)
    except (ValueError, InvalidOperation) as exc:
        raise ValueError("not a cursor from a previous page") from exc
    if not number.is_finite():
        raise ValueError("not a cursor from a previous page")
    return number
