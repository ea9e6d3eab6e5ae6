"""A run killed with SIGKILL half-way leaves nothing half-written, and the next run recovers."""

import http.server
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from etl_cli.load.tables import etl_runs, market_snapshots
from tests.samples import MARKETS_PAGE


class Provider(http.server.ThreadingHTTPServer):
    """A local CoinGecko stand-in whose page 2 hangs until released."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.page_two_requested = threading.Event()
        self.release = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    server: Provider

    def do_GET(self) -> None:
        if parse_qs(urlsplit(self.path).query)["page"] == ["2"]:
            self.server.page_two_requested.set()
            self.server.release.wait(timeout=30)
            body = b"[]"
        else:
            body = MARKETS_PAGE.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = Provider()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def cryptoetl(database_url: str, provider: Provider) -> subprocess.Popen:
    env = {
        **os.environ,
        "CRYPTOETL_DATABASE_URL": database_url,
        "CRYPTOETL_COINGECKO_BASE_URL": f"http://127.0.0.1:{provider.server_address[1]}/api/v3",
        "CRYPTOETL_COINGECKO_CALLS_PER_MINUTE": "6000",
    }
    command = [sys.executable, "-m", "etl_cli", "run", "--source", "coingecko", "--json"]
    return subprocess.Popen(
        command, env=env, cwd=Path(__file__).parents[1], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def test_killed_run_is_abandoned_and_the_rerun_loads_everything_once(engine, database_url, provider):
    victim = cryptoetl(database_url, provider)
    reached_page_two = provider.page_two_requested.wait(timeout=30)
    victim.send_signal(signal.SIGKILL)
    _, err = victim.communicate(timeout=10)
    assert reached_page_two, err.decode()
    assert victim.returncode == -signal.SIGKILL

    with engine.connect() as conn:
        assert conn.execute(sa.select(etl_runs.c.status)).scalars().all() == ["running"]
        assert conn.scalar(sa.select(sa.func.count()).select_from(market_snapshots)) == 0

    provider.release.set()
    survivor = cryptoetl(database_url, provider)
    out, err = survivor.communicate(timeout=60)
    assert survivor.returncode == 0, err.decode()
    assert b'"loaded": 250' in out
    with engine.connect() as conn:
        statuses = conn.execute(sa.select(etl_runs.c.status).order_by(etl_runs.c.run_id)).scalars().all()
        assert statuses == ["abandoned", "succeeded"]
        assert conn.scalar(sa.select(sa.func.count()).select_from(market_snapshots)) == 250
