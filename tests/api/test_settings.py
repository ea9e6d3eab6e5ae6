"""create_app's settings: ApiConfig defaults, the Settings.api section, overrides, refusal of nonsense."""

from __future__ import annotations

import pytest

from api import configure
from etl_cli.config import ApiConfig, Settings


def test_defaults_take_the_shared_database_url():
    settings = configure(Settings(database_url="sqlite:///x.db"))
    assert settings == Settings(database_url="sqlite:///x.db")
    assert settings.api.statement_timeout_ms == 5000 and settings.api.cors_origins == ("*",)


def test_the_api_section_of_settings_is_used_and_overrides_win():
    shared = Settings(
        database_url="sqlite:///x.db", api=ApiConfig(statement_timeout_ms=900, cors_origins="https://a")
    )
    settings = configure(shared, cache_max_age_s=0)
    assert settings.api.statement_timeout_ms == 900
    assert settings.api.cors_origins == ("https://a",)
    assert settings.api.cache_max_age_s == 0
    assert configure(shared, database_url="sqlite:///y.db").database_url == "sqlite:///y.db"


def test_origins_split_on_commas():
    settings = configure(Settings(), cors_origins=" https://a.example ,https://b.example,")
    assert settings.api.cors_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"statement_timeout_ms": 0}, ValueError),
        ({"connect_timeout_s": -1}, ValueError),
        ({"cache_max_age_s": "30"}, ValueError),
        ({"colour": "red"}, TypeError),
    ],
)
def test_nonsense_is_refused(override, error):
    with pytest.raises(error, match=next(iter(override))):
        configure(Settings(), **override)
