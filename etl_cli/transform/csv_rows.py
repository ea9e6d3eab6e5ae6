"""CSV chunks to snapshots: pure, no I/O. Two layouts, recognised once per file by the extractor.

A chunk body is the file's header line followed by some of its data lines, byte for byte; the chunk names its
file, the line number of its first data line (so that every reject names its line) and the file's layout.

The marshmallow schemas are the schema of record, and at about 100 us a row the slow part of a load. So a row
that is plainly valid (plain decimals, no quotes, short text: one compiled pattern per layout) is read without
them, into exactly the snapshot they would make; the schemas decide every other row, so every reject keeps its
reason. tests/transform/test_csv_plain.py holds the two paths to the same results on random rows.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from functools import lru_cache
from itertools import count
from typing import Any

import marshmallow as ma
from marshmallow import fields

from etl_cli.extract.base import CsvChunk
from etl_cli.extract.csv_layout import GENERIC_COLUMNS, GENERIC_OPTIONAL, CsvLayout
from etl_cli.transform.parse import (
    Amount,
    describe_invalid,
    optional_amount,
    readable,
    text,
    ticker_symbol,
)
from etl_cli.transform.records import Normalized, Reject, Snapshot

# A CSV id is `symbol-name`: symbol (64) and name kept within the 200 characters of source_asset_id.
NAME_MAX = 120
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A day's price in the historical files is its close, which those files write as 23:59:59 UTC.
DAY_CLOSE = time(23, 59, 59, tzinfo=UTC)


class ObservedAt(fields.Field):
    """A date (that day's close, 23:59:59 UTC) or an ISO 8601 datetime; without an offset it is UTC."""

    default_error_messages = {"invalid": "Not a date or ISO 8601 datetime."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        try:
            return observed_at(str(value))
        except ValueError:
            raise self.make_error("invalid") from None


@lru_cache(maxsize=4096)  # a file's rows share their times (every coin at each hour): read each time once
def observed_at(value: str) -> datetime:
    """A date or ISO 8601 datetime as an aware UTC datetime; raises ValueError for anything else."""
    text = value.strip()
    if DATE_ONLY.match(text):
        return datetime.combine(datetime.fromisoformat(text).date(), DAY_CLOSE)
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class HistoricalRow(ma.Schema):
    """A row of the historical-prices layout; High, Low and Open stay in the raw store."""

    class Meta:
        unknown = ma.EXCLUDE

    Name = text(NAME_MAX, min_length=1, required=True)
    Symbol = ticker_symbol()
    Date = ObservedAt(required=True)
    Close = Amount(required=True)
    Volume = optional_amount()
    Marketcap = optional_amount()


class GenericRow(ma.Schema):
    """A row of cryptoetl's own layout."""

    class Meta:
        unknown = ma.EXCLUDE

    symbol = ticker_symbol()
    name = text(NAME_MAX, load_default=None)
    price_usd = Amount(required=True)
    market_cap_usd = optional_amount()
    volume_24h_usd = optional_amount()
    observed_at = ObservedAt(required=True)
    source_asset_id = text(200, load_default=None)


@dataclass(frozen=True)
class RowMapping:
    """How to validate a row of one layout and where its values are."""

    schema: ma.Schema
    fields: dict[str, str]  # snapshot field -> column
    # For each column the schema reads: the pattern of a plain field, and how to read it as the schema does.
    # Any other column (High, Low, ...) takes any field text and is ignored, as the schema ignores it.
    plain: dict[str, tuple[str, Callable[[str], Any]]]


def _plain_amount(value: str) -> Decimal | None:
    return Decimal(value) if value else None


def _as_is(value: str) -> str:
    return value


# An unquoted field's character that the csv module passes as is; no backslash either, so that a line that
# was not UTF-8 (which reads with \x escapes) is never plain. Every character is storable text.
_PLAIN_CHAR = r'[^",\\\r\n\x00]'
# Printable ASCII: it upper-cases to as many characters.
_PLAIN_SYMBOL = (r"[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]{1,64}", str.upper)
# A plain decimal: under 1e30, so within Amount's range, and far from NUMERIC's limit of decimal places.
_PLAIN_AMOUNT = r"[0-9]{1,30}(?:\.[0-9]{1,100})?"
_REQUIRED_AMOUNT = (_PLAIN_AMOUNT, _plain_amount)
_OPTIONAL_AMOUNT = (f"(?:{_PLAIN_AMOUNT})?", _plain_amount)
# Read as the schema reads it; a time that observed_at() refuses (a ValueError) is not plain.
_PLAIN_TIME = (f"{_PLAIN_CHAR}{{1,64}}", observed_at)


def _plain_text(min_length: int, max_length: int) -> tuple[str, Callable[[str], Any]]:
    return f"{_PLAIN_CHAR}{{{min_length},{max_length}}}", _as_is


HISTORICAL = RowMapping(
    HistoricalRow(),
    {
        "name": "Name",
        "symbol": "Symbol",
        "observed_at": "Date",
        "price_usd": "Close",
        "volume_24h_usd": "Volume",
        "market_cap_usd": "Marketcap",
    },
    {
        "Name": _plain_text(1, NAME_MAX),
        "Symbol": _PLAIN_SYMBOL,
        "Date": _PLAIN_TIME,
        "Close": _REQUIRED_AMOUNT,
        "Volume": _OPTIONAL_AMOUNT,
        "Marketcap": _OPTIONAL_AMOUNT,
    },
)
GENERIC = RowMapping(
    GenericRow(),
    {column: column for column in (*GENERIC_COLUMNS, *GENERIC_OPTIONAL)},
    {
        "symbol": _PLAIN_SYMBOL,
        "name": _plain_text(0, NAME_MAX),
        "price_usd": _REQUIRED_AMOUNT,
        "market_cap_usd": _OPTIONAL_AMOUNT,
        "volume_24h_usd": _OPTIONAL_AMOUNT,
        "observed_at": _PLAIN_TIME,
        "source_asset_id": _plain_text(0, 200),
    },
)
MAPPINGS = {"historical": HISTORICAL, "generic": GENERIC}


@lru_cache(maxsize=4096)  # a file names its coins again on every row
def csv_asset_id(symbol: str, name: str | None) -> str:
    """A CSV coin's id when the file gives none: `btc-bitcoin` for Bitcoin, BTC."""
    slug = re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-")
    return f"{symbol.strip().lower()}-{slug}" if slug else symbol.strip().lower()


def normalize_csv(chunk: CsvChunk, *, plain: bool = True) -> Normalized:
    """Map one chunk to snapshots; a bad row becomes a reject naming its file and line.

    With `plain` false every row goes through the schema (the reference the plain rows are tested against).
    """
    mapping = MAPPINGS[chunk.layout.name]
    keys = chunk.layout.columns
    read_plain = _plain_reader(chunk.layout) if plain else None
    _header, *lines = chunk.body.removesuffix(b"\n").split(b"\n")
    result = Normalized()
    skipped = {long_line.number for long_line in chunk.long_lines}
    numbers = (number for number in count(chunk.first_line) if number not in skipped)
    for line, raw in zip(numbers, lines, strict=False):  # numbers never run out
        text = readable(raw).removesuffix("\r")
        if not text.strip():
            continue  # a blank line
        if read_plain is not None and (snapshot := read_plain(chunk.source, text)) is not None:
            result.snapshots.append(snapshot)
            continue
        reason, row = _read_row(raw, text)
        if reason is None and len(row) != len(keys):
            reason = f"has {len(row)} fields, the header has {len(keys)}"
        if reason is None:
            try:
                record = mapping.schema.load(dict(zip(keys, row, strict=True)))
                result.snapshots.append(_snapshot(chunk.source, mapping, record))
                continue
            except ma.ValidationError as exc:
                reason = describe_invalid(exc)
        result.rejects.append(Reject(chunk.source, None, f"{chunk.file.name} line {line}: {reason}", text))
    for long_line in chunk.long_lines:
        reason = (
            f"{chunk.file.name} line {long_line.number}: {long_line.size} bytes, over the line limit "
            f"(CRYPTOETL_CSV_MAX_LINE_BYTES); only its first {len(long_line.head)} bytes are kept"
        )
        result.rejects.append(Reject(chunk.source, None, reason, readable(long_line.head)))
    return result


def _read_row(raw: bytes, text: str) -> tuple[str | None, list[str]]:
    """A line's fields, or why the line cannot be read as a row at all."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 (byte {exc.start} of the line)", []
    if b"\0" in raw:
        return "contains a NUL character", []
    try:
        return None, next(csv.reader([text]))
    except csv.Error as exc:  # a field over the csv module's size limit, a carriage return mid-field
        return f"not a CSV row ({exc})", []


def _snapshot(source: str, mapping: RowMapping, record: dict[str, Any]) -> Snapshot:
    value = {field: record.get(column) for field, column in mapping.fields.items()}
    symbol = value["symbol"].strip()
    return Snapshot(
        source=source,
        source_asset_id=value.get("source_asset_id") or csv_asset_id(symbol, value["name"]),
        symbol=symbol,
        name=value["name"],
        observed_at=value["observed_at"],
        price_usd=value["price_usd"],
        market_cap_usd=value["market_cap_usd"],
        volume_24h_usd=value["volume_24h_usd"],
    )


PlainReader = Callable[[str, str], Snapshot | None]


@lru_cache(maxsize=16)
def _plain_reader(layout: CsvLayout) -> PlainReader:
    """A reader of a layout's plainly valid lines: (source, line) -> snapshot, or None to ask the schema."""
    mapping = MAPPINGS[layout.name]
    plain = mapping.plain
    fields = (f"({plain[key][0]})" if key in plain else f"{_PLAIN_CHAR}*" for key in layout.columns)
    pattern = re.compile(",".join(fields))
    readers = [(column, plain[column][1]) for column in layout.columns if column in plain]

    def read_plain(source: str, line: str) -> Snapshot | None:
        match = pattern.fullmatch(line)
        if match is None:
            return None
        try:
            values = zip(readers, match.groups(), strict=True)
            record = {column: read(value) for (column, read), value in values}
        except ValueError:
            return None
        return _snapshot(source, mapping, record)

    return read_plain
