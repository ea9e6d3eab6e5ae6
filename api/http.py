"""HTTP conventions of every endpoint: exact JSON numbers, X-Request-ID, ETag/Last-Modified, Cache-Control."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any

import simplejson
from flask import Flask, Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.http import is_resource_modified

from api import db, queries
from api.responses import DIVERGENCE_PCT

REQUEST_ID_HEADER = "X-Request-ID"
# What the 304 of a `conditional` view means, for its OpenAPI description.
NOT_MODIFIED = "Not modified: your copy (ETag / Last-Modified) is current"
# A client's id is echoed only if it is printable ASCII without spaces and not absurdly long.
_SANE_REQUEST_ID = re.compile(r"[!-~]{1,200}")


class ExactJSONProvider(DefaultJSONProvider):
    """JSON whose Decimals are written as numbers with all their digits: never through a float."""

    sort_keys = False  # keep fields in the documented order

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialize with simplejson, which writes Decimal as its exact digits."""
        kwargs.setdefault("default", _default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        # NaN and Infinity are not JSON; the ETL never stores them, and if it did we fail loudly.
        return simplejson.dumps(obj, use_decimal=True, allow_nan=False, **kwargs)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def init_app(app: Flask) -> None:
    """Install the JSON provider and the request-id and caching hooks."""
    app.json = ExactJSONProvider(app)
    app.before_request(_assign_request_id)
    app.after_request(_finish_headers)


def request_id() -> str:
    """The id of the current request: the client's X-Request-ID if sane, else a new one."""
    if "request_id" not in g:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    return g.request_id


def _assign_request_id() -> None:
    request_id()


def conditional(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer 304 before querying when the client's copy is current; tag the fresh answer otherwise.

    The validator is when each source last added rows (every commit that adds any, even a CSV chunk of a
    run that fails later) combined with the URL and what else shapes an answer (the app's version and its
    divergence threshold): an answer keeps its ETag until the data or the deployment changes.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        versions = queries.data_versions(db.get_conn())
        tag = "|".join(
            [
                current_app.config["APP_VERSION"],
                f"divergence={current_app.config[DIVERGENCE_PCT]}",
                *(f"{row.source}={row.last_loaded_at.isoformat()}" for row in versions),
                request.path,
                repr(sorted(request.args.items(multi=True))),
            ]
        )
        g.etag = hashlib.sha256(tag.encode()).hexdigest()[:32]
        g.last_modified = max((row.last_loaded_at for row in versions), default=None)
        if not is_resource_modified(request.environ, etag=g.etag, last_modified=g.last_modified):
            return Response(status=304)
        return view(*args, **kwargs)

    return wrapper


def _finish_headers(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    if "etag" in g and response.status_code in (200, 304):
        response.set_etag(g.etag)
        if g.last_modified is not None:
            response.last_modified = g.last_modified
        response.cache_control.public = True
        response.cache_control.max_age = current_app.config["CACHE_MAX_AGE_S"]
    elif "Cache-Control" not in response.headers:
        # Errors, /health and /stats (whose freshness lag changes every second) must not be reused.
        response.cache_control.no_store = True
    return response
