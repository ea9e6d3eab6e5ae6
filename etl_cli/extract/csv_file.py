"""CSV files behind the Extractor protocol: streamed in chunks, resumable, incremental.

Each chunk is a page (the header line plus up to `chunk_rows` data lines, byte for byte, with its file, the
number of its first data line and the layout read once from the header) that carries the file's progress as
checkpoint state: byte offset, next line number and the SHA-256 of everything before the offset. The pipeline
commits a chunk's rows with that state, so a killed run resumes after the last committed chunk; a file whose
bytes up to the offset are unchanged resumes there (a grown file loads only its new rows, an unchanged one
nothing), and a rewritten file is read again from the start (stored rows are skipped).
A last line without a line ending is left for the next run: a writer may still be appending to it, and a
half-written price must never load. Fields may not contain line breaks. A line over the size limit
(CRYPTOETL_CSV_MAX_LINE_BYTES) is read past in blocks, never held whole, and goes to the transform as a
LongLine to reject; with chunks cut at CHUNK_BYTES too, memory follows the chunk size, never a file's lines.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from etl_cli.config import DEFAULT_CSV_MAX_LINE_BYTES
from etl_cli.errors import ConfigError
from etl_cli.extract.base import CsvChunk, HttpStats, LongLine
from etl_cli.extract.csv_layout import CsvLayout, parse_header

log = logging.getLogger(__name__)
# Fewer, larger commits: at 5,000 rows a SQLite load spent a third of its time committing; memory stays flat.
CHUNK_ROWS = 20_000
# A chunk also ends once its lines reach this size, so that memory follows the chunk, not the file's lines.
CHUNK_BYTES = 16 << 20
LONG_LINE_HEAD = 200  # bytes of a line too long to load that its reject keeps
_BLOCK = 1 << 20


class CsvExtractor:
    """One or more CSV files, in name order."""

    name = "csv"

    def __init__(
        self, path: Path, chunk_rows: int = CHUNK_ROWS, max_line_bytes: int = DEFAULT_CSV_MAX_LINE_BYTES
    ) -> None:
        self.files = csv_files(path)
        self.chunk_rows = chunk_rows
        self.max_line_bytes = max_line_bytes
        self.stats = HttpStats()
        # Every header is checked before anything is written, and parsed only here.
        self.headers = {file: read_header(file, max_line_bytes) for file in self.files}

    def pages(self, state: Mapping[str, Any] | None = None) -> Iterator[CsvChunk]:
        """Yield each file's new lines in chunks, each carrying the progress it completes."""
        progress: dict[str, Any] = dict((state or {}).get("files", {}))
        for file in self.files:
            yield from self._chunks(file, progress)

    def _chunks(self, file: Path, progress: dict[str, Any]) -> Iterator[CsvChunk]:
        key = str(file.resolve())
        point = _resume_point(file, progress.get(key))
        size = file.stat().st_size
        if point.offset == size and point.offset:
            log.info("csv: %s unchanged since line %d, skipped", file.name, point.line - 1)
            return
        header, layout = self.headers[file]
        with file.open("rb") as handle:
            if point.offset == 0:
                point.advance(header)
            handle.seek(point.offset)
            reader = _LineReader(handle, point, self.max_line_bytes)
            for first_line, lines, long_lines in reader.chunks(self.chunk_rows):
                progress[key] = point.state()
                yield CsvChunk(
                    source=self.name,
                    url=file.resolve().as_uri(),
                    http_status=None,
                    fetched_at=datetime.now(UTC),
                    body=header + b"".join(lines),
                    state={"files": dict(progress)},
                    file=file,
                    first_line=first_line,
                    layout=layout,
                    long_lines=tuple(long_lines),
                    end_offset=point.offset,
                    file_size=size,
                )


def csv_files(path: Path) -> list[Path]:
    """The file itself, or a folder's *.csv files in name order."""
    if path.is_dir():
        files = sorted(p for p in path.glob("*.csv") if p.is_file())
        if not files:
            raise ConfigError(f"{path} has no .csv files")
        return files
    if not path.is_file():
        raise ConfigError(f"{path} is not a file or folder")
    return [path]


def read_header(file: Path, max_line_bytes: int = DEFAULT_CSV_MAX_LINE_BYTES) -> tuple[bytes, CsvLayout]:
    """A file's header line as read and its layout; a file with neither accepted header is refused."""
    with file.open("rb") as handle:
        line = handle.readline(max_line_bytes)
    if len(line) == max_line_bytes and not line.endswith(b"\n"):
        msg = f"{file}: the header line is longer than {max_line_bytes} bytes (CRYPTOETL_CSV_MAX_LINE_BYTES)"
        raise ConfigError(msg)
    try:
        return line, parse_header(line)
    except ValueError as exc:
        raise ConfigError(f"{file}: {exc}") from None


@dataclass
class _ReadPoint:
    """How far a file has been read: byte offset, next line number, SHA-256 of the bytes before the offset."""

    digest: Any = field(default_factory=hashlib.sha256)
    offset: int = 0
    line: int = 1

    def advance(self, line: bytes) -> None:
        """Move past one complete line."""
        self.digest.update(line)
        self.offset += len(line)
        self.line += 1

    def state(self) -> dict[str, Any]:
        """The checkpoint state a later run resumes from."""
        return {"offset": self.offset, "line": self.line, "sha256": self.digest.hexdigest()}


def _resume_point(file: Path, saved: Mapping[str, Any] | None) -> _ReadPoint:
    """Where to continue reading: after the saved offset if the bytes before it are unchanged, else at 0."""
    if not saved or saved["offset"] > file.stat().st_size:
        return _ReadPoint()
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        remaining = saved["offset"]
        while remaining:
            block = handle.read(min(_BLOCK, remaining))
            digest.update(block)
            remaining -= len(block)
    if digest.hexdigest() != saved["sha256"]:
        log.info("csv: %s changed before line %d, reading it again from the start", file.name, saved["line"])
        return _ReadPoint()
    return _ReadPoint(digest, saved["offset"], saved["line"])


class _LineReader:
    """A file's complete lines from a read point, moving the point past each; none held beyond the limit."""

    def __init__(self, handle: BinaryIO, point: _ReadPoint, max_line_bytes: int) -> None:
        self.handle = handle
        self.point = point
        self.max_line_bytes = max_line_bytes

    def chunks(self, rows: int) -> Iterator[tuple[int, list[bytes], list[LongLine]]]:
        """Yield (first line number, lines, long lines skipped) per `rows` lines or CHUNK_BYTES bytes.

        When a chunk is yielded, the read point stands right after its last line.
        """
        first, lines, long_lines, size = self.point.line, [], [], 0
        for line in self._lines():
            if isinstance(line, LongLine):
                long_lines.append(line)
            else:
                lines.append(line)
                size += len(line)
            if self.point.line - first >= rows or size >= CHUNK_BYTES:
                yield first, lines, long_lines
                first, lines, long_lines, size = self.point.line, [], [], 0
        if self.point.line > first:
            yield first, lines, long_lines

    def _lines(self) -> Iterator[bytes | LongLine]:
        """Complete lines; a longer one than allowed comes as a LongLine; an unterminated last line waits."""
        while True:
            line = self.handle.readline(self.max_line_bytes)
            if line.endswith(b"\n"):
                self.point.advance(line)
                yield line
                continue
            long_line = self._skip(line) if len(line) == self.max_line_bytes else None
            if long_line is None:
                if line:
                    log.warning(
                        "csv: %s ends in a line without a line ending; it waits for the next run",
                        self.handle.name,
                    )
                return
            yield long_line

    def _skip(self, head: bytes) -> LongLine | None:
        """Read past the rest of a line too long to load, block by block; None if the file ends first."""
        digest, size, number = self.point.digest.copy(), len(head), self.point.line
        digest.update(head)
        block = head
        while not block.endswith(b"\n"):
            block = self.handle.readline(_BLOCK)
            if not block:
                return None
            digest.update(block)
            size += len(block)
        self.point.digest, self.point.offset, self.point.line = digest, self.point.offset + size, number + 1
        log.warning(
            "csv: %s line %d has %d bytes, over the limit of %d: rejected",
            self.handle.name,
            number,
            size,
            self.max_line_bytes,
        )
        return LongLine(number, size, head[:LONG_LINE_HEAD])
