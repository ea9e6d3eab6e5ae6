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
    totals = {row.source: row for row in reads.run_totals(conn)}
    checkpoints = {row.source: row for row in reads.checkpoints(conn)}
    last_runs = {run.source: run for run in reads.runs_by_id(conn, [t.last_run_id for t in totals.values()])}
    failures = reads.failures_since(conn, {s: t.last_success_run_id for s, t in totals.items()})
    names = list(SOURCES) + sorted((set(totals) | set(checkpoints)) - set(SOURCES))
    sources = []
    for name in names:
        total, checkpoint = totals.get(name), checkpoints.get(name)
        newest = checkpoint.last_observed_at if checkpoint else None
        failing = failures.get(name, 0)
        sources.append(
            {
                "source": name,
                "state": "never_run" if total is None else "failing" if failing else "ok",
                "last_run": last_runs[name].as_dict() if name in last_runs else None,
                "last_success_at": checkpoint.last_success_at if checkpoint else None,
                "last_failure_at": checkpoint.last_failure_at if checkpoint else None,
                "last_error": checkpoint.last_error if checkpoint else None,
                "runs_total": total.runs_total if total else 0,
                "records_loaded": int(total.records_loaded) if total else 0,
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
