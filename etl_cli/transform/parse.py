"""Parsing helpers shared by the transforms: exact JSON numbers and readable rejection reasons."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from etl_cli.extract.base import RawPage
from etl_cli.transform.records import Normalized, Reject, Snapshot

_DECODER = json.JSONDecoder(parse_float=Decimal)
# Anything larger is a corrupt value, not a market: it would not fit the database's NUMERIC either.
MAX_AMOUNT = Decimal("1e30")


class Amount(fields.Decimal):
    """A non-negative exact amount; an empty string (as some providers send for unknown) reads as None."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(min=0, max=MAX_AMOUNT), **kwargs)

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        """Read "" as null (where null is allowed), before validation."""
        if value == "" and self.allow_none:
            value = None
        return super().deserialize(value, attr, data, **kwargs)


def text(max_length: int, min_length: int = 0, **kwargs: Any) -> fields.String:
    """A string PostgreSQL can store (no NUL) of `min_length` to `max_length` characters."""
    no_nul = validate.Regexp(r"^[^\x00]*\Z", error="contains a NUL character")
    length = validate.Length(min=min_length or None, max=max_length)
    return fields.String(validate=[length, no_nul], **kwargs)


def optional_amount() -> Amount:
    """An amount the record may leave out, null or empty."""
    return Amount(load_default=None, allow_none=True)


_WHITESPACE = " \t\n\r"


def iter_json_array(body: bytes) -> Iterator[tuple[Any, str]]:
    """Yield each element of a JSON array with its exact source text; floats parse as Decimal.

    Raises:
        ValueError: the body is not a JSON array.
    """
    text = body.decode("utf-8-sig")
    index = _skip_space(text, 0)
    if text[index : index + 1] != "[":
        raise ValueError("not a JSON array")
    index = _skip_space(text, index + 1)
    if text[index : index + 1] == "]":
        return
    while True:
        item, end = _DECODER.raw_decode(text, index)
        yield item, text[index:end]
        index = _skip_space(text, end)
        separator = text[index : index + 1]
        if separator == "]":
            return
        if separator != ",":
            raise ValueError(f"expected ',' or ']' at character {index}")
        index = _skip_space(text, index + 1)


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


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
    page: RawPage,
    schema: ma.Schema,
    to_snapshot: Callable[[str, dict[str, Any]], Snapshot],
) -> Normalized:
    """Validate each element of a JSON-array page with `schema`; a bad element becomes a reject."""
    result = Normalized()
    try:
        items = list(iter_json_array(page.body))
    except ValueError as exc:
        reason = f"page is not a JSON array: {exc}"
        result.rejects.append(Reject(page.source, None, reason, page.body[:500].decode("utf-8", "replace")))
        return result
    for item, text in items:
        try:
            record = schema.load(item)
        except ma.ValidationError as exc:
            result.rejects.append(Reject(page.source, text_or_none(item, "id"), describe_invalid(exc), text))
            continue
        result.snapshots.append(to_snapshot(page.source, record))
    return result
