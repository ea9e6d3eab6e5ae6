"""The API's log: one line per request (its X-Request-ID, method, path, status, duration), text or JSON.

Under gunicorn nothing sets up Python logging, so the app does, in CRYPTOETL_LOG_FORMAT; where a host
already did (pytest, an embedding app), its handlers are kept. Every record logged while a request is
handled carries that request's id.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from api.http import request_id
from etl_cli.logs import bind, configure, unbind

log = logging.getLogger("api.access")


def init_app(app: Flask, log_format: str) -> None:
    """Set up logging if the host did not, and log every request."""
    if not logging.getLogger().handlers:
        configure(log_format, logging.WARNING)
    log.setLevel(logging.INFO)
    app.before_request(_start)
    app.after_request(_log_request)
    app.teardown_request(_finish)


def _start() -> None:
    g.log_started = time.perf_counter()
    g.log_token = bind(request_id=request_id())


def _log_request(response: Response) -> Response:
    duration_ms = round((time.perf_counter() - g.get("log_started", time.perf_counter())) * 1000, 3)
    log.info(
        "%s %s %d %.1f ms",
        request.method,
        request.full_path.rstrip("?"),
        response.status_code,
        duration_ms,
        extra={
            "request_id": request_id(),
            "method": request.method,
            "path": request.full_path.rstrip("?"),
            "status": response.status_code,
            "duration_ms": duration_ms,
        },
    )
    return response


def _finish(_exc: BaseException | None = None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        unbind(token)
