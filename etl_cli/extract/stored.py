"""The raw store read back as a source: `cryptoetl replay` re-transforms stored payloads, with no network.

Behind the Extractor protocol, so a replay is an ordinary run of the pipeline (lock, ledger row, counts,
transactions): each stored page is rebuilt as its source's extractor first made it (a JSON page parsed
again; a CSV chunk with its file, first line, layout and over-long lines) and commits on its own, so a
replay of a long history holds one page at a time. Rows already stored are skipped as in any run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from etl_cli.errors import ConfigError
from etl_cli.extract.base import CsvChunk, HttpStats, JsonArrayPage, LongLine, RawPage
from etl_cli.extract.csv_layout import parse_header
from etl_cli.schema.reads import BACKFILL
from etl_cli.schema.tables import etl_runs, payload_chunks, raw_payloads

BATCH = 50  # payload bodies read per query: a few MB at most, never the whole store


class StoredPayloads:
    """The payloads a source stored (all of them, or those a run stored first), oldest first."""

    def __init__(self, engine: Engine, source: str, run_id: int | None = None) -> None:
        """Find what to replay; `engine` should be a reader, which takes no write lock on SQLite."""
        self.name = source
        self.stats = HttpStats()  # a replay makes no request
        self.engine = engine
        with engine.connect() as conn:
            self.places = _places(conn, source, run_id)

    def pages(self, state: Mapping[str, Any] | None = None) -> Iterator[RawPage]:
        """Yield each stored page rebuilt; `state`, the source's checkpoint, is left as it is."""
        for start in range(0, len(self.places), BATCH):
            batch = self.places[start : start + BATCH]
            with self.engine.connect() as conn:
                bodies = _payloads(conn, {place.payload_id for place in batch})
            for place in batch:
                yield self._page(bodies[place.payload_id], place)

    def _page(self, payload: Row[Any], place: Row[Any]) -> RawPage:
        raw = {
            "source": self.name,
            "url": payload.url,
            "http_status": payload.http_status,
            "fetched_at": payload.fetched_at,
            "body": payload.body,
            "commit_alone": True,
        }
        if self.name != "csv":
            return JsonArrayPage.parse(RawPage(**raw))
        header = payload.body.split(b"\n", 1)[0] + b"\n"
        long_lines = json.loads(place.long_lines) if place.long_lines else []
        return CsvChunk(
            **raw,
            file=Path(unquote(urlsplit(payload.url).path)),
            first_line=place.first_line,
            layout=parse_header(header),
            long_lines=tuple(LongLine.from_json(line) for line in long_lines),
        )


def _places(conn: Connection, source: str, run_id: int | None) -> list[Row[Any]]:
    """What to replay, in the order it was stored: payload ids, and for CSV each place a chunk was read.

    Raises:
        ConfigError: no such run of this source, or nothing stored to replay.
    """
    if run_id is not None:
        run = conn.execute(
            sa.select(etl_runs.c.source, etl_runs.c.kind).where(etl_runs.c.run_id == run_id)
        ).first()
        if run is None or run.source != source:
            owner = f"a {run.source} run" if run else "not in the ledger"
            raise ConfigError(f"--run {run_id} is {owner}, not a {source} run (see `cryptoetl runs`)")
        if run.kind == BACKFILL:
            raise ConfigError(
                f"--run {run_id} is a backfill, which replay does not re-read: run the same `cryptoetl "
                "backfill` again (it skips every range already stored)"
            )
    if source == "csv":
        # A chunk stored before its place was kept (revision 0005) cannot have its line numbers back.
        query = sa.select(
            payload_chunks.c.payload_id, payload_chunks.c.first_line, payload_chunks.c.long_lines
        )
        query = query.join(raw_payloads, raw_payloads.c.payload_id == payload_chunks.c.payload_id)
        if run_id is not None:
            query = query.where(payload_chunks.c.run_id == run_id)
        order = [payload_chunks.c.payload_id, payload_chunks.c.first_line]
    else:
        # What runs stored: a backfill's chart pages are another shape, for another transform.
        query = sa.select(raw_payloads.c.payload_id).join(
            etl_runs, etl_runs.c.run_id == raw_payloads.c.run_id
        )
        query = query.where(etl_runs.c.kind != BACKFILL)
        if run_id is not None:
            query = query.where(raw_payloads.c.run_id == run_id)
        order = [raw_payloads.c.payload_id]
    places = list(conn.execute(query.where(raw_payloads.c.source == source).order_by(*order)))
    if not places:
        run = f" by run {run_id}" if run_id is not None else ""
        raise ConfigError(f"nothing stored{run} to replay for {source}")
    return places


def _payloads(conn: Connection, payload_ids: set[int]) -> dict[int, Row[Any]]:
    columns = [raw_payloads.c[name] for name in ("payload_id", "url", "http_status", "fetched_at", "body")]
    query = sa.select(*columns).where(raw_payloads.c.payload_id.in_(sorted(payload_ids)))
    return {row.payload_id: row for row in conn.execute(query)}
