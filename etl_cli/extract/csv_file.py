"""CSV files behind the Extractor protocol: streamed in chunks, resumable, incremental.

Each chunk is a page (the header line plus up to `chunk_rows` data lines, byte for byte, with its file, the
number of its first data line and the layout read once from the header) that carries the file's progress as
checkpoint state: byte offset, next line number and the SHA-256 of everything before the offset. The pipeline
commits a chunk's rows with that state, so a killed run resumes after the last committed chunk; a file whose
bytes up to the offset are unchanged resumes there (a grown file loads only its new rows, an unchanged one
nothing), and a rewritten file is read again from the start (stored rows are skipped).
A last line without a line ending is left for the next run: a writer may still be appending to it, and a
half-written price must never load. Fields may not contain line breaks.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from etl_cli.errors import ConfigError
from etl_cli.extract.base import CsvChunk, HttpStats
from etl_cli.extract.csv_layout import CsvLayout, parse_header

log = logging.getLogger(__name__)
CHUNK_ROWS = 5000
_BLOCK = 1 << 20


class CsvExtractor:
    """One or more CSV files, in name order."""

    name = "csv"

    def __init__(self, path: Path, chunk_rows: int = CHUNK_ROWS) -> None:
        self.files = csv_files(path)
        self.chunk_rows = chunk_rows
        self.stats = HttpStats()
        # Every header is checked before anything is written, and parsed only here.
        self.headers = {file: read_header(file) for file in self.files}

    def pages(self, state: Mapping[str, Any] | None = None) -> Iterator[CsvChunk]:
        """Yield each file's new lines in chunks, each carrying the progress it completes."""
        progress: dict[str, Any] = dict((state or {}).get("files", {}))
        for file in self.files:
            yield from self._chunks(file, progress)

    def _chunks(self, file: Path, progress: dict[str, Any]) -> Iterator[CsvChunk]:
        key = str(file.resolve())
        digest, offset, line = _resume_point(file, progress.get(key))
        if offset == file.stat().st_size and offset:
            log.info("csv: %s unchanged since line %d, skipped", file.name, line - 1)
            return
        header, layout = self.headers[file]
        with file.open("rb") as handle:
            if offset == 0:
                digest.update(header)
                offset, line = len(header), 2
            handle.seek(offset)
            for lines in _batches(handle, self.chunk_rows):
                first_line = line
                for raw in lines:
                    digest.update(raw)
                offset += sum(map(len, lines))
                line += len(lines)
                progress[key] = {"offset": offset, "line": line, "sha256": digest.hexdigest()}
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


def read_header(file: Path) -> tuple[bytes, CsvLayout]:
    """A file's header line as read and its layout; a file with neither accepted header is refused."""
    with file.open("rb") as handle:
        line = handle.readline()
    try:
        return line, parse_header(line)
    except ValueError as exc:
        raise ConfigError(f"{file}: {exc}") from None


def _resume_point(file: Path, saved: Mapping[str, Any] | None) -> tuple[Any, int, int]:
    """Where to continue reading: after the saved offset if the bytes before it are unchanged, else at 0."""
    digest = hashlib.sha256()
    if not saved or saved["offset"] > file.stat().st_size:
        return digest, 0, 1
    with file.open("rb") as handle:
        remaining = saved["offset"]
        while remaining:
            block = handle.read(min(_BLOCK, remaining))
            digest.update(block)
            remaining -= len(block)
    if digest.hexdigest() != saved["sha256"]:
        log.info("csv: %s changed before line %d, reading it again from the start", file.name, saved["line"])
        return hashlib.sha256(), 0, 1
    return digest, saved["offset"], saved["line"]


def _batches(handle: BinaryIO, size: int) -> Iterator[list[bytes]]:
    """Complete lines in batches of `size`; an unterminated last line is held back."""
    batch: list[bytes] = []
    for raw in handle:
        if not raw.endswith(b"\n"):
            log.warning(
                "csv: %s ends in a line without a line ending; it waits for the next run", handle.name
            )
            break
        batch.append(raw)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
