"""One log format for every cryptoetl process (the CLI, the scheduler, the API): text lines or JSON lines.

CRYPTOETL_LOG_FORMAT=json writes each record as one JSON object: time, level, logger, message, pid, and the
fields of the run or request it was logged in (run_id and source; request_id, ...), which `log_context`
binds for the code below it. python-json-logger does the writing: it carries any `extra=` field into the
object, serializes what JSON cannot hold (datetimes, exceptions) and writes tracebacks as a field, all of
which a formatter of our own would have to re-implement.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_NAMES = {"levelname": "level", "name": "logger", "process": "pid"}

# Per thread (and per request): the scheduler runs sources in parallel threads, each with its own.
_fields: ContextVar[Mapping[str, Any]] = ContextVar("cryptoetl_log_fields", default=MappingProxyType({}))


def bind(**fields: Any) -> Token[Mapping[str, Any]]:
    """Add `fields` to every record logged from here on in this context; undo with `unbind`."""
    return _fields.set({**_fields.get(), **fields})


def unbind(token: Token[Mapping[str, Any]]) -> None:
    """Drop the fields bound by the `bind` that gave `token`."""
    _fields.reset(token)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add `fields` to every record logged inside the block."""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


class ContextFields(logging.Filter):
    """Copy the bound fields onto each record (a field the call passed in `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the fields; never drop a record."""
        for name, value in _fields.get().items():
            record.__dict__.setdefault(name, value)
        return True


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of `log_format`: `json` (one object per line) or `text`."""
    if log_format == "json":
        # Imported here: every command sets up logging, and few want JSON.
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(
            "{levelname}{name}{message}{process}", style="{", rename_fields=JSON_NAMES, timestamp="time"
        )
    return logging.Formatter(TEXT_FORMAT)


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes: a live progress display may have wrapped it."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        """The current sys.stderr."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """Ignored: the stream is always the current sys.stderr."""


def log_handler(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """A handler of `log_format` lines, with the bound fields, to `stream` (default: sys.stderr, as it is)."""
    handler = _Stderr() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(ContextFields())
    return handler


def configure(log_format: str, level: int) -> None:
    """Send every record at `level` or above to stderr in `log_format`, replacing any handler set before."""
    logging.basicConfig(level=level, handlers=[log_handler(log_format)], force=True)
