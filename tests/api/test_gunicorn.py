"""The API as deployed: real gunicorn on a free local port, called over HTTP, on both databases."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_serves_the_api(loaded):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CRYPTOETL_DATABASE_URL": loaded.url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "api:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "gunicorn exited before serving"
            try:
                health = requests.get(f"{base}/health", timeout=2)
                break
            except (requests.ConnectionError, requests.Timeout):  # still booting
                assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        response = requests.get(
            f"{base}/data", params={"symbol": "btc"}, headers={"X-Request-ID": "g-1"}, timeout=5
        )
        assert response.status_code == 200
        assert response.headers["X-Request-ID"] == "g-1"
        (bitcoin,) = json.loads(response.text, parse_float=Decimal)["data"]
        assert bitcoin["price_usd"] == Decimal("96114.08481738689")
        again = requests.get(
            f"{base}/data",
            params={"symbol": "btc"},
            headers={"If-None-Match": response.headers["ETag"]},
            timeout=5,
        )
        assert again.status_code == 304
        assert requests.get(f"{base}/nowhere", timeout=5).json()["code"] == 404
    finally:
        server.terminate()
        try:
            server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
