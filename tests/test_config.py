"""Settings.from_env: defaults, every variable read, and a one-line error naming a bad one."""

from pathlib import Path

import pytest

from etl_cli.config import COINGECKO_PRO_URL, COINGECKO_PUBLIC_URL, Settings
from etl_cli.errors import ConfigError


def test_defaults_need_nothing_set():
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///cryptoetl.db"
    assert (settings.coingecko.base_url, settings.coingecko.api_plan) == (COINGECKO_PUBLIC_URL, "demo")
    assert settings.coingecko.calls_per_minute == 30 and settings.coinpaprika.calls_per_minute == 10
    assert settings.csv_path is None and settings.api.cors_origins == ("*",)
    assert settings.csv_max_line_bytes == 1048576


def test_the_pro_plan_sends_its_own_header_to_its_own_host():
    settings = Settings.from_env({"COINGECKO_API_KEY": "CG-SECRET-123", "COINGECKO_API_PLAN": "PRO"})
    assert (settings.coingecko.base_url, settings.coingecko.key_header) == (
        COINGECKO_PRO_URL,
        "x-cg-pro-api-key",
    )
    assert "CG-SECRET-123" not in repr(settings)


def test_every_variable_is_read(tmp_path):
    settings = Settings.from_env(
        {
            "CRYPTOETL_DATABASE_URL": "postgresql+psycopg2://etl@db/crypto",
            "CRYPTOETL_COINGECKO_BASE_URL": "http://127.0.0.1:9/api/v3/",
            "CRYPTOETL_COINPAPRIKA_BASE_URL": "https://api-pro.coinpaprika.com/v1",
            "COINPAPRIKA_API_KEY": "cp-key",
            "CRYPTOETL_COINGECKO_CALLS_PER_MINUTE": "500",
            "CRYPTOETL_COINPAPRIKA_CALLS_PER_MINUTE": "60",
            "CRYPTOETL_HTTP_CONNECT_TIMEOUT": "2.5",
            "CRYPTOETL_HTTP_READ_TIMEOUT": "9",
            "CRYPTOETL_HTTP_MAX_ATTEMPTS": "2",
            "CRYPTOETL_HTTP_MAX_RETRY_WAIT": "7",
            "CRYPTOETL_CSV_PATH": str(tmp_path),
            "CRYPTOETL_CSV_MAX_LINE_BYTES": "4096",
            "CRYPTOETL_API_CORS_ORIGINS": "https://a.example, https://b.example",
            "CRYPTOETL_API_CACHE_MAX_AGE": "0",
        }
    )
    assert settings.coingecko.base_url == "http://127.0.0.1:9/api/v3"
    assert (settings.coinpaprika.api_key, settings.coinpaprika.calls_per_minute) == ("cp-key", 60)
    assert (settings.http.connect_timeout, settings.http.read_timeout) == (2.5, 9.0)
    assert (settings.http.max_attempts, settings.http.max_retry_wait) == (2, 7.0)
    assert (settings.csv_path, settings.csv_max_line_bytes) == (Path(tmp_path), 4096)
    assert settings.api.cors_origins == ("https://a.example", "https://b.example")
    assert settings.api.cache_max_age_s == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CRYPTOETL_COINGECKO_CALLS_PER_MINUTE", "0", "must be a whole number greater than 0"),
        ("CRYPTOETL_HTTP_READ_TIMEOUT", "soon", "must be a number of seconds greater than 0"),
        ("CRYPTOETL_HTTP_CONNECT_TIMEOUT", "inf", "must be a number of seconds greater than 0"),
        ("COINGECKO_API_PLAN", "gold", "must be one of demo, pro"),
        ("CRYPTOETL_COINPAPRIKA_BASE_URL", "ftp://x", "must be an http:// or https:// URL"),
        ("CRYPTOETL_DATABASE_URL", "not a url", "is not a database URL"),
        ("CRYPTOETL_CSV_PATH", "/no/such/place", "which does not exist"),
        ("CRYPTOETL_CSV_MAX_LINE_BYTES", "1MB", "must be a whole number greater than 0"),
        ("CRYPTOETL_API_CACHE_MAX_AGE", "-1", "must be a whole number"),
    ],
)
def test_a_bad_value_names_its_variable(name, value, message):
    with pytest.raises(ConfigError, match=f"^{name} .*{message}"):
        Settings.from_env({name: value})


@pytest.mark.parametrize("name", ["COINGECKO_API_KEY", "COINPAPRIKA_API_KEY"])
def test_a_key_with_a_line_break_is_refused_without_being_echoed(name):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({name: "CG-supersecret\nx"})
    assert str(raised.value) == f"{name} contains a line break or control character; set it to the key alone"


def test_a_database_password_is_never_echoed():
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"CRYPTOETL_DATABASE_URL": "mysql://etl:hunter2@db/x"})
    assert "hunter2" not in str(raised.value)
