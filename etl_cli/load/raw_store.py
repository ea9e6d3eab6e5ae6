"""Append-only store of payloads as received; an identical body for the same source and URL is kept once.

A CSV chunk also keeps where in its file it was read (payload_chunks), which its body alone does not say:
a replay needs it to re-transform the chunk exactly.
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl_cli.extract.base import CsvChunk, RawPage
from etl_cli.load.bulk import dialect_insert
from etl_cli.schema.tables import payload_chunks, raw_payloads


def store_page(conn: Connection, page: RawPage, run_id: int) -> int:
    """Keep a page's body unless the same body from the same URL is already kept; return its payload id."""
    digest = hashlib.sha256(page.body).hexdigest()
    insert = dialect_insert(conn, raw_payloads).values(
        source=page.source,
        url=page.url,
        http_status=page.http_status,
        fetched_at=page.fetched_at,
        sha256=digest,
        body=page.body,
        run_id=run_id,
    )
    conn.execute(insert.on_conflict_do_nothing(index_elements=["source", "url", "sha256"]))
    payload_id = conn.scalar(
        sa.select(raw_payloads.c.payload_id).where(
            raw_payloads.c.source == page.source,
            raw_payloads.c.url == page.url,
            raw_payloads.c.sha256 == digest,
        )
    )
    if isinstance(page, CsvChunk):
        _store_place(conn, page, payload_id, run_id)
    return payload_id


def _store_place(conn: Connection, chunk: CsvChunk, payload_id: int, run_id: int) -> None:
    """Keep where in its file a chunk was read (two chunks with one body share the payload, not this)."""
    long_lines = json.dumps([line.to_json() for line in chunk.long_lines]) if chunk.long_lines else None
    insert = dialect_insert(conn, payload_chunks).values(
        payload_id=payload_id, first_line=chunk.first_line, long_lines=long_lines, run_id=run_id
    )
    conn.execute(insert.on_conflict_do_nothing(index_elements=["payload_id", "first_line"]))
