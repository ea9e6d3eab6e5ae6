"""Every API URL the README shows (`curl ...`) answers 2xx from a running app over a loaded database."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from tests.samples import ROOT

README = (ROOT / "README.md").read_text()
# `curl -s 'http://127.0.0.1:8000/data?...'` and `curl -s localhost:8000/health`
EXAMPLE = re.compile(r"curl -s '?((?:https?://)?(?:127\.0\.0\.1|localhost):\d+/[^'\s]*)")


def path_and_query(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


EXAMPLES = sorted({path_and_query(url) for url in EXAMPLE.findall(README)})


def test_the_readme_has_examples_of_every_endpoint():
    paths = {urlsplit(example).path for example in EXAMPLES}
    assert {"/data", "/assets", "/assets/1", "/assets/1/history", "/stats", "/health", "/metrics"} <= paths


@pytest.fixture(scope="module")
def running(loaded) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, loaded.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_readme_example_answers_2xx(running, example):
    response = requests.get(f"{running}{example}", timeout=30)
    assert 200 <= response.status_code < 300, (example, response.text[:300])
