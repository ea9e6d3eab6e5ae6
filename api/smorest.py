"""Our flask-smorest Api and Blueprint: query arguments parsed by our rules, every error in one shape."""

from __future__ import annotations

from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Response
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from api.errors import ErrorSchema, http_error


class QueryParser(FlaskParser):
    """Query-string parser: a bad or unknown parameter is a 400, and a parameter given twice is refused."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE}

    def pre_load(self, location_data: Any, *, schema: ma.Schema, req: Any, location: str) -> Any:
        """Refuse repeated parameters: silently using the first of two would answer another question."""
        repeated = {key: ["give this parameter once"] for key in req.args if len(req.args.getlist(key)) > 1}
        if repeated:
            raise ma.ValidationError(repeated)
        return location_data


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest Blueprint whose query arguments follow our rules (400, unknown names refused)."""

    ARGUMENTS_PARSER = QueryParser()


class Api(flask_smorest.Api):
    """flask-smorest Api whose every error, wherever raised, has the same four keys."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        """Turn any HTTPException (and any unhandled exception, which Flask makes a 500) into error JSON."""
        return http_error(error)
