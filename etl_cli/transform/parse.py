"""Parsing helpers shared by the transforms: exact JSON numbers and readable rejection reasons."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import marshmallow as ma

_DECODER = json.JSONDecoder(parse_float=Decimal)
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
