"""/metrics: request counts and latencies (summed over gunicorn workers), the ledger's figures per source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from etl_cli.schema.tables import source_checkpoints
from tests.api.conftest import dispose, fail_a_run, make_app
from tests.api.test_gunicorn import ROOT, free_port


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return samples(response.get_data(as_text=True))


def requests_counted(metrics: dict, endpoint: str, status: str) -> float:
    labels = (("endpoint", endpoint), ("method", "GET"), ("status", status))
    return metrics.get(("cryptoetl_api_requests_total", labels), 0)


def test_the_ledger_figures_per_source(client, loaded_url, engine, tmp_path):
    fail_a_run(loaded_url, engine, tmp_path)
    metrics = scrape(client)
    assert metrics[("cryptoetl_ledger_up", ())] == 1
    coingecko = (("source", "coingecko"),)
    assert (
        metrics[("cryptoetl_runs_total", (("kind", "run"), ("source", "coingecko"), ("status", "succeeded")))]
        == 1
    )
    assert (
        metrics[("cryptoetl_runs_total", (("kind", "run"), ("source", "coingecko"), ("status", "failed")))]
        == 1
    )
    assert metrics[("cryptoetl_rows_loaded_total", coingecko)] == 250
    assert metrics[("cryptoetl_source_consecutive_failures", coingecko)] == 1
    with engine.connect() as conn:
        checkpoint = conn.execute(sa.select(source_checkpoints)).one()
    assert metrics[("cryptoetl_source_last_success_timestamp_seconds", coingecko)] == pytest.approx(
        checkpoint.last_success_at.timestamp()
    )
    lag = metrics[("cryptoetl_source_freshness_lag_seconds", coingecko)]
    assert lag >= (datetime.now(UTC) - checkpoint.last_observed_at).total_seconds() - 60 > 0
    assert ("cryptoetl_source_consecutive_failures", (("source", "coinpaprika"),)) not in metrics


def test_requests_are_counted_by_endpoint_and_status_with_their_latency(client):
    before = scrape(client)
    assert client.get("/data?limit=1").status_code == 200
    assert client.get("/data?limit=0").status_code == 400
    after = scrape(client)
    for status in ("200", "400"):
        grown = requests_counted(after, "data.list_snapshots", status)
        assert grown == requests_counted(before, "data.list_snapshots", status) + 1
    latency = (("endpoint", "data.list_snapshots"), ("method", "GET"), ("status", "400"))
    assert after[("cryptoetl_api_request_duration_seconds_count", latency)] >= 1


def test_metrics_is_not_documented_nor_cached_and_survives_a_dead_database(loaded, tmp_path):
    response = loaded.client.get("/metrics")
    assert response.headers["Cache-Control"] == "no-store" and "ETag" not in response.headers
    assert "/metrics" not in loaded.client.get("/openapi.json").get_json()["paths"]
    missing = make_app(f"sqlite:///{tmp_path / 'missing.db'}")
    try:
        metrics = scrape(missing.test_client())
    finally:
        dispose(missing)
    assert metrics[("cryptoetl_ledger_up", ())] == 0


def test_gunicorn_workers_add_up_in_every_scrape_and_log_json(loaded, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CRYPTOETL_DATABASE_URL": loaded.url,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "CRYPTOETL_LOG_FORMAT": "json",
    }
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_999999.db").write_bytes(b"left by an earlier server")
    (tmp_path / "metrics" / "notes.txt").write_text("not a metrics file: kept")
    command = ["-m", "gunicorn", "-c", "python:api.gunicorn_config", "--workers", "2", "api:create_app()"]
    server = subprocess.Popen(
        [sys.executable, *command, "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    sent = 0
    try:
        wait_until_up(server, base)
        with ThreadPoolExecutor(8) as pool:
            # Concurrent requests reach both workers; sent in rounds until the metrics files show both.
            for _ in range(50):
                answers = list(pool.map(lambda i: requests.get(f"{base}/health", timeout=10), range(16)))
                assert all(answer.status_code == 200 for answer in answers)
                sent += len(answers)
                if len(list((tmp_path / "metrics").glob("counter_*.db"))) >= 2:
                    break
        assert len(list((tmp_path / "metrics").glob("counter_*.db"))) == 2
        for _ in range(6):  # whichever worker answers the scrape, it counts every worker's requests
            metrics = samples(requests.get(f"{base}/metrics", timeout=10).text)
            assert requests_counted(metrics, "health.health", "200") == sent + 1  # wait_until_up's
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    answered = [line for line in lines if line["logger"] == "api.access" and line["path"] == "/health"]
    assert len(answered) == sent + 1
    assert len({line["pid"] for line in answered}) == 2
    assert (tmp_path / "metrics" / "notes.txt").exists()
    assert all(line["request_id"] and line["status"] == 200 for line in answered)


def wait_until_up(server: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert server.poll() is None, "gunicorn exited before serving"
        try:
            requests.get(f"{base}/health", timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):  # still booting
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.2)
