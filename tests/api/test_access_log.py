"""The API logs one line per request with its X-Request-ID (a JSON object with CRYPTOETL_LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging

from etl_cli import logs


def test_the_api_logs_each_request_with_its_request_id(loaded, caplog):
    with caplog.at_level(logging.INFO, logger="api.access"):
        response = loaded.client.get("/data?limit=2", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200
    (record,) = [r for r in caplog.records if r.name == "api.access"]
    line = json.loads(logs.formatter("json").format(record))
    assert {key: line[key] for key in ("request_id", "method", "path", "status", "level")} == {
        "request_id": "req-42",
        "method": "GET",
        "path": "/data?limit=2",
        "status": 200,
        "level": "INFO",
    }
    assert line["duration_ms"] >= 0 and line["message"].startswith("GET /data?limit=2 200 ")
