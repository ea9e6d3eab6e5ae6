"""GET /stats and GET /health on both databases, fed by real pipeline runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.metadata import version

import sqlalchemy as sa

from etl_cli.schema.revisions import head_revision
from etl_cli.schema.tables import etl_runs, source_checkpoints
from tests.api.conftest import backfill_bitcoin_week, fail_a_run, load_replay


def body(response) -> dict:
    return json.loads(response.get_data(as_text=True))


def source_stats(client, name: str) -> dict:
    sources = body(client.get("/stats"))["data"]["sources"]
    return next(s for s in sources if s["source"] == name)


def test_stats_after_a_successful_run(client, engine):
    before = datetime.now(UTC)
    response = client.get("/stats")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store" and "ETag" not in response.headers
    stats = body(response)["data"]
    assert [s["source"] for s in stats["sources"]] == ["coingecko", "coinpaprika", "csv"]
    coingecko = stats["sources"][0]
    with engine.connect() as conn:
        run = conn.execute(sa.select(etl_runs)).one()
        checkpoint = conn.execute(sa.select(source_checkpoints)).one()
    assert coingecko["state"] == "ok"
    assert coingecko["runs_total"] == 1 and coingecko["records_loaded"] == 250
    assert coingecko["consecutive_failures"] == 0
    assert coingecko["last_run"]["run_id"] == run.run_id and coingecko["last_run"]["status"] == "succeeded"
    assert coingecko["last_run"]["loaded"] == 250 and coingecko["last_run"]["duration_s"] >= 0
    assert coingecko["last_success_at"] == checkpoint.last_success_at.isoformat()
    assert coingecko["last_failure_at"] is None and coingecko["last_error"] is None
    # The recorded page is from 2025-02-09: the lag is the time since its newest observation.
    newest = datetime.fromisoformat(coingecko["newest_observed_at"])
    assert newest == checkpoint.last_observed_at
    assert coingecko["freshness_lag_s"] >= (before - newest).total_seconds()
    assert [r["run_id"] for r in stats["recent_runs"]] == [run.run_id]
    never = stats["sources"][1]
    assert never["state"] == "never_run" and never["runs_total"] == 0 and never["last_run"] is None


def test_stats_count_failures_until_the_next_success(client, loaded_url, engine, tmp_path):
    fail_a_run(loaded_url, engine, tmp_path)
    fail_a_run(loaded_url, engine, tmp_path)
    failing = source_stats(client, "coingecko")
    assert failing["state"] == "failing" and failing["consecutive_failures"] == 2
    assert failing["runs_total"] == 3 and failing["records_loaded"] == 250
    assert failing["last_run"]["status"] == "failed" and "404" in failing["last_run"]["error"]
    assert failing["last_error"] == failing["last_run"]["error"]
    assert failing["last_failure_at"] is not None
    load_replay(loaded_url, engine)  # nothing new to load: all 250 skipped, but a success
    healed = source_stats(client, "coingecko")
    assert healed["state"] == "ok" and healed["consecutive_failures"] == 0 and healed["runs_total"] == 4
    recent = body(client.get("/stats?runs=2"))["data"]["recent_runs"]
    assert [r["status"] for r in recent] == ["succeeded", "failed"]
    assert client.get("/stats?runs=0").status_code == 400


def test_health_reports_database_schema_and_versions(loaded):
    response = loaded.client.get("/health", headers={"X-Request-ID": "dash-42"})
    assert response.status_code == 200
    health = body(response)
    assert health["status"] == "ok"
    assert health["database"]["reachable"] is True and health["database"]["latency_ms"] >= 0
    assert health["database"]["schema_version"] == head_revision()
    assert health["version"] == version("cryptoetl")
    assert health["request_id"] == "dash-42" == response.headers["X-Request-ID"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_backfill_does_not_hide_a_failing_schedule(client, loaded_url, engine, tmp_path):
    fail_a_run(loaded_url, engine, tmp_path)
    fail_a_run(loaded_url, engine, tmp_path)
    backfill = backfill_bitcoin_week(loaded_url, engine)
    assert (backfill.kind, backfill.status, backfill.loaded) == ("backfill", "succeeded", 169)
    coingecko = source_stats(client, "coingecko")
    assert coingecko["state"] == "failing" and coingecko["consecutive_failures"] == 2
    assert coingecko["last_run"]["status"] == "failed" and coingecko["last_run"]["kind"] == "run"
    assert coingecko["runs_total"] == 3 and coingecko["records_loaded"] == 250  # runs only
    assert coingecko["last_backfill"]["run_id"] == backfill.run_id
    assert coingecko["last_backfill"]["kind"] == "backfill" and coingecko["last_backfill"]["loaded"] == 169
    assert "404" in coingecko["last_error"]  # the live checkpoint still tells the last run's failure
    recent = body(client.get("/stats?runs=2"))["data"]["recent_runs"]
    assert [(r["kind"], r["status"]) for r in recent] == [("backfill", "succeeded"), ("run", "failed")]
    assert source_stats(client, "coinpaprika")["last_backfill"] is None
