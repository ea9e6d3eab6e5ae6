"""Local providers on 127.0.0.1: a CoinGecko whose page 2 hangs, and one that misbehaves on command."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

from tests.samples import MARKETS_PAGE

# An answer writes one response (or deliberately no proper one) to the handler's socket.
Answer = Callable[["Handler"], None]


class LocalServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server on a free port of 127.0.0.1 whose `answer` says how to reply."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.closing = threading.Event()  # set on close: every hanging answer gives up

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, handler: Handler) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closing.set()
        self.shutdown()
        self.server_close()


class Handler(http.server.BaseHTTPRequestHandler):
    server: LocalServer

    def do_GET(self) -> None:
        # OSError: the client went away (a request cut at its deadline, a process that exited at once).
        with contextlib.suppress(OSError):
            self.server.answer(self)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(server: LocalServer) -> Iterator[LocalServer]:
    """Serve in a thread for the block, then close the server."""
    # A short poll: shutdown() waits for the loop to notice, up to one poll interval.
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        yield server
    finally:
        server.close()


# --- answers ---------------------------------------------------------------------------------------------


def ok(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    """A complete response."""

    def answer(handler: Handler) -> None:
        _head(handler, status, len(body), headers)
        handler.wfile.write(body)

    return answer


def hang(handler: Handler) -> None:
    """Read the request and never answer, until the client goes or the server closes."""
    handler.server.closing.wait(timeout=60)


def drip(body: bytes, every: float = 0.05) -> Answer:
    """Headers at once, then the body one byte at a time: each read is quick, the whole never ends in time."""

    def answer(handler: Handler) -> None:
        _head(handler, 200, len(body))
        for byte in body:
            if handler.server.closing.wait(every):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    return answer


def drip_headers(every: float = 0.05, count: int = 400) -> Answer:
    """A status line, then header bytes one at a time: the answer never gets as far as its body."""

    def answer(handler: Handler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(count):
            if handler.server.closing.wait(every):
                return
            handler.wfile.write(b"X")
            handler.wfile.flush()

    return answer


def truncated(body: bytes, missing: int = 100) -> Answer:
    """A Content-Length larger than the body sent, then the connection closed."""

    def answer(handler: Handler) -> None:
        _head(handler, 200, len(body) + missing)
        handler.wfile.write(body)
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)
        handler.close_connection = True

    return answer


def _head(handler: Handler, status: int, length: int, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(length))
    handler.end_headers()
    handler.wfile.flush()


class Scripted(LocalServer):
    """Answers the n-th request with the n-th answer; the last answer repeats. Counts the requests."""

    def __init__(self, *answers: Answer) -> None:
        super().__init__()
        self.answers = list(answers)
        self.requests = 0
        self.requested = threading.Event()  # set at the first request
        self._lock = threading.Lock()

    def answer(self, handler: Handler) -> None:
        with self._lock:
            answer = self.answers[min(self.requests, len(self.answers) - 1)]
            self.requests += 1
        self.requested.set()
        answer(handler)


def refused_url() -> str:
    """The URL of a port on 127.0.0.1 where nothing listens: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- a CoinGecko whose page 2 hangs, for tests that run cryptoetl in a real process ----------------------


class Provider(LocalServer):
    """A local CoinGecko stand-in: page 1 is the real recording, page 2 hangs until released."""

    def __init__(self) -> None:
        super().__init__()
        self.page_two_requested = threading.Event()
        self.release = threading.Event()

    def answer(self, handler: Handler) -> None:
        if parse_qs(urlsplit(handler.path).query)["page"] == ["2"]:
            self.page_two_requested.set()
            self.release.wait(timeout=30)
            body = b"[]"
        else:
            body = MARKETS_PAGE.read_bytes()
        ok(body)(handler)


def provider_env(database_url: str, provider: LocalServer) -> dict[str, str]:
    return {
        "CRYPTOETL_DATABASE_URL": database_url,
        "CRYPTOETL_COINGECKO_BASE_URL": f"{provider.url}/api/v3",
        "CRYPTOETL_COINGECKO_CALLS_PER_MINUTE": "6000",
    }


def wait_until(condition: Callable[[], bool], timeout: float = 30) -> bool:
    """Poll `condition` until it holds or `timeout` passes; return whether it held."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
