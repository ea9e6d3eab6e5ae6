"""gunicorn settings for the API's metrics: `gunicorn -c python:api.gunicorn_config 'api:create_app()'`.

With PROMETHEUS_MULTIPROC_DIR set, each worker counts its requests in files there and a scrape adds them
all up. When gunicorn starts, the folder is created if need be and cleared of earlier metrics files (only
prometheus_client's *.db: counts left by an earlier server would otherwise be added in); a dead worker's
files are marked so, as prometheus_client asks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl_cli.config import Settings


def on_starting(_server: Any) -> None:
    """Start with no metrics files, creating the folder if need be."""
    folder = Settings.from_env().api.metrics_multiproc_dir
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for leftover in Path(folder).glob("*.db"):
            leftover.unlink()


def child_exit(_server: Any, worker: Any) -> None:
    """Tell prometheus_client a worker is gone."""
    folder = Settings.from_env().api.metrics_multiproc_dir
    if folder is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, folder)
