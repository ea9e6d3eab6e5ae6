"""Read-only HTTP API over the cryptoetl database."""

from __future__ import annotations

from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import Flask
from flask_cors import CORS

from api import (
    access_log,
    assets,
    dashboard,
    data,
    db,
    docs,
    errors,
    health,
    http,
    metrics,
    responses,
    smorest,
    stats,
)
from etl_cli.config import Settings

DESCRIPTION = """Read-only market data from the cryptoetl database, for dashboards.

* Exact numbers (prices, caps, volumes, supplies) are JSON numbers carrying every stored digit:
  parse them as decimals (e.g. `json.loads(body, parse_float=Decimal)`), not as doubles.
* Times are ISO 8601 in UTC.
* Every error is `{"code", "status", "message", "errors"}`; `errors` names each bad parameter.
  An unknown or repeated query parameter is a 400.
* Every response carries `X-Request-ID` (yours, echoed, when you send one).
* Data endpoints send `ETag`, `Last-Modified` (from the latest successful ETL run) and
  `Cache-Control: public, max-age=...`: revalidate with `If-None-Match` to get a 304 while nothing loaded.
"""


def app_version() -> str:
    """The installed cryptoetl version."""
    try:
        return version("cryptoetl")
    except PackageNotFoundError:
        return "unknown"


def configure(settings: Settings, **overrides: Any) -> Settings:
    """Apply create_app's overrides: `database_url`, or any field of ApiConfig (checked as it is built).

    Raises:
        TypeError: an override names no setting.
        ValueError: an override's value is unusable.
    """
    database_url = overrides.pop("database_url", settings.database_url)
    return replace(settings, database_url=database_url, api=replace(settings.api, **overrides))


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Create the API app.

    Args:
        settings: shared settings; by default read from the environment (CRYPTOETL_DATABASE_URL, ...).
        **overrides: `database_url` or ApiConfig fields, e.g. database_url=..., statement_timeout_ms=...
    """
    settings = configure(settings or Settings.from_env(), **overrides)
    app = Flask(__name__)
    app.config.update(
        APP_VERSION=app_version(),
        CACHE_MAX_AGE_S=settings.api.cache_max_age_s,
        **{responses.DIVERGENCE_PCT: settings.divergence_pct},
        API_TITLE="cryptoetl API",
        API_VERSION=app_version(),
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"info": {"description": DESCRIPTION}},
    )
    http.init_app(app)
    access_log.init_app(app, settings.log_format)
    docs.init_app(app)
    metrics.init_app(app, settings.api.metrics_multiproc_dir)
    app.register_blueprint(dashboard.blp)
    db.init_app(app, settings)
    CORS(
        app,
        origins=list(settings.api.cors_origins),
        methods=["GET", "HEAD", "OPTIONS"],
        expose_headers=["ETag", "Last-Modified", "X-Request-ID"],
        max_age=600,
    )
    api = smorest.Api(app)
    errors.register_database_errors(app)
    for module in (data, assets, stats, health):
        api.register_blueprint(module.blp)
    return app
