"""Append-only store of payloads as received; an identical body for the same source and URL is kept once."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl_cli.extract.base import RawPage
from etl_cli.load.bulk import dialect_insert
from etl_cli.schema.tables import raw_payloads


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
    return conn.scalar(
        sa.select(raw_payloads.c.payload_id).where(
            raw_payloads.c.source == page.source,
            raw_payloads.c.url == page.url,
            raw_payloads.c.sha256 == digest,
        )
    )
