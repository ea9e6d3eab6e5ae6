"""GET /stats: is the pipeline healthy? Per source: last run, successes, failures, volume, freshness."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app

from api import db
from api.responses import DIVERGENCE_PCT, StatsEnvelopeSchema
from api.schemas import StatsArgs
from api.smorest import Blueprint
from etl_cli.schema import SOURCES, reads
from etl_cli.schema.divergence import divergences

blp = Blueprint("stats", __name__, description="Pipeline health per source")


@blp.route("/stats")
@blp.arguments(StatsArgs, location="query")
@blp.response(200, StatsEnvelopeSchema)
def pipeline_stats(args: dict[str, Any]) -> dict[str, Any]:
    """Get per-source pipeline health and the most recent runs.

    Not cached: the freshness lag is measured at each request.
    """
    conn = db.get_conn()
    now = datetime.now(UTC)
    states = reads.source_states(conn)
    checkpoints = {row.source: row for row in reads.checkpoints(conn)}
    # Backfills are shown apart: their outcome says nothing of the schedule's health.
    backfills = reads.source_states(conn, kind=reads.BACKFILL)
    names = list(SOURCES) + sorted((set(states) | set(checkpoints) | set(backfills)) - set(SOURCES))
    sources = []
    for name in names:
        state, checkpoint = states.get(name), checkpoints.get(name)
        newest = checkpoint.last_observed_at if checkpoint else None
        failing = state.failures_since_success if state else 0
        sources.append(
            {
                "source": name,
                "state": "never_run" if state is None else "failing" if failing else "ok",
                "last_run": state.last_run.as_dict() if state else None,
                "last_backfill": backfills[name].last_run.as_dict() if name in backfills else None,
                "last_success_at": checkpoint.last_success_at if checkpoint else None,
                "last_failure_at": checkpoint.last_failure_at if checkpoint else None,
                "last_error": checkpoint.last_error if checkpoint else None,
                "runs_total": state.runs_total if state else 0,
                "records_loaded": state.records_loaded if state else 0,
                "consecutive_failures": failing,
                "newest_observed_at": newest,
                "freshness_lag_s": round((now - newest).total_seconds(), 3) if newest else None,
            }
        )
    recent = [run.as_dict() for run in reads.recent_runs(conn, limit=args["runs"])]
    diverging = len(divergences(conn, current_app.config[DIVERGENCE_PCT]))
    return {
        "data": {
            "generated_at": now,
            "diverging_assets": diverging,
            "sources": sources,
            "recent_runs": recent,
        }
    }
