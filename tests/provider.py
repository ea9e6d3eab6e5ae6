"""A local CoinGecko stand-in on 127.0.0.1 for tests that run cryptoetl in a real process."""

import http.server
import threading
from urllib.parse import parse_qs, urlsplit

from tests.samples import MARKETS_PAGE


class Provider(http.server.ThreadingHTTPServer):
    """A local CoinGecko stand-in: page 1 is the real recording, page 2 hangs until released."""

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
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client went away (a process that exited at once)

    def log_message(self, *args: object) -> None:
        pass


def provider_env(database_url: str, provider: Provider) -> dict[str, str]:
    return {
        "CRYPTOETL_DATABASE_URL": database_url,
        "CRYPTOETL_COINGECKO_BASE_URL": f"http://127.0.0.1:{provider.server_address[1]}/api/v3",
        "CRYPTOETL_COINGECKO_CALLS_PER_MINUTE": "6000",
    }
