"""A local CoinGecko and CoinPaprika on 127.0.0.1 that serve history from recordings, for backfill tests.

CoinGecko: /coins/markets answers from the real 250-coin page (its records for `ids`, or page N of
`per_page`), /coins/{id}/market_chart/range with the coin's recorded chart. CoinPaprika: /tickers from its
fixture, /tickers/{id}/historical with ticks in the documented shape. Scripted answers (429, 5xx) go first;
a hang holds one path until released, so a test can kill the client there.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

from tests.samples import (
    CHART_BITCOIN_7D,
    CHART_MATIC_1D,
    COINPAPRIKA_TICKERS,
    MARKETS_PAGE,
    page,
    records,
)

CHARTS = {"bitcoin": CHART_BITCOIN_7D, "matic-network": CHART_MATIC_1D}
MARKETS = {json.loads(text)["id"]: text for text in records(MARKETS_PAGE.read_bytes())}
MARKETS_ORDER = list(MARKETS)


class HistoryProvider(http.server.ThreadingHTTPServer):
    """The stand-in: what it serves, what it was asked, and what it answers first."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.scripted: dict[str, list[tuple[int, dict[str, str], bytes]]] = defaultdict(list)
        self.ticks: dict[str, bytes] = {}  # CoinPaprika coin id -> /historical body
        self.hang_on: str | None = None
        self.reached = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        """The base URL, as CRYPTOETL_*_BASE_URL takes it."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def calls_to(self, fragment: str) -> int:
        """How many requests had `fragment` in their path."""
        return sum(fragment in path for path, _ in self.requests)


class Handler(http.server.BaseHTTPRequestHandler):
    server: HistoryProvider

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        self.server.requests.append((parts.path, query))
        if self.server.hang_on and self.server.hang_on in parts.path:
            self.server.reached.set()
            self.server.release.wait(timeout=30)
        scripted = self.server.scripted.get(parts.path)
        status, headers, body = scripted.pop(0) if scripted else self.answer(parts.path, query)
        try:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client went away (a killed process)

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        not_found = (404, {}, b'{"error":"coin not found"}')
        name = path.rstrip("/").split("/")
        if path.endswith("/coins/markets"):
            if "ids" in query:
                chosen = [MARKETS[i] for i in query["ids"].split(",") if i in MARKETS]
            else:
                per_page, number = int(query["per_page"]), int(query["page"])
                chosen = [MARKETS[i] for i in MARKETS_ORDER[(number - 1) * per_page : number * per_page]]
            return 200, {}, page(chosen)
        if path.endswith("/market_chart/range"):
            chart = CHARTS.get(name[-3])
            return (200, {}, chart.read_bytes()) if chart else not_found
        if path.endswith("/tickers"):
            return 200, {}, COINPAPRIKA_TICKERS.read_bytes()
        if path.endswith("/historical"):
            ticks = self.server.ticks.get(name[-2])
            return (200, {}, ticks) if ticks is not None else (404, {}, b'{"error":"id not found"}')
        return not_found

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving() -> Iterator[HistoryProvider]:
    """Run a HistoryProvider in a thread for the block."""
    server = HistoryProvider()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def history_env(database_url: str, server: HistoryProvider) -> dict[str, str]:
    """Environment for cryptoetl against the stand-in: a paid plan (no reach limit), no rate limit."""
    return {
        "CRYPTOETL_DATABASE_URL": database_url,
        "CRYPTOETL_COINGECKO_BASE_URL": f"{server.url}/api/v3",
        "CRYPTOETL_COINPAPRIKA_BASE_URL": f"{server.url}/v1",
        "COINGECKO_API_PLAN": "pro",
        "CRYPTOETL_COINGECKO_CALLS_PER_MINUTE": "60000",
        "CRYPTOETL_COINPAPRIKA_CALLS_PER_MINUTE": "60000",
    }
