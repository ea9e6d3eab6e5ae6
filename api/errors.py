"""One error shape for every error: {"code", "status", "message", "errors"}, whatever raised it."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from etl_cli.schema.errors import first_line, is_missing_table

log = logging.getLogger(__name__)
NO_SCHEMA_MESSAGE = "the database has no cryptoetl schema yet: run `cryptoetl db upgrade`"


class ErrorSchema(ma.Schema):
    """The body of every error response."""

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code", "example": 400})
    status = ma.fields.String(
        required=True, metadata={"description": "HTTP reason phrase", "example": "Bad Request"}
    )
    message = ma.fields.String(
        required=True,
        metadata={"description": "What went wrong, in one line", "example": "invalid parameter: limit"},
    )
    errors = ma.fields.Dict(
        required=True,
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={
            "description": "Per parameter name, what is wrong with it; empty when no parameter is at fault",
            "example": {"limit": ["Must be greater than or equal to 1 and less than or equal to 1000."]},
        },
    )


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot answer: unreachable, missing, too slow, or without the cryptoetl schema."""


def http_error(error: HTTPException) -> Response:
    """Build the error JSON of an HTTPException, keeping the headers it brings (Allow on a 405)."""
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = _flatten(data.get("errors") or data.get("messages") or {})
    if errors:
        message = f"invalid parameter{'s' if len(errors) > 1 else ''}: {', '.join(sorted(errors))}"
    else:
        message = data.get("message") or (error.description or error.name).strip().splitlines()[0]
    if code == 500:
        log.error("unhandled error", exc_info=getattr(error, "original_exception", None) or error)
    headers = [
        (name, value)
        for name, value in error.get_headers()
        if name.lower() not in ("content-type", "content-length")
    ]
    return error_response(code, message, errors, headers)


def error_response(
    code: int,
    message: str,
    errors: Mapping[str, list[str]] | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """Build the JSON response of an error."""
    payload = {
        "code": code,
        "status": HTTPStatus(code).phrase,
        "message": message,
        "errors": dict(errors or {}),
    }
    response = current_app.json.response(payload)
    response.status_code = code
    for name, value in headers:
        response.headers[name] = value
    return response


def register_database_errors(app: Flask) -> None:
    """Make a database failure met inside a view a 503 with a reason, not a bare 500."""
    app.register_error_handler(sa.exc.DBAPIError, _database_error)
    app.register_error_handler(DatabaseUnavailable, _unavailable)


def _database_error(exc: sa.exc.DBAPIError) -> Response:
    if is_missing_table(exc):
        return _unavailable(DatabaseUnavailable(NO_SCHEMA_MESSAGE))
    if getattr(exc.orig, "pgcode", None) == "57014" or str(exc.orig) == "interrupted":
        return _unavailable(DatabaseUnavailable("the query took longer than the statement timeout allows"))
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) or exc.connection_invalidated:
        return _unavailable(DatabaseUnavailable(f"the database is unreachable: {first_line(exc)}"))
    # Anything else (a syntax error, a missing column) is our bug: a logged 500.
    return http_error(InternalServerError(original_exception=exc))


def _unavailable(exc: DatabaseUnavailable) -> Response:
    log.warning("503: %s", exc.description)
    return error_response(503, exc.description or "the database is unavailable")


def _flatten(messages: Mapping[str, Any]) -> dict[str, list[str]]:
    # webargs nests messages under the location ({"query": {"limit": [...]}}); callers care about the name.
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        if key in ("query", "view_args") and isinstance(value, Mapping):
            flat.update(_flatten(value))
        elif isinstance(value, Mapping):
            flat[key] = [f"{inner}: {text}" for inner, texts in value.items() for text in _as_list(texts)]
        else:
            flat[key] = _as_list(value)
    return flat


def _as_list(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)]
