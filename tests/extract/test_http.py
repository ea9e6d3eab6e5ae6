import http.server
import threading
import time
from collections.abc import Iterator

import pytest
import requests
import responses

from etl_cli.config import CoinGeckoSettings, HttpSettings, Settings
from etl_cli.errors import FatalSourceError, RunStopped, SourceError
from etl_cli.extract import build_coingecko
from etl_cli.extract.http import HttpClient, RateLimiter, parse_retry_after, public_url
from tests.provider import Scripted, drip, drip_headers, hang, ok, serving

URL = "https://api.example.test/v1/things"
KEY = "CG-s3cr3t-key-0123456789"


@pytest.fixture
def sleeps() -> list[float]:
    return []


def client(sleeps: list[float], **http: object) -> HttpClient:
    return HttpClient("test", HttpSettings(**http), sleep=sleeps.append)


@responses.activate
def test_429_with_retry_after_is_waited_out(sleeps):
    responses.get(URL, status=429, headers={"Retry-After": "7"}, json={"error": "slow down"})
    responses.get(URL, body=b"[]")
    page = client(sleeps).get(URL)
    assert page.body == b"[]"
    assert sleeps == [7.0]


@responses.activate
def test_5xx_retries_with_bounded_exponential_backoff_then_gives_up(sleeps):
    responses.get(URL, status=503, body="upstream down")
    http = client(sleeps, max_attempts=4, max_retry_wait=60.0)
    with pytest.raises(SourceError, match=r"HTTP 503 .*upstream down \(gave up after 4 attempts\)"):
        http.get(URL)
    assert len(responses.calls) == 4
    assert http.stats.requests == 4 and http.stats.retries == 3
    # wait_exponential_jitter: 1, 2, 4 s plus up to 1 s of jitter each
    assert [int(s) for s in sleeps] == [1, 2, 4]


@responses.activate
def test_read_timeouts_retry_then_fail_cleanly(sleeps):
    responses.get(URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(
        SourceError,
        match=r"^timed out calling https://api.example.test/v1/things \(gave up after 3 attempts\)$",
    ):
        client(sleeps, max_attempts=3).get(URL)
    assert len(responses.calls) == 3


@responses.activate
def test_connection_errors_retry_and_recover(sleeps):
    responses.get(URL, body=requests.exceptions.ConnectionError("connection refused"))
    responses.get(URL, body=b"[1]")
    assert client(sleeps).get(URL).body == b"[1]"
    assert len(sleeps) == 1


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404])
@responses.activate
def test_client_errors_fail_at_once_with_the_reason(sleeps, status):
    responses.get(URL, status=status, json={"error": "you shall not pass"})
    with pytest.raises(FatalSourceError, match=f"HTTP {status} from {URL}: you shall not pass"):
        client(sleeps).get(URL)
    assert len(responses.calls) == 1
    assert sleeps == []


@responses.activate
def test_retry_after_beyond_the_limit_fails_instead_of_stalling(sleeps):
    responses.get(URL, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(FatalSourceError, match="wait 3600 s, longer than CRYPTOETL_HTTP_MAX_RETRY_WAIT"):
        client(sleeps).get(URL)
    assert sleeps == []


@pytest.mark.parametrize(
    ("plan", "code", "hint"),
    [("demo", 10010, "set COINGECKO_API_PLAN=pro"), ("pro", 10011, "set COINGECKO_API_PLAN=demo")],
)
@responses.activate
def test_coingecko_key_on_the_wrong_host_says_which_plan_to_set(sleeps, plan, code, hint):
    settings = Settings(
        coingecko=CoinGeckoSettings(base_url="https://cg.test/api/v3", api_key=KEY, api_plan=plan)
    )
    body = {"status": {"error_code": code, "error_message": "Invalid API Key"}}
    responses.get("https://cg.test/api/v3/coins/markets", status=401, json=body)
    extractor = build_coingecko(settings, sleep=sleeps.append)
    with pytest.raises(FatalSourceError) as raised:
        list(extractor.pages())
    message = str(raised.value)
    assert "HTTP 401" in message and f"error code {code}" in message and hint in message
    assert KEY not in message


@pytest.mark.parametrize(("plan", "header"), [("demo", "x-cg-demo-api-key"), ("pro", "x-cg-pro-api-key")])
@responses.activate
def test_key_travels_only_in_the_plan_header(sleeps, plan, header):
    settings = Settings.from_env({"COINGECKO_API_KEY": KEY, "COINGECKO_API_PLAN": plan})
    base = "https://pro-api.coingecko.com/api/v3" if plan == "pro" else "https://api.coingecko.com/api/v3"
    responses.get(
        f"{base}/coins/markets", body=b"[]", match=[responses.matchers.header_matcher({header: KEY})]
    )
    [page] = build_coingecko(settings, sleep=sleeps.append).pages()
    request = responses.calls[0].request
    assert request.headers[header] == KEY
    assert KEY not in request.url and KEY not in page.url


def test_rate_limiter_spaces_calls_evenly():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(30, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.wait()
        now[0] += 0.5  # the request itself
    assert slept == [1.5, 1.5, 1.5]


@responses.activate
def test_client_waits_for_the_rate_limit(sleeps):
    responses.get(URL, body=b"[]")
    limited = HttpClient("test", HttpSettings(), calls_per_minute=6, sleep=sleeps.append)
    limited.get(URL)
    limited.get(URL)
    assert len(sleeps) == 1 and 9.0 < sleeps[0] <= 10.0


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:pw@api.test/x?api_key=abc&page=2", "https://api.test/x?api_key=%2A%2A%2A&page=2"),
        ("https://api.test/x?x_cg_demo_api_key=abc", "https://api.test/x?x_cg_demo_api_key=%2A%2A%2A"),
        ("http://127.0.0.1:8080/v1/tickers?quotes=USD", "http://127.0.0.1:8080/v1/tickers?quotes=USD"),
    ],
)
def test_public_url_drops_credentials(url, shown):
    assert public_url(url) == shown


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("", None), ("12", 12.0), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header) == seconds


class SlowHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(1.0)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slow"
    server.shutdown()
    server.server_close()


def test_real_socket_timeout_against_a_local_server(sleeps, slow_server):
    http = client(sleeps, read_timeout=0.2, max_attempts=2)
    with pytest.raises(SourceError, match=r"timed out calling .*/slow \(gave up after 2 attempts\)"):
        http.get(slow_server)
    assert http.stats.requests == 2


@responses.activate
def test_a_stop_request_ends_retrying_at_once():
    responses.get(URL, status=503, headers={"Retry-After": "60"})
    stop = threading.Event()
    http = HttpClient("test", HttpSettings(max_attempts=5), stop=stop)
    stop.set()  # as the scheduler does on SIGTERM: the 60 s wait returns at once and no retry follows
    with pytest.raises(RunStopped, match="stopped by a shutdown request while retrying: HTTP 503"):
        http.get(URL)
    assert len(responses.calls) == 1


@responses.activate
def test_a_redirect_is_refused_not_followed_with_our_key(sleeps):
    responses.get(URL, status=301, headers={"Location": "https://elsewhere.test/v1/things?api_key=x"})
    with pytest.raises(
        FatalSourceError, match=r"HTTP 301 .* redirected to https://elsewhere.test/v1/things\?api_key"
    ):
        client(sleeps).get(URL)
    assert len(responses.calls) == 1


# --- the total deadline and the run's retry budget, against real sockets ---------------------------------

DRIP_BODY = b"[" + b" " * 200 + b"]"  # 10 s at one byte every 0.05 s


@pytest.mark.parametrize(
    "answer", [drip(DRIP_BODY), drip_headers()], ids=["body one byte at a time", "headers one byte at a time"]
)
def test_a_provider_that_drips_is_cut_at_the_total_deadline_and_retried_like_a_timeout(sleeps, answer):
    with serving(Scripted(answer)) as server:
        http = client(sleeps, read_timeout=0.3, total_timeout=0.4, max_attempts=2)
        with pytest.raises(
            SourceError,
            match=r"^timed out calling http://127.0.0.1:\d+/drip: no complete answer within 0.4 s "
            r"\(gave up after 2 attempts\)$",
        ):
            http.get(f"{server.url}/drip")
    assert (server.requests, http.stats.requests, http.stats.retries, len(sleeps)) == (2, 2, 1, 1)


def test_a_retry_never_runs_past_the_runs_retry_budget(sleeps):
    with serving(Scripted(drip(DRIP_BODY))) as server:
        http = client(sleeps, read_timeout=0.3, total_timeout=30, retry_budget=0.4, max_attempts=5)
        with pytest.raises(
            SourceError,
            match=r"no complete answer within 0.4 s \(gave up after 1 attempt: "
            r"the run's retry budget of 0.4 s is spent\)$",
        ):
            http.get(f"{server.url}/drip")
    assert server.requests == 1 and sleeps == []


def test_waits_count_against_the_runs_budget_across_requests(sleeps):
    with serving(Scripted(ok(b"[]", status=503))) as server:
        # Every backoff is 1 s (the cap), so the 2.5 s budget allows two waits, then none.
        http = client(sleeps, retry_budget=2.5, max_attempts=10, max_retry_wait=1.0)
        with pytest.raises(SourceError, match=r"\(gave up after 3 attempts: the run's retry budget of 2.5 s"):
            http.get(server.url)
        with pytest.raises(SourceError, match=r"\(gave up after 1 attempt: the run's retry budget"):
            http.get(server.url)  # a later request of the same run has no budget left to retry with
    assert server.requests == 4 and sleeps == [1.0, 1.0]


def test_a_stop_request_cuts_a_request_in_flight():
    stop = threading.Event()
    with serving(Scripted(hang)) as server:
        http = HttpClient("test", HttpSettings(read_timeout=30, total_timeout=30), stop=stop)
        threading.Thread(target=lambda: server.requested.wait(10) and stop.set(), daemon=True).start()
        with pytest.raises(RunStopped, match=r"^stopped by a shutdown request during a request to http://"):
            http.get(f"{server.url}/hang")
    assert server.requests == 1
