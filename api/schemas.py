"""Marshmallow schemas of the query arguments: validated, bounded, unknown names refused.

Each builds the objects its view works with (as flask-smorest's pagination does): a view declared with
`as_kwargs=True` receives them ready, e.g. `where` (a SnapshotFilter), `sort` and `page` (a PageRequest).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from api.paging import CURSOR_TEXT, DEFAULT_SORT, SORTS, PageRequest, Sort, decode_cursor
from api.queries import SnapshotFilter
from api.totals import COUNT_METHODS
from etl_cli.schema import SOURCES

MAX_LIMIT = 1000
MAX_OFFSET = 10_000
MAX_POINTS = 10_000
INT32 = 2**31 - 1
INTERVALS = {"raw": None, "5m": 300, "15m": 900, "1h": 3600, "4h": 14_400, "1d": 86_400}


@dataclass(frozen=True)
class Interval:
    """A history's resolution: its name, and its bucket in seconds (None: every observation)."""

    name: str
    seconds: int | None


class QuerySchema(ma.Schema):
    """Base of query-string schemas: an unknown parameter is an error, not ignored."""

    class Meta:
        unknown = ma.RAISE


class UtcTime(fields.AwareDateTime):
    """An ISO 8601 time read as UTC; one that leaves the calendar once converted is a 400, not a 500."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        # RFC 3339, which the document's date-time format means, lets `T` and `Z` be lower case.
        text = value.upper() if isinstance(value, str) else value
        moment = super()._deserialize(text, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ma.ValidationError("out of range once converted to UTC") from None


class FullMatch(validate.Regexp):
    """A pattern the whole value must match, written so that it means the same in the OpenAPI document.

    JSON Schema reads patterns as ECMA-262, which has no end-of-text anchor but `$`; in Python `$` alone
    would let a trailing newline through, which matching the whole value does not.
    """

    def __call__(self, value: str) -> str:
        """Return the value if the pattern matches all of it."""
        if self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


# PostgreSQL cannot even receive a NUL in a parameter; no symbol has control characters.
SYMBOL = [
    validate.Length(1, 64),
    FullMatch(r"^[^\x00-\x1f\x7f]*$", error="contains a control character"),
]


def _time(name: str, meaning: str) -> fields.AwareDateTime:
    return UtcTime(
        data_key=name,
        default_timezone=UTC,
        metadata={
            "description": f"{meaning} (ISO 8601; without an offset, UTC; within years 1 to 9999 in UTC)",
            # Examples make a window a client (or schemathesis) can send as it is: `to` after `from`.
            "example": "2024-12-01T00:00:00Z" if name == "from" else "2024-12-02T00:00:00Z",
        },
    )


def _count() -> fields.String:
    return fields.String(
        validate=validate.OneOf(COUNT_METHODS),
        metadata={
            "description": "Add `pagination.total`: `exact` counts the matching rows; `estimated` takes "
            "PostgreSQL's planner estimate when it is large (exact below 10,000, and always on SQLite). "
            "Leave it out to page without counting."
        },
    )


def _snapshot_filter(data: dict[str, Any]) -> SnapshotFilter:
    # A schema's filter attributes (start and end, whatever their names in the query) are SnapshotFilter's.
    return SnapshotFilter(
        **{f.name: data[f.name] for f in dataclass_fields(SnapshotFilter) if f.name in data}
    )


def _check_range(data: dict[str, Any]) -> None:
    if data.get("start") and data.get("end") and data["start"] >= data["end"]:
        raise ma.ValidationError("must be later than `from`", field_name="to")


class CursorField(fields.String):
    """The opaque `cursor` of links.next, decoded into a Cursor."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return decode_cursor(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise ma.ValidationError("not a cursor from a previous page (use links.next as given)") from exc


class DataArgs(QuerySchema):
    """Filters, sort and paging of /data."""

    symbol = fields.String(
        validate=SYMBOL,
        metadata={"description": "Ticker symbol, any case", "example": "btc"},
    )
    asset_id = fields.Integer(
        validate=validate.Range(1, INT32), metadata={"description": "Canonical asset id"}
    )
    source = fields.String(validate=validate.OneOf(SOURCES), metadata={"description": "Source name"})
    start = _time("from", "Observations at or after this time")
    end = _time("to", "Observations before this time, which must be later than `from`")
    sort = fields.String(
        validate=validate.OneOf(SORTS),
        metadata={"description": f"Order; `-` for descending; ties by snapshot_id. Default `{DEFAULT_SORT}`"},
    )
    limit = fields.Integer(
        load_default=100, validate=validate.Range(1, MAX_LIMIT), metadata={"description": "Rows per page"}
    )
    offset = fields.Integer(
        load_default=0,
        validate=validate.Range(0, MAX_OFFSET),
        metadata={"description": f"Rows to skip (at most {MAX_OFFSET}; use `cursor` to page deeper)"},
    )
    count = _count()
    cursor = CursorField(
        metadata={
            "description": "Continue after a page: take its links.next or next_cursor as given (else a 400)",
            "minLength": 1,
            "pattern": f"^{CURSOR_TEXT.pattern}$",
        }
    )

    @ma.validates_schema
    def _consistent(self, data: dict[str, Any], **_kwargs: Any) -> None:
        _check_range(data)
        cursor = data.get("cursor")
        if cursor is None:
            return
        if data.get("offset"):
            raise ma.ValidationError("give either `cursor` or `offset`, not both", field_name="offset")
        if data.get("sort", cursor.sort) != cursor.sort:
            raise ma.ValidationError(f"this cursor continues sort={cursor.sort}", field_name="cursor")

    @ma.post_load
    def _build(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        cursor = data.get("cursor")
        return {
            "where": _snapshot_filter(data),
            "sort": Sort(data.get("sort", cursor.sort if cursor else DEFAULT_SORT)),
            "page": PageRequest(data["limit"], data["offset"], cursor),
            "count": data.get("count"),
        }


class AssetsArgs(QuerySchema):
    """Filter and paging of /assets."""

    symbol = fields.String(validate=SYMBOL, metadata={"description": "Ticker symbol, any case"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, MAX_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, INT32))
    count = _count()

    @ma.post_load
    def _build(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        page = PageRequest(data["limit"], data["offset"])
        return {"symbol": data.get("symbol"), "page": page, "count": data.get("count")}


class HistoryArgs(QuerySchema):
    """Window, resolution and size of an asset's history."""

    start = _time("from", "Points at or after this time")
    end = _time("to", "Points before this time, which must be later than `from`")
    interval = fields.String(
        load_default="raw",
        validate=validate.OneOf(list(INTERVALS)),
        metadata={"description": "`raw`: every observation; else one point per bucket, its last observation"},
    )
    source = fields.String(validate=validate.OneOf(SOURCES), metadata={"description": "Only this source"})
    limit = fields.Integer(
        load_default=1000,
        validate=validate.Range(1, MAX_POINTS),
        metadata={"description": "Most points per series (the newest are kept)"},
    )

    @ma.validates_schema
    def _consistent(self, data: dict[str, Any], **_kwargs: Any) -> None:
        _check_range(data)

    @ma.post_load
    def _build(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        interval = Interval(data["interval"], INTERVALS[data["interval"]])
        return {"where": _snapshot_filter(data), "interval": interval, "limit": data["limit"]}


class StatsArgs(QuerySchema):
    """How many recent runs /stats lists."""

    runs = fields.Integer(load_default=20, validate=validate.Range(1, 100))


class NoArgs(QuerySchema):
    """No parameters."""
