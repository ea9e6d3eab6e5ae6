"""One run per source at a time: a PostgreSQL advisory lock, or a file lock beside the SQLite file."""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl_cli.errors import RunLocked


@contextmanager
def source_lock(engine: Engine, source: str) -> Iterator[None]:
    """Hold the source's lock for the block; raise RunLocked at once if another process holds it.

    Both locks die with their holder, so a killed run never leaves a stale lock behind.
    """
    lock = _advisory_lock if engine.dialect.name == "postgresql" else _file_lock
    with lock(engine, source):
        yield


def _busy(source: str) -> RunLocked:
    return RunLocked(
        f"another {source} run is in progress on this database; "
        f"wait for it to finish (see `cryptoetl runs --source {source}`)"
    )


@contextmanager
def _advisory_lock(engine: Engine, source: str) -> Iterator[None]:
    digest = hashlib.sha256(f"cryptoetl.run.{source}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    # Session-level lock on a connection of its own, outside any transaction, held for the whole run.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}):
            raise _busy(source)
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})


@contextmanager
def _file_lock(engine: Engine, source: str) -> Iterator[None]:
    database = engine.url.database
    if database and database != ":memory:":
        path = Path(database).with_name(f"{Path(database).name}.{source}.lock")
    else:
        path = Path(tempfile.gettempdir()) / f"cryptoetl-memory.{source}.lock"
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(source) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
