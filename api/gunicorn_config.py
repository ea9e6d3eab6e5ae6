"""gunicorn settings for the API's metrics: `gunicorn -c python:api.gunicorn_config 'api:create_app()'`.

With PROMETHEUS_MULTIPROC_DIR set, each worker counts its requests in files there and a scrape adds them
all up. The folder is created and emptied when gunicorn starts (counts left by an earlier server would
otherwise be added in), and a dead worker's files are marked so, as prometheus_client asks.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from etl_cli.config import Settings


def on_starting(_server: Any) -> None:
    """Start the metrics folder empty."""
    folder = Settings.from_env().api.metrics_multiproc_dir
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True)


def child_exit(_server: Any, worker: Any) -> None:
    """Tell prometheus_client a worker is gone."""
    folder = Settings.from_env().api.metrics_multiproc_dir
    if folder is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, folder)
