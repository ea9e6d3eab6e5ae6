"""schemathesis over the whole OpenAPI document, in process (WSGI), on real data, every check on.

Every operation gets schema-valid and schema-invalid requests (examples, boundary values, fuzzing); every
answer must conform: no 5xx, a documented status and content type, a body matching its schema, valid
requests accepted and invalid ones refused.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import schemathesis
from flask import Flask
from hypothesis import settings

from api import create_app
from api.paging import decode_cursor
from etl_cli.config import Settings
from tests.api.conftest import Served

# The document needs no database: an app over nothing serves it; each case then calls the app of `loaded`.
schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app(Settings(database_url="sqlite://")))


@schema.hook
def filter_case(_context: object, case: schemathesis.Case) -> bool:
    """Valid requests keep the rules the document can state only in words.

    JSON Schema describes each parameter alone: it cannot say that `to` comes after `from`, that a time
    stays within years 1 to 9999 once in UTC, nor that a cursor is one a page gave. A request breaking
    them is invalid, whatever the generator thinks, and the API answers it with a 400 as documented.
    """
    if case.meta is None or case.meta.generation.mode.is_negative:
        return True
    query = case.query or {}
    return _keeps_window(query.get("from"), query.get("to")) and _is_a_cursor(query.get("cursor"))


def _keeps_window(start: object, end: object) -> bool:
    try:
        times = [_utc(str(text)) for text in (start, end) if text is not None]
    except OverflowError:
        return False  # off the calendar once in UTC
    except ValueError:
        return True  # not a time Python reads: the API must still answer as the document says
    return len(times) < 2 or times[0] < times[1]


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.upper())
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)


def _is_a_cursor(text: object) -> bool:
    if text is None:
        return True
    try:
        decode_cursor(str(text))
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def served(loaded: Served) -> Flask:
    return loaded.app


@schema.parametrize()
@settings(max_examples=75, deadline=None, database=None, derandomize=True)
def test_every_answer_conforms_to_the_document(case: schemathesis.Case, served: Flask) -> None:
    case.call_and_validate(app=served)
