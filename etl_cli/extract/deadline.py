"""An overall deadline for one HTTP request, from connect to last byte, that really cuts a stalled socket.

requests' timeouts bound each socket operation, not the request: a server that sends its headers, then one
byte every few seconds, never trips them. Here a watchdog thread shuts the request's socket down when the
deadline passes or a stop is requested; that wakes the read blocked on it at once, and the request fails.
The adapter's connections hand their socket to the deadline of the thread that uses them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# How often a request in flight looks at the stop request: a SIGTERM cuts it this late at most.
STOP_POLL_S = 0.1
_current = threading.local()


class Deadline:
    """The time a request has left; while entered, a watchdog cuts its socket at the end or on `stop`."""

    def __init__(self, seconds: float, stop: threading.Event | None = None) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        self.cut: str | None = None  # why the socket was cut: "deadline" or "stop"
        self._stop = stop
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._done = threading.Event()

    @property
    def left(self) -> float:
        """Seconds until the deadline, never below zero."""
        return max(0.0, self.expires - time.monotonic())

    def __enter__(self) -> Deadline:
        _current.deadline = self
        threading.Thread(target=self._watch, name="cryptoetl-http-deadline", daemon=True).start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        _current.deadline = None
        with self._lock:  # from here on `cut` is final, and the socket, back in its pool, is left alone
            self._done.set()
            self._sock = None

    def watch(self, sock: socket.socket) -> None:
        """Cut `sock` when the time is up (at once if it already is)."""
        with self._lock:
            self._sock = sock
            cut = self.cut is not None
        if cut:
            _shut(sock)

    def _watch(self) -> None:
        while True:
            poll = self.left if self._stop is None else min(self.left, STOP_POLL_S)
            if self._done.wait(poll):
                return
            if self._stop is not None and self._stop.is_set():
                reason = "stop"
            elif self.left <= 0:
                reason = "deadline"
            else:
                continue
            with self._lock:
                if self._done.is_set():
                    return
                self.cut = reason
                sock = self._sock
            if sock is not None:
                _shut(sock)
            return


def _shut(sock: socket.socket) -> None:
    # socket.socket's own shutdown, also for an SSLSocket: it wakes a thread blocked reading the socket
    # without tearing down the TLS state that thread is using.
    with contextlib.suppress(OSError):  # already closed by its owner
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watched:
    """A connection that puts its socket under the current thread's deadline before reading the answer."""

    sock: socket.socket | None

    def getresponse(self) -> Any:
        deadline: Deadline | None = getattr(_current, "deadline", None)
        if deadline is not None and self.sock is not None:
            deadline.watch(self.sock)
        return super().getresponse()


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter, with connections that a Deadline can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Build the pool manager as usual, with connection pools of watched connections."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
