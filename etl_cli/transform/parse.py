"""Validation helpers shared by the transforms: exact amounts, storable text, readable rejection reasons."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from etl_cli.extract.base import JsonArrayPage
from etl_cli.transform.records import Normalized, Reject, Snapshot

# Anything larger is a corrupt value, not a market: it would not fit the database's NUMERIC either.
MAX_AMOUNT = Decimal("1e30")
# The most digits after the decimal point PostgreSQL's NUMERIC holds; a value with more fails its whole page.
MAX_DECIMAL_PLACES = 16383


class Amount(fields.Decimal):
    """A non-negative exact amount; an empty string (as some providers send for unknown) reads as None."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=[validate.Range(min=0, max=MAX_AMOUNT), _storable_places], **kwargs)

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        """Read "" as null (where null is allowed), before validation."""
        if value == "" and self.allow_none:
            value = None
        return super().deserialize(value, attr, data, **kwargs)


def _storable_places(value: Decimal) -> None:
    """Refuse an amount with more decimal places than NUMERIC holds (1e-999999 has 999999 of them)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMAL_PLACES:
        msg = f"Has {-exponent} decimal places; the most a database column holds is {MAX_DECIMAL_PLACES}."
        raise ma.ValidationError(msg)


def text(max_length: int, min_length: int = 0, **kwargs: Any) -> fields.String:
    """A string any database can store, of `min_length` to `max_length` characters."""
    return fields.String(validate=_storable(max_length, min_length), **kwargs)


class Symbol(fields.String):
    """A ticker symbol, upper-cased as it is stored before its length is checked (ß upper-cases to SS)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).upper()


def ticker_symbol(**kwargs: Any) -> Symbol:
    """A required symbol of 1 to 64 characters once upper-cased, that any database can store."""
    return Symbol(required=True, validate=_storable(64, 1), **kwargs)


def _storable(max_length: int, min_length: int) -> list[validate.Validator]:
    # PostgreSQL's TEXT refuses NUL; a lone surrogate (from a JSON "\ud800") has no UTF-8 encoding at all.
    return [
        validate.Length(min=min_length or None, max=max_length),
        validate.Regexp(r"^[^\x00]*\Z", error="contains a NUL character"),
        validate.Regexp(r"^[^\ud800-\udfff]*\Z", error="contains a lone surrogate, which is not text"),
    ]


def optional_amount() -> Amount:
    """An amount the record may leave out, null or empty."""
    return Amount(load_default=None, allow_none=True)


def readable(data: bytes) -> str:
    r"""Source bytes as text for a reject: UTF-8, each byte that is not UTF-8 shown as an escape (\xe9)."""
    return data.decode("utf-8", "backslashreplace")


def describe_invalid(error: ma.ValidationError) -> str:
    """Flatten marshmallow's messages to one line: `field: message; field: message`."""
    messages = error.messages
    if not isinstance(messages, dict):
        return "; ".join(map(str, messages))
    parts = []
    for name, problems in sorted(messages.items()):
        text = " ".join(map(str, problems)) if isinstance(problems, list) else str(problems)
        parts.append(text if name == "_schema" else f"{name}: {text}")
    return "; ".join(parts)


def text_or_none(record: Any, key: str) -> str | None:
    """Return record[key] as text when the record is a mapping that has it, for labelling rejects."""
    if isinstance(record, dict) and record.get(key) not in (None, ""):
        return str(record[key])
    return None


def normalize_json_array(
    page: JsonArrayPage,
    schema: ma.Schema,
    to_snapshot: Callable[[str, dict[str, Any]], Snapshot],
) -> Normalized:
    """Validate each element of a JSON-array page with `schema`; a bad element becomes a reject."""
    result = Normalized()
    if page.items is None:
        reason = f"page is not a JSON array: {page.problem}"
        result.rejects.append(Reject(page.source, None, reason, readable(page.body[:500])))
        return result
    for item, text in page.items:
        try:
            record = schema.load(item)
        except ma.ValidationError as exc:
            result.rejects.append(Reject(page.source, text_or_none(item, "id"), describe_invalid(exc), text))
            continue
        result.snapshots.append(to_snapshot(page.source, record))
    return result
