"""The dashboard and /docs in a real headless Chromium: charts drawn from the API, nothing from another host.

Needs Debian's chromium (/usr/bin/chromium), driven by playwright for Python (never `playwright install`).
Skips where chromium is absent unless CRYPTOETL_REQUIRE_BROWSER is set, as CI sets it. Saves a screenshot
of the dashboard per database as a test artifact (and to CRYPTOETL_DASHBOARD_SCREENSHOT, if set).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from etl_cli.config import Settings
from etl_cli.pipeline import run_named
from tests.api.conftest import Served, _served
from tests.samples import CSV_DIR, ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

if not CHROMIUM.exists():
    reason = f"no {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CRYPTOETL_REQUIRE_BROWSER"):
        pytest.fail(f"CRYPTOETL_REQUIRE_BROWSER is set but there is {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


def load_everything(url: str, engine) -> None:
    """Every source from the recorded fixtures: CoinGecko, CoinPaprika and the sample CSV files."""
    settings = Settings(database_url=url, csv_path=CSV_DIR)
    for source in ("coingecko", "coinpaprika"):
        run_named(settings, source, replay_dir=ROOT / "fixtures" / "replay" / source, engine=engine)
    run_named(settings, "csv", engine=engine)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _served(request.param, tmp_path_factory, load_everything)


@pytest.fixture(scope="module")
def base_url(served: Served) -> Iterator[str]:
    """The API on a free port of 127.0.0.1, in a thread."""
    server = make_server("127.0.0.1", 0, served.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@dataclass
class Browsed:
    """What the page did: every URL it requested and every console error."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def browser_page(tmp_path: Path):
    """A fresh Chromium profile and page, recording requests and console errors."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 900},
        )
        page = context.new_page()
        seen = Browsed()
        page.on("request", lambda request: seen.requests.append(request.url))
        page.on("console", lambda message: message.type == "error" and seen.errors.append(message.text))
        page.on("pageerror", lambda error: seen.errors.append(str(error)))
        try:
            yield page, seen
        finally:
            context.close()


def expected_chart(served: Served, asset_id: str) -> tuple[int, int]:
    """Series and points the API gives for the chart's request: what the page must have drawn."""
    history = served.client.get(f"/assets/{asset_id}/history?interval=1h&limit=1000").get_json()["data"]
    return len(history["series"]), sum(len(series["points"]) for series in history["series"])


def drawn(page, previous: str | None = None) -> tuple[str, int, int]:
    selector = (
        "#chart[data-points]"
        if previous is None
        else f"#chart[data-points]:not([data-asset-id='{previous}'])"
    )
    chart = page.wait_for_selector(selector, timeout=20_000)
    assert page.locator("#chart canvas").count() >= 1
    return (
        chart.get_attribute("data-asset-id"),
        int(chart.get_attribute("data-series")),
        int(chart.get_attribute("data-points")),
    )


def test_the_dashboard_draws_every_source_of_the_chosen_asset_from_this_host_only(
    served, base_url, browser_page, tmp_path
):
    page, seen = browser_page
    page.goto(f"{base_url}/")
    asset_id, series, points = drawn(page)
    assert (series, points) == expected_chart(served, asset_id)
    # It starts on the asset most sources feed: bitcoin, from CoinGecko, CoinPaprika and a CSV file.
    assert page.input_value("#asset") == asset_id and "BTC" in page.inner_text("#asset option:checked")
    assert series == 3 and points > 200
    assert page.locator("#sources tbody tr").count() == 3
    assert page.locator("#sources tbody").inner_text().count("ok") == 3

    page.fill("#symbol", "eth")  # the picker finds any asset by symbol
    page.click("#picker button")
    other_id, other_series, other_points = drawn(page, previous=asset_id)
    assert other_id != asset_id and (other_series, other_points) == expected_chart(served, other_id)

    page.fill("#symbol", "")
    page.click("#picker button")
    drawn(page, previous=other_id)
    screenshot = tmp_path / f"dashboard-{served.url.split(':')[0]}.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("CRYPTOETL_DASHBOARD_SCREENSHOT"):
        shutil.copyfile(screenshot, os.environ["CRYPTOETL_DASHBOARD_SCREENSHOT"])

    assert seen.errors == []
    assert {urlsplit(url).netloc for url in seen.requests} == {urlsplit(base_url).netloc}


def test_the_docs_page_renders_offline(base_url, browser_page):
    page, seen = browser_page
    page.goto(f"{base_url}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "cryptoetl API" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock-summary-path").count() >= 6  # every endpoint listed
    assert seen.errors == []
    assert {urlsplit(url).netloc for url in seen.requests} == {urlsplit(base_url).netloc}
