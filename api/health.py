"""GET /health: the database answers, how fast, at which schema version; the app's version."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from flask import current_app

from api import db
from api.errors import ErrorSchema
from api.http import request_id
from api.responses import HealthSchema
from api.schemas import NoArgs
from api.smorest import Blueprint

blp = Blueprint("health", __name__, description="Liveness and database reachability")


@blp.route("/health")
@blp.arguments(NoArgs, location="query", as_kwargs=True)
@blp.response(200, HealthSchema)
@blp.alt_response(
    503, schema=ErrorSchema, description="The database is unreachable or has no cryptoetl schema"
)
def health() -> dict[str, Any]:
    """Check that the database answers; 503 (with the reason) when it does not. Never cached."""
    started = time.perf_counter()
    conn = db.get_conn()
    conn.execute(sa.text("SELECT 1"))
    latency_ms = (time.perf_counter() - started) * 1000
    version = db.schema_version(conn)
    return {
        "status": "ok",
        "database": {
            "reachable": True,
            "dialect": conn.dialect.name,
            "latency_ms": round(latency_ms, 3),
            "schema_version": version,
        },
        "version": current_app.config["APP_VERSION"],
        "request_id": request_id(),
    }
