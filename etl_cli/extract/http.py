"""HTTP mechanics shared by every API source: session, timeouts, retries, rate limit, error mapping."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_when_event_set,
    wait_exponential_jitter,
)

from etl_cli.config import HttpSettings
from etl_cli.errors import (
    CryptoEtlError,
    FatalSourceError,
    RetriableSourceError,
    RunStopped,
    SourceError,
)
from etl_cli.extract.base import HttpStats, RawPage
from etl_cli.extract.deadline import Deadline, DeadlineAdapter
from etl_cli.extract.replay import ReplayAdapter

log = logging.getLogger(__name__)

RETRIABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
SECRET_PARAM_HINTS = ("key", "token", "secret", "password", "signature")


class RateLimiter:
    """Space request starts evenly so that at most `calls_per_minute` start in any minute."""

    def __init__(
        self,
        calls_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 60.0 / calls_per_minute
        self._clock = clock
        self._sleep = sleep
        self._next_start = float("-inf")

    def wait(self) -> None:
        """Block until the next request may start."""
        now = self._clock()
        if now < self._next_start:
            self._sleep(self._next_start - now)
            now = self._next_start
        self._next_start = now + self._interval


class HttpClient:
    """One requests.Session for one source, with our retry and error discipline."""

    def __init__(
        self,
        source: str,
        settings: HttpSettings,
        *,
        secret_headers: Mapping[str, str] | None = None,
        calls_per_minute: int | None = None,
        replay_dir: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        stop: threading.Event | None = None,
    ) -> None:
        self.source = source
        self.stats = HttpStats()
        self._settings = settings
        # A shutdown request cuts short any wait (backoff, Retry-After, rate limit), any request in flight,
        # and ends retrying.
        self._stop = stop
        self._sleep = stop.wait if stop is not None else sleep
        # Seconds this run has lost to failed attempts and the waits after them: its retry budget's use.
        self._lost = 0.0
        self._secrets = [value for value in (secret_headers or {}).values() if value]
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "cryptoetl"})
        self.session.headers.update(secret_headers or {})
        # A replayed response costs the provider nothing, so it is not rate limited.
        self._limiter = None
        adapter = ReplayAdapter(replay_dir) if replay_dir is not None else DeadlineAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if replay_dir is None and calls_per_minute:
            self._limiter = RateLimiter(calls_per_minute, sleep=self._sleep)

    def get(self, url: str, params: Mapping[str, str | int] | None = None) -> RawPage:
        """GET a URL and return its body as received, retrying what is worth retrying.

        Every attempt ends within the total timeout and within what is left of the run's retry budget; no
        retry starts once failed attempts and waits have spent that budget.
        """
        give_up = stop_after_attempt(self._settings.max_attempts) | self._budget_spent
        if self._stop is not None:
            give_up |= stop_when_event_set(self._stop)
        retrying = Retrying(
            retry=retry_if_exception_type(RetriableSourceError),
            stop=give_up,
            wait=self._wait,
            sleep=self._wait_out,
            before_sleep=self._before_retry,
            reraise=True,
        )
        try:
            return retrying(self._get_once, url, params or {})
        except RetriableSourceError as exc:
            if self._stop is not None and self._stop.is_set():
                raise RunStopped(f"stopped by a shutdown request while retrying: {exc}") from exc
            attempts = retrying.statistics["attempt_number"]
            why = "1 attempt" if attempts == 1 else f"{attempts} attempts"
            if attempts < self._settings.max_attempts:
                why += f": the run's retry budget of {self._settings.retry_budget:g} s is spent"
            raise SourceError(f"{exc} (gave up after {why})", exc.response) from exc

    def _get_once(self, url: str, params: Mapping[str, str | int]) -> RawPage:
        if self._limiter is not None:
            self._limiter.wait()
        self.stats.requests += 1
        started = time.monotonic()
        try:
            return self._fetch(url, params)
        except RetriableSourceError:
            self._lost += time.monotonic() - started
            raise

    def _fetch(self, url: str, params: Mapping[str, str | int]) -> RawPage:
        shown = public_url(requests.Request("GET", url, params=params).prepare().url or url)
        budget_left = self._settings.retry_budget - self._lost
        deadline = Deadline(min(self._settings.total_timeout, budget_left), self._stop)
        try:
            with deadline:
                # Never follow a redirect: requests would carry our key header to whatever host it names.
                response = self.session.get(
                    url,
                    params=params,
                    timeout=(
                        min(self._settings.connect_timeout, deadline.seconds),
                        min(self._settings.read_timeout, deadline.seconds),
                    ),
                    allow_redirects=False,
                )
                body = response.content
        except requests.RequestException as exc:
            raise self._failure(exc, deadline, shown) from None
        if deadline.cut:
            # Cut short, the answer may still have looked whole (a body read until the connection closed).
            raise self._failure(None, deadline, shown)
        status = response.status_code
        if status < 300:
            return RawPage(self.source, shown, status, datetime.now(UTC), body)
        if status < 400:
            target = public_url(response.headers.get("Location", "nowhere"))
            msg = f"HTTP {status} from {shown}: redirected to {target}; set the base URL to where it points"
            raise FatalSourceError(msg, response)
        message = self._scrub(f"HTTP {status} from {shown}: {error_reason(response)}")
        if status in RETRIABLE_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > self._settings.max_retry_wait:
                raise FatalSourceError(
                    f"{message}; the server asks us to wait {retry_after:.0f} s, longer than "
                    f"CRYPTOETL_HTTP_MAX_RETRY_WAIT ({self._settings.max_retry_wait:.0f} s)",
                    response,
                )
            raise RetriableSourceError(message, response, retry_after)
        raise FatalSourceError(message, response)

    def _failure(
        self, exc: requests.RequestException | None, deadline: Deadline, shown: str
    ) -> CryptoEtlError:
        """What a request that raised means: stopped, timed out or unreachable (both retriable), or fatal."""
        if deadline.cut == "stop":
            return RunStopped(f"stopped by a shutdown request during a request to {shown}")
        if deadline.cut == "deadline":
            return RetriableSourceError(
                f"timed out calling {shown}: no complete answer within {deadline.seconds:.3g} s"
            )
        if isinstance(exc, requests.Timeout):
            return RetriableSourceError(f"timed out calling {shown}")
        if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
            return RetriableSourceError(self._scrub(f"cannot reach {shown}: {exc}"))
        return FatalSourceError(self._scrub(f"cannot call {shown}: {exc}"))

    def _budget_spent(self, state: RetryCallState) -> bool:
        """Whether waiting for the next attempt would spend the rest of the run's retry budget."""
        return self._lost + state.upcoming_sleep >= self._settings.retry_budget

    def _wait_out(self, seconds: float) -> None:
        self._lost += seconds
        self._sleep(seconds)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetriableSourceError) and error.retry_after is not None:
            return error.retry_after
        backoff = wait_exponential_jitter(initial=1, max=self._settings.max_retry_wait, jitter=1)
        return backoff(state)

    def _before_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: %s; retrying in %.1f s (attempt %d of %d)",
            self.source,
            error,
            wait,
            state.attempt_number + 1,
            self._settings.max_attempts,
        )

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def public_url(url: str) -> str:
    """Return the URL without credentials or key-like query parameters, fit for logs and storage."""
    parts = urlsplit(url)
    query = [
        (name, "***" if any(hint in name.lower() for hint in SECRET_PARAM_HINTS) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe=",%"), ""))


def parse_retry_after(value: str | None) -> float | None:
    """Read a Retry-After header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_reason(response: requests.Response) -> str:
    """Pull the provider's own error message out of a response body, in its known shapes."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        status = body.get("status")
        if isinstance(status, dict) and status.get("error_message"):
            code = status.get("error_code")
            return f"{status['error_message']} (error code {code})" if code else status["error_message"]
        for key in ("error", "message", "error_message"):
            if isinstance(body.get(key), str):
                return body[key]
    text = " ".join(response.text.split())
    return text[:120] if text else response.reason or "no reason given"


def error_code(response: requests.Response | None) -> int | None:
    """Return a provider error code from a `{"status": {"error_code": N}}` body, if any."""
    if response is None:
        return None
    try:
        status = response.json().get("status")
    except (ValueError, AttributeError):
        return None
    code = status.get("error_code") if isinstance(status, dict) else None
    return code if isinstance(code, int) else None


SettingsT = TypeVar("SettingsT")


class HttpSource(Generic[SettingsT]):
    """A source called over HTTP: its client, its settings, and the client's counts as its HTTP cost."""

    def __init__(self, client: HttpClient, settings: SettingsT) -> None:
        self.client = client
        self.settings = settings

    @property
    def stats(self) -> HttpStats:
        """HTTP requests and retries so far."""
        return self.client.stats
