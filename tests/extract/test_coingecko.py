import pytest
import responses

from etl_cli.config import HttpSettings, Settings
from etl_cli.errors import FatalSourceError
from etl_cli.extract.coingecko import CoinGeckoExtractor
from etl_cli.extract.http import HttpClient
from tests.samples import add_page, page, records


def extractor(max_pages: int, per_page: int = 250) -> CoinGeckoExtractor:
    client = HttpClient("coingecko", HttpSettings(), sleep=lambda _: None)
    return CoinGeckoExtractor(client, Settings().coingecko, max_pages=max_pages, per_page=per_page)


@responses.activate
def test_stops_after_a_short_page(markets_page):
    texts = records(markets_page)
    add_page(responses.mock, 1, per_page=100, body=page(texts[:100]))
    add_page(responses.mock, 2, per_page=100, body=page(texts[100:130]))
    pages = list(extractor(max_pages=4, per_page=100).pages())
    assert [len(records(p.body)) for p in pages] == [100, 30]
    assert len(responses.calls) == 2


@responses.activate
def test_stops_after_an_empty_page(markets_page):
    add_page(responses.mock, 1, body=markets_page)
    add_page(responses.mock, 2, body=b"[]")
    assert len(list(extractor(max_pages=4).pages())) == 2


@responses.activate
def test_never_fetches_more_than_max_pages(markets_page):
    texts = records(markets_page)
    for number in (1, 2):
        add_page(responses.mock, number, per_page=50, body=page(texts[:50]))
    assert len(list(extractor(max_pages=2, per_page=50).pages())) == 2


@pytest.mark.parametrize("body", [b"<html>Just a moment...</html>", b'{"status": {"error_code": 0}}'])
@responses.activate
def test_a_page_that_is_not_an_array_fails_the_run(body):
    add_page(responses.mock, 1, body=body)
    with pytest.raises(FatalSourceError, match="did not return a JSON array"):
        list(extractor(max_pages=1).pages())


@responses.activate
def test_page_keeps_body_status_and_url(markets_page):
    add_page(responses.mock, 1, body=markets_page)
    add_page(responses.mock, 2, body=b"[]")
    first = next(extractor(max_pages=4).pages())
    assert first.body == markets_page
    assert first.http_status == 200
    assert first.fetched_at.tzinfo is not None
    assert first.url == (
        "https://api.coingecko.com/api/v3/coins/markets?vs_currency=usd&order=market_cap_desc"
        "&per_page=250&precision=full&page=1"
    )
