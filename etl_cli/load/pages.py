"""Load transformed pages in the caller's transaction: snapshots, rejects, and the source's loaded mark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Connection

from etl_cli.load import ledger
from etl_cli.load.ledger import RunCounts
from etl_cli.load.snapshots import insert_snapshots
from etl_cli.transform.identity import AliasMap
from etl_cli.transform.records import Normalized


def load_pages(
    conn: Connection,
    source: str,
    run_id: int,
    pages: Sequence[tuple[int, Normalized]],
    aliases: AliasMap,
    now: datetime,
) -> RunCounts:
    """Insert the (payload id, normalized page) pairs' new snapshots and their rejects; return the counts."""
    snapshots = [(payload_id, s) for payload_id, page in pages for s in page.snapshots]
    rejects = [(payload_id, r) for payload_id, page in pages for r in page.rejects]
    loaded = insert_snapshots(conn, snapshots, run_id, now, aliases)
    ledger.record_rejects(conn, run_id, rejects, now)
    if loaded:
        ledger.mark_loaded(conn, source, now)  # readers revalidate their caches on it
    return RunCounts(
        extracted=len(snapshots) + len(rejects),
        loaded=loaded,
        skipped=len(snapshots) - loaded,
        rejected=len(rejects),
    )
