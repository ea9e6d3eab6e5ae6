"""HTTP conventions on both databases: 304s, Cache-Control, X-Request-ID, CORS, one error shape, OpenAPI."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import jsonschema_rs
import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from api import create_app
from etl_cli.config import Settings
from etl_cli.errors import RunFailed
from etl_cli.extract.csv_file import CsvExtractor
from etl_cli.pipeline import run_source
from etl_cli.transform import TRANSFORMS
from tests.api.conftest import dispose, load_replay, make_app
from tests.samples import CSV_DIR

DATA_ENDPOINTS = ["/data?limit=3", "/assets?limit=3", "/assets/1", "/assets/1/history?interval=1d"]
ERROR_KEYS = {"code", "status", "message", "errors"}


def body(response) -> dict:
    return json.loads(response.get_data(as_text=True), parse_float=Decimal)


@pytest.mark.parametrize("url", DATA_ENDPOINTS)
def test_unchanged_answer_is_a_304(loaded, url):
    first = loaded.client.get(url)
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, max-age=30"
    again = loaded.client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and again.headers["X-Request-ID"]
    assert loaded.client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert loaded.client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_etag_changes_with_the_query_and_whenever_rows_are_added(client, loaded_url, engine):
    first = client.get("/data?limit=3").headers["ETag"]
    assert client.get("/data?limit=4").headers["ETag"] != first
    assert client.get("/data?limit=3").headers["ETag"] == first
    load_replay(loaded_url, engine)  # the same data again: nothing added, the cached answer stays good
    assert client.get("/data?limit=3", headers={"If-None-Match": first}).status_code == 304
    # A CSV run that commits one chunk and then fails still added rows: the answer must change.
    crashing = FailAfterFirstChunk(CsvExtractor(CSV_DIR / "coin_Tether_kaggle_head200.csv", chunk_rows=50))
    with pytest.raises(RunFailed):
        run_source(engine, crashing, TRANSFORMS["csv"], aliases={})
    renewed = client.get("/data?limit=3", headers={"If-None-Match": first})
    assert renewed.status_code == 200 and renewed.headers["ETag"] != first


def test_etag_changes_with_the_divergence_threshold(loaded_url):
    # Two deployments over one database that judge divergence apart answer /assets apart: no shared ETag.
    strict = make_app(loaded_url)
    lenient = create_app(Settings(database_url=loaded_url, divergence_pct=Decimal(50)))
    try:
        tags = {app.test_client().get("/assets?limit=3").headers["ETag"] for app in (strict, lenient)}
    finally:
        dispose(strict), dispose(lenient)
    assert len(tags) == 2


class FailAfterFirstChunk:
    name = "csv"

    def __init__(self, inner):
        self.inner, self.stats = inner, inner.stats

    def pages(self, state=None):
        chunks = self.inner.pages(state)
        yield next(chunks)
        raise RuntimeError("disk full")


def test_request_id_is_echoed_or_made(loaded):
    given = loaded.client.get("/data?limit=1", headers={"X-Request-ID": "abc-123_XYZ.9"})
    assert given.headers["X-Request-ID"] == "abc-123_XYZ.9"
    made = loaded.client.get("/data?limit=1").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    for insane in ("has space", "x" * 201, "é"):
        replaced = loaded.client.get("/health", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    assert loaded.client.get("/nowhere", headers={"X-Request-ID": "err-1"}).headers["X-Request-ID"] == "err-1"


def test_cors_allows_configured_origins_only(loaded):
    app = make_app(loaded.url, cors_origins="https://dash.example, https://ops.example")
    try:
        client = app.test_client()
        allowed = client.get("/data?limit=1", headers={"Origin": "https://ops.example"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://ops.example"
        assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
        refused = client.get("/data?limit=1", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in refused.headers
        preflight = client.options(
            "/data",
            headers={"Origin": "https://dash.example", "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 200
        assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    finally:
        dispose(app)


def test_every_error_has_one_shape(loaded):
    app = make_app(loaded.url)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # let a bug be a 500, as in production

    @app.route("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    try:
        client = app.test_client()
        answers = {
            400: client.get("/data?limit=x"),
            404: client.get("/nowhere"),
            405: client.post("/data"),
            500: client.get("/boom"),
        }
        for code, response in answers.items():
            error = body(response)
            assert response.status_code == code == error["code"]
            assert set(error) == ERROR_KEYS and response.is_json
            assert error["message"] and "\n" not in error["message"]
            assert response.headers["Cache-Control"] == "no-store"
        assert "GET" in answers[405].headers["Allow"]
        assert "a bug" not in answers[500].get_data(as_text=True)  # no internals leak
    finally:
        dispose(app)


def openapi(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return json.loads(response.get_data(as_text=True))


def test_openapi_document_validates_and_lists_every_endpoint(loaded):
    spec = openapi(loaded.client)
    validate(spec)
    assert spec["openapi"] == "3.0.3"
    routes = {
        re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in loaded.app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in ("data", "assets", "stats", "health")
    }
    assert routes == {
        "/data",
        "/assets",
        "/assets/{asset_id}",
        "/assets/{asset_id}/history",
        "/stats",
        "/health",
    }
    assert routes <= set(spec["paths"])
    data_params = {p["name"] for p in spec["paths"]["/data"]["get"]["parameters"]}
    assert data_params == {
        "symbol",
        "asset_id",
        "source",
        "from",
        "to",
        "sort",
        "limit",
        "offset",
        "cursor",
        "count",
    }
    assert "400" in spec["paths"]["/data"]["get"]["responses"]
    docs = loaded.client.get("/docs")
    assert docs.status_code == 200 and docs.mimetype == "text/html"


@pytest.mark.parametrize(
    ("url", "schema"),
    [
        ("/data?limit=5", "SnapshotPage"),
        ("/assets?limit=5", "AssetPage"),
        ("/assets/1", "AssetEnvelope"),
        ("/assets/1/history?interval=1h", "HistoryEnvelope"),
        ("/stats", "StatsEnvelope"),
        ("/health", "Health"),
        ("/data?limit=0", "Error"),
    ],
)
def test_answers_match_their_documented_schema(loaded, url, schema):
    spec = openapi(loaded.client)
    registry = Registry().with_resource("urn:api", Resource.from_contents(spec, default_specification=DRAFT4))
    validator = OAS30Validator({"$ref": f"urn:api#/components/schemas/{schema}"}, registry=registry)
    answer = json.loads(loaded.client.get(url).get_data(as_text=True))
    assert [error.message for error in validator.iter_errors(answer)] == []
    # The documented objects are closed: a renamed or extra key in an answer would fail above.
    assert list(validator.iter_errors({**answer, "renamed": 1}))


def test_the_document_declares_the_limits_the_api_enforces(loaded):
    spec = openapi(loaded.client)
    data = {p["name"]: p for p in spec["paths"]["/data"]["get"]["parameters"]}
    assert data["cursor"]["schema"]["minLength"] == 1  # an empty cursor is a 400, so the document says so
    assert "must be later than `from`" in data["to"]["description"]
    history = {p["name"]: p for p in spec["paths"]["/assets/{asset_id}/history"]["get"]["parameters"]}
    assert "must be later than `from`" in history["to"]["description"]
    for path in ("/assets/{asset_id}", "/assets/{asset_id}/history"):
        (asset_id,) = spec["paths"][path]["parameters"]
        assert asset_id["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    date_time = jsonschema_rs.validator_for({"type": "string", "format": "date-time"}, validate_formats=True)
    for name in ("from", "to"):
        example = data[name]["schema"]["example"]
        assert date_time.is_valid(example)  # the example keeps to the format it illustrates
        assert loaded.client.get("/data", query_string={name: example}).status_code == 200


def test_patterns_mean_in_the_document_what_they_mean_to_the_api(loaded):
    # JSON Schema reads patterns as ECMA-262 (jsonschema_rs does too): Python-only syntax such as \Z
    # would make a client refuse what the API takes, or send what it refuses.
    spec = openapi(loaded.client)
    parameters = [p for path in spec["paths"].values() for p in path.get("get", {}).get("parameters", [])]
    patterns = {p["name"]: p["schema"]["pattern"] for p in parameters if "pattern" in p["schema"]}
    assert set(patterns) == {"symbol", "cursor"}
    symbol = jsonschema_rs.validator_for({"type": "string", "pattern": patterns["symbol"]})
    for text in ["btc", "Btc-2", "Z", "é", "bt\n", "btc\n", "b\x00c", "\x7f"]:
        answer = loaded.client.get("/data", query_string={"symbol": text, "limit": 1})
        assert (answer.status_code == 200) == symbol.is_valid(text), repr(text)
    cursor = jsonschema_rs.validator_for({"type": "string", "pattern": patterns["cursor"], "minLength": 1})
    real = body(loaded.client.get("/data?limit=1"))["pagination"]["next_cursor"]
    assert cursor.is_valid(real)
    for text in ["", "a=", "a b", "a/b", "a+b"]:
        assert not cursor.is_valid(text)
        assert loaded.client.get("/data", query_string={"cursor": text}).status_code == 400
