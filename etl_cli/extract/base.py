"""What every source hands to the pipeline: raw pages, exactly as received, with the facts read from them."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from json.decoder import scanstring
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

from etl_cli.errors import FatalSourceError
from etl_cli.extract.csv_layout import CsvLayout
from etl_cli.progress import FilePosition

_DECODER = json.JSONDecoder(parse_float=Decimal)
_WHITESPACE = " \t\n\r"


@dataclass(frozen=True)
class RawPage:
    """One response body exactly as received; the unit the raw store keeps."""

    source: str
    url: str  # without secrets; file:// for files
    http_status: int | None  # None for files
    fetched_at: datetime  # UTC, timezone-aware
    body: bytes
    # A page that carries a checkpoint state is committed on its own, together with that state, so a long
    # stream (a big CSV file) resumes after its last committed page.
    state: Mapping[str, Any] | None = None
    # A page replayed from the raw store is whole in itself: it commits on its own too, so a long replay
    # neither holds every page in memory nor redoes what it committed.
    commit_alone: bool = False

    def position(self) -> FilePosition | None:
        """How far into its file the page ends, for progress; None for a page that is not from a file."""
        return None


@dataclass(frozen=True, kw_only=True)
class ParsedPage(RawPage):
    """A page whose body is parsed once on arrival, for the extractor and the transform both."""

    expected: ClassVar[str]  # what the body must be
    problem: str | None = None  # why the body is not that

    @classmethod
    def _parse(cls, page: RawPage, field: str, read: Callable[[bytes], Any]) -> Self:
        """Build the page with `field` read from the body; a body `read` refuses leaves it None, with why."""
        raw = page_fields(page)
        try:
            return cls(**raw, **{field: read(page.body)})
        except ValueError as exc:
            return cls(**raw, **{field: None}, problem=str(exc))
        except RecursionError:
            return cls(**raw, **{field: None}, problem="nested too deeply")

    def _check(self) -> None:
        """Fail the run when the body is unusable (the page is kept raw first)."""
        if self.problem is not None:
            start = self.body[:60].decode("utf-8", "replace")
            raise FatalSourceError(f"{self.url} did not return {self.expected} (body starts {start!r})")


@dataclass(frozen=True, kw_only=True)
class JsonArrayPage(ParsedPage):
    """A page whose body must be a JSON array."""

    expected = "a JSON array"
    items: tuple[tuple[Any, str], ...] | None  # each element and its exact text; None: not a JSON array

    @classmethod
    def parse(cls, page: RawPage) -> JsonArrayPage:
        """Parse a page's body; a body that is not a JSON array gives a page without items, saying why."""
        return cls._parse(page, "items", lambda body: tuple(iter_json_array(body)))

    def record_count(self) -> int:
        """How many records the page holds; a body that is not a JSON array fails the run."""
        self._check()
        return len(self.items or ())


@dataclass(frozen=True, kw_only=True)
class SeriesPage(ParsedPage):
    """A page whose body must be a JSON object of arrays (a chart's series)."""

    expected = "a JSON object of arrays"
    series: Mapping[str, tuple[tuple[Any, str], ...]] | None  # each array's elements and their exact text

    @classmethod
    def parse(cls, page: RawPage) -> SeriesPage:
        """Parse a page's body; a body that is not an object of arrays gives a page without series."""
        return cls._parse(page, "series", json_object_of_arrays)

    def record_count(self) -> int:
        """How many elements the series hold; a body that is not an object of arrays fails the run."""
        self._check()
        return sum(map(len, (self.series or {}).values()))


@dataclass(frozen=True, kw_only=True)
class CsvChunk(RawPage):
    """The header line and some data lines of a CSV file, byte for byte, with where they sit in it."""

    file: Path
    first_line: int  # the file's line number of the chunk's first line
    layout: CsvLayout  # read from the header once per file
    # Lines over the size limit, numbered among the body's lines: skipped unread, rejected by the transform.
    long_lines: tuple[LongLine, ...] = ()
    end_offset: int = 0  # the file's byte offset after the chunk's last line
    file_size: int = 0  # the file's size when the run began reading it

    def position(self) -> FilePosition:
        """How far into its file the chunk ends."""
        return FilePosition(self.file.name, self.end_offset, self.file_size)


@dataclass(frozen=True)
class LongLine:
    """A CSV line over the size limit: where it is, how long, and its first bytes."""

    number: int
    size: int
    head: bytes

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, as the raw store keeps it (the bytes in base64)."""
        return {"number": self.number, "size": self.size, "head": base64.b64encode(self.head).decode()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LongLine:
        """Read back what to_json wrote."""
        return cls(data["number"], data["size"], base64.b64decode(data["head"]))


@dataclass
class HttpStats:
    """What a run cost in HTTP terms, for the ledger."""

    requests: int = 0
    retries: int = 0


class Extractor(Protocol):
    """A source: knows its endpoints and paging, nothing about storage."""

    name: str
    stats: HttpStats

    def pages(self, state: Mapping[str, Any] | None = None) -> Iterator[RawPage]:
        """Yield raw pages in order, resuming after `state` if the source can; raise SourceError on failure.

        `state` is the checkpoint state of the last committed page that carried one (see RawPage.state).
        """
        ...


def iter_json_array(body: bytes) -> Iterator[tuple[Any, str]]:
    """Yield each element of a JSON array with its exact source text; floats parse as Decimal.

    Raises:
        ValueError: the body is not a JSON array (with nothing but whitespace after it).
    """
    text = body.decode("utf-8-sig")
    index = _skip_space(text, 0)
    if text[index : index + 1] != "[":
        raise ValueError("not a JSON array")
    items, end = json_array_at(text, index)
    if _skip_space(text, end) != len(text):
        raise ValueError(f"extra data after the array at character {end}")
    yield from items


def json_object_of_arrays(body: bytes) -> dict[str, tuple[tuple[Any, str], ...]]:
    """Read a JSON object whose every value is an array: each key's elements with their exact source text.

    Raises:
        ValueError: the body is not such an object (with nothing but whitespace after it).
    """
    text = body.decode("utf-8-sig")
    index = _skip_space(text, 0)
    if text[index : index + 1] != "{":
        raise ValueError("not a JSON object")
    found: dict[str, tuple[tuple[Any, str], ...]] = {}
    index = _skip_space(text, index + 1)
    if text[index : index + 1] != "}":
        while True:
            key, index = _key_at(text, index)
            items, index = json_array_at(text, index)
            found[key] = tuple(items)
            index = _skip_space(text, index)
            separator = text[index : index + 1]
            if separator == "}":
                break
            if separator != ",":
                raise ValueError(f"expected ',' or '}}' at character {index}")
            index = _skip_space(text, index + 1)
    if _skip_space(text, index + 1) != len(text):
        raise ValueError(f"extra data after the object at character {index + 1}")
    return found


def json_array_at(text: str, index: int) -> tuple[list[tuple[Any, str]], int]:
    """Read the JSON array that starts at text[index]: its elements with their exact text, and its end.

    Raises:
        ValueError: no well-formed array starts there.
    """
    items = []
    index = _skip_space(text, index + 1)
    if text[index : index + 1] != "]":
        while True:
            item, end = _DECODER.raw_decode(text, index)
            items.append((item, text[index:end]))
            index = _skip_space(text, end)
            separator = text[index : index + 1]
            if separator == "]":
                break
            if separator != ",":
                raise ValueError(f"expected ',' or ']' at character {index}")
            index = _skip_space(text, index + 1)
    return items, index + 1


def _key_at(text: str, index: int) -> tuple[str, int]:
    """Read `"key":` at text[index] and return the key and where an array must start."""
    if text[index : index + 1] != '"':
        raise ValueError(f"expected a key at character {index}")
    key, index = scanstring(text, index + 1)
    index = _skip_space(text, index)
    if text[index : index + 1] != ":":
        raise ValueError(f"expected ':' at character {index}")
    index = _skip_space(text, index + 1)
    if text[index : index + 1] != "[":
        raise ValueError(f"{key!r} is not an array")
    return key, index


def page_fields(page: RawPage) -> dict[str, Any]:
    """A page's RawPage fields, to build a parsed page of a richer type from it."""
    return {field.name: getattr(page, field.name) for field in fields(RawPage)}


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index
