"""GET /metrics: the API's requests and the pipeline's health, in Prometheus text format.

Request counts and latencies are counted per process; under several gunicorn workers, set
PROMETHEUS_MULTIPROC_DIR (see api/gunicorn_config.py) and every scrape adds up all workers' counts. The
pipeline's figures are read from the ledger at each scrape, through the read model the CLI shares, so they
are true whichever worker answers. Not in the OpenAPI document, never cached.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy.engine import Connection

from api import db
from api.errors import DatabaseUnavailable
from etl_cli.schema import reads

LABELS = ["endpoint", "method", "status"]
REQUESTS = Counter("cryptoetl_api_requests", "HTTP requests answered", LABELS)
LATENCY = Histogram("cryptoetl_api_request_duration_seconds", "Time to answer an HTTP request", LABELS)
MULTIPROC_DIR = "cryptoetl_metrics_multiproc_dir"  # app.config key: the workers' shared metrics, if any

blp = Blueprint("metrics", __name__)


@blp.route("/metrics")
def metrics() -> Response:
    """Answer a Prometheus scrape (text or OpenMetrics, as asked): requests of every worker, the ledger."""
    registry = CollectorRegistry(auto_describe=False)
    path = current_app.config[MULTIPROC_DIR]
    if path is None:
        registry.register(REGISTRY)  # this process's counts, and its process_* and python_* figures
    else:
        multiprocess.MultiProcessCollector(registry, path=path)
    registry.register(LedgerCollector())
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry), content_type=content_type)


def init_app(app: Flask, multiproc_dir: str | None) -> None:
    """Count every request and serve /metrics."""
    app.config[MULTIPROC_DIR] = multiproc_dir
    app.before_request(_start)
    app.after_request(_count)
    app.register_blueprint(blp)


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _count(response: Response) -> Response:
    labels = (request.endpoint or "none", request.method, str(response.status_code))
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(time.perf_counter() - g.get("metrics_started", time.perf_counter()))
    return response


class LedgerCollector(Collector):
    """Per-source figures of the pipeline, read from the ledger when scraped."""

    def collect(self) -> Iterator[Metric]:
        """Yield the ledger's figures, and whether they could be read."""
        up = GaugeMetricFamily("cryptoetl_ledger_up", "1 if the ledger could be read for this scrape")
        try:
            families = list(ledger_metrics(db.get_conn(), datetime.now(UTC)))
        except (DatabaseUnavailable, sa.exc.DBAPIError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def ledger_metrics(conn: Connection, now: datetime) -> Iterator[Metric]:
    """The pipeline's per-source counters and gauges, from etl_runs and source_checkpoints."""
    runs = CounterMetricFamily(
        "cryptoetl_runs",
        "Ledger rows, by kind (run, backfill, replay) and status",
        labels=["source", "kind", "status"],
    )
    rows = CounterMetricFamily("cryptoetl_rows_loaded", "Snapshots loaded by ETL runs", labels=["source"])
    loaded: dict[str, int] = defaultdict(int)
    for row in reads.runs_by_status(conn):
        runs.add_metric([row.source, row.kind, row.status], row.runs)
        loaded[row.source] += int(row.loaded)
    for source, count in sorted(loaded.items()):
        rows.add_metric([source], count)
    yield from (runs, rows)
    success = GaugeMetricFamily(
        "cryptoetl_source_last_success_timestamp_seconds",
        "When the source's last successful run finished (Unix time)",
        labels=["source"],
    )
    lag = GaugeMetricFamily(
        "cryptoetl_source_freshness_lag_seconds",
        "Seconds from the source's newest loaded observation to now",
        labels=["source"],
    )
    for checkpoint in reads.checkpoints(conn):
        if checkpoint.last_success_at is not None:
            success.add_metric([checkpoint.source], checkpoint.last_success_at.timestamp())
        if checkpoint.last_observed_at is not None:
            lag.add_metric([checkpoint.source], (now - checkpoint.last_observed_at).total_seconds())
    failures = GaugeMetricFamily(
        "cryptoetl_source_consecutive_failures",
        "Failed or abandoned runs (kind run) since the source's last successful run",
        labels=["source"],
    )
    for source, state in sorted(reads.source_states(conn).items()):
        failures.add_metric([source], state.failures_since_success)
    yield from (success, lag, failures)
