"""/docs works offline: every asset the page names is served by the API itself, none by another host."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

ASSET_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def test_docs_page_loads_its_assets_from_the_api_only(loaded):
    page = loaded.client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    urls = [urljoin("http://127.0.0.1/docs", url) for url in ASSET_URL.findall(html)]
    assert len(urls) == 3  # Swagger UI's stylesheet, preset and bundle
    assert {urlsplit(url).netloc for url in urls} == {"127.0.0.1"}
    assert "cdn" not in html and 'validatorUrl": null' in html
    for url in urls:
        with loaded.client.get(urlsplit(url).path) as asset:  # a file response: closed when read
            assert asset.status_code == 200, url
            assert asset.mimetype in ("text/css", "text/javascript", "application/javascript"), url
            assert len(asset.data) > 10_000 and asset.headers["Cache-Control"] == "public, max-age=86400"


def test_only_the_pages_own_files_are_served(loaded):
    assert loaded.client.get("/docs/swagger-ui/index.html").status_code == 404
    assert loaded.client.get("/docs/swagger-ui/../../setup.cfg").status_code == 404
