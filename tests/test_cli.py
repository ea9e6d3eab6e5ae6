"""The command line as a user meets it: exit codes, one-line errors, the --json contract."""

import json
import shutil
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command as command_module
from typer.testing import CliRunner

from etl_cli.cli import app
from etl_cli.cli import ledger as ledger_commands
from etl_cli.schema.reads import RejectRecord
from etl_cli.schema.revisions import alembic_config, head_revision
from etl_cli.schema.tables import etl_runs
from tests.conftest import another_run
from tests.samples import CSV_DIR, REPLAY_DIR, page, records

RUN = ["run", "--source", "coingecko", "--replay", str(REPLAY_DIR)]
RUN_FIELDS = {
    "run_id",
    "source",
    "kind",
    "status",
    "extracted",
    "loaded",
    "skipped",
    "rejected",
    "started_at",
    "finished_at",
    "duration_s",
}


@pytest.fixture
def cli(database_url):
    runner = CliRunner()

    def invoke(*args: str, **env: str):
        return runner.invoke(app, list(args), env={"CRYPTOETL_DATABASE_URL": database_url, **env})

    return invoke


@pytest.fixture
def sqlite_cli(tmp_path):
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    return lambda *args, **env: runner.invoke(app, list(args), env={"CRYPTOETL_DATABASE_URL": url, **env})


def test_run_json_prints_one_object_with_the_contract_fields(cli):
    first = cli(*RUN, "--json")
    second = cli(*RUN, "--json")
    assert first.exit_code == second.exit_code == 0
    summary = json.loads(first.stdout)
    assert summary.keys() >= RUN_FIELDS
    assert (summary["status"], summary["extracted"], summary["loaded"]) == ("succeeded", 250, 250)
    assert summary["duration_s"] >= 0 and summary["started_at"].endswith("+00:00")
    again = json.loads(second.stdout)
    assert (again["loaded"], again["skipped"], again["run_id"]) == (0, 250, summary["run_id"] + 1)


def test_run_prints_a_readable_summary(sqlite_cli):
    result = sqlite_cli(*RUN)
    assert result.exit_code == 0
    assert "coingecko run 1 succeeded" in result.stdout
    assert "250 extracted, 250 loaded, 0 skipped, 0 rejected" in result.stdout


@pytest.fixture
def failing_replay(tmp_path):
    directory = tmp_path / "replay"
    shutil.copytree(REPLAY_DIR, directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["responses"][0].update(status=503, body="unavailable.json")
    (directory / "unavailable.json").write_text('{"error": "service unavailable"}')
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def test_a_failed_run_exits_1_with_one_line_and_json_says_failed(cli, failing_replay):
    env = {"CRYPTOETL_HTTP_MAX_ATTEMPTS": "1"}
    result = cli("run", "--source", "coingecko", "--replay", str(failing_replay), "--json", **env)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: coingecko run 1 failed: HTTP 503 from https://api.coingecko.com")
    assert result.stderr.endswith(": service unavailable (gave up after 1 attempt)\n")
    summary = json.loads(result.stdout)
    assert summary["status"] == "failed" and "HTTP 503" in summary["error"]


def test_verbose_adds_the_traceback(sqlite_cli, failing_replay):
    result = sqlite_cli(
        "run",
        "--source",
        "coingecko",
        "--replay",
        str(failing_replay),
        "--verbose",
        CRYPTOETL_HTTP_MAX_ATTEMPTS="1",
    )
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and result.stderr.rstrip().splitlines()[-1].startswith("Error: ")


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--source", "nowhere"],
        ["run"],
        ["run", "--source", "coingecko", "--pages", "0"],
        ["run", "--source", "coingecko", "--replay", "/no/such/dir"],
        ["runs", "--limit", "zero"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(sqlite_cli, args):
    assert sqlite_cli(*args).exit_code == 2


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"CRYPTOETL_COINGECKO_CALLS_PER_MINUTE": "lots"},
            "CRYPTOETL_COINGECKO_CALLS_PER_MINUTE must be a whole number",
        ),
        (
            {"COINGECKO_API_PLAN": "enterprise"},
            "COINGECKO_API_PLAN must be one of demo, pro, got 'enterprise'",
        ),
        (
            {"CRYPTOETL_DATABASE_URL": "mysql://x@y/z"},
            "CRYPTOETL_DATABASE_URL must point at SQLite or PostgreSQL",
        ),
    ],
)
def test_bad_configuration_is_one_line_naming_the_variable(sqlite_cli, env, message):
    result = sqlite_cli(*RUN, **env)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {message}") and result.stderr.count("\n") == 1


def test_an_unreachable_database_is_one_line_without_the_password(sqlite_cli):
    url = "postgresql+psycopg2://etl:hunter2@127.0.0.1:1/crypto"
    result = sqlite_cli(*RUN, CRYPTOETL_DATABASE_URL=url)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "Error: cannot use the database at postgresql+psycopg2://etl:***@127.0.0.1:1/crypto"
    )
    assert "hunter2" not in result.stderr and "check CRYPTOETL_DATABASE_URL" in result.stderr


def test_a_run_while_another_holds_the_lock_exits_at_once(cli, engine):
    with another_run(engine):
        result = cli(*RUN)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: another coingecko run is in progress")


def test_runs_lists_the_ledger_newest_first(cli, failing_replay):
    cli(*RUN)
    cli("run", "--source", "coingecko", "--replay", str(failing_replay), CRYPTOETL_HTTP_MAX_ATTEMPTS="1")
    listed = cli("runs", "--json")
    assert listed.exit_code == 0
    runs = json.loads(listed.stdout)
    assert [(r["run_id"], r["status"]) for r in runs] == [(2, "failed"), (1, "succeeded")]
    assert runs[0].keys() >= RUN_FIELDS
    table = cli("runs", "--source", "coingecko", "--limit", "1")
    lines = table.stdout.splitlines()
    assert len(lines) == 2 and lines[0].split()[:4] == ["RUN", "SOURCE", "KIND", "STATUS"]
    assert lines[1].split()[:4] == ["2", "coingecko", "run", "failed"] and "HTTP 503" in lines[1]


def test_help_shows_flags_as_flags():
    text = CliRunner().invoke(app, ["runs", "--help"]).stdout
    assert "  --json  " in text and "<bool>" not in text
    assert "  --limit <int range>  " in text


def test_db_upgrade_creates_the_schema(cli):
    result = cli("db", "upgrade")
    assert result.exit_code == 0 and f"revision {head_revision()}" in result.stdout
    assert cli("runs", "--json").stdout.strip() == "[]"


REPLAY_ROOT = str(REPLAY_DIR.parent)


def test_run_all_runs_every_configured_source_and_reports_each(cli):
    result = cli("run", "--source", "all", "--replay", REPLAY_ROOT, "--json", CRYPTOETL_CSV_PATH=str(CSV_DIR))
    assert result.exit_code == 0, result.stderr
    summaries = json.loads(result.stdout)
    assert [(s["source"], s["status"], s["loaded"]) for s in summaries] == [
        ("coingecko", "succeeded", 250),
        ("coinpaprika", "succeeded", 70),
        ("csv", "succeeded", 900),
    ]


def test_run_all_goes_on_after_a_failing_source_and_exits_1(cli, tmp_path):
    replay = tmp_path / "replay"
    shutil.copytree(REPLAY_DIR.parent, replay)
    (replay / "coingecko" / "manifest.json").write_text('{"responses": []}')
    result = cli("run", "--source", "all", "--replay", str(replay), CRYPTOETL_HTTP_MAX_ATTEMPTS="1")
    assert result.exit_code == 1
    assert "coinpaprika run 2 succeeded" in result.stdout
    assert result.stderr.startswith("Error: coingecko run 1 failed: HTTP 404")
    assert result.stderr.count("\n") == 1


def test_csv_needs_a_path_and_refuses_an_unknown_header(sqlite_cli, tmp_path):
    missing = sqlite_cli("run", "--source", "csv")
    assert missing.exit_code == 1
    assert missing.stderr == "Error: --source csv needs --path FILE_OR_FOLDER (or CRYPTOETL_CSV_PATH)\n"
    bad = tmp_path / "bad.csv"
    bad.write_text("when,price\n2024-01-01,1\n")
    refused = sqlite_cli("run", "--source", "csv", "--path", str(bad))
    assert refused.exit_code == 1 and refused.stderr.count("\n") == 1
    assert "unknown CSV header 'when,price'; accepted: SNo,Name,Symbol,Date," in refused.stderr
    assert json.loads(sqlite_cli("runs", "--json").stdout) == []  # nothing was written


def test_assets_lists_each_coin_once_with_every_feed(cli):
    cli("run", "--source", "all", "--replay", REPLAY_ROOT, CRYPTOETL_CSV_PATH=str(CSV_DIR))
    assets = json.loads(cli("assets", "--json").stdout)
    bitcoin = [a for a in assets if a["symbol"] == "BTC"]
    assert len(bitcoin) == 1
    feeds = {(f["source"], f["source_asset_id"]): f["price_usd"] for f in bitcoin[0]["sources"]}
    assert feeds[("coingecko", "bitcoin")] == "96114.08481738689"
    assert feeds[("coinpaprika", "btc-bitcoin")] == "65654.22704542862"
    # the newest CSV row, read by hand from coin_Bitcoin_excel_resaved_tail200.csv's last line:
    # 2862,Bitcoin,BTC,2021-02-27,48253.2701,45269.02577,46344.77224,46188.45128,45910946382,8.61E+11
    assert feeds[("csv", "btc-bitcoin")] == "46188.45128"
    unmatched = json.loads(cli("assets", "--unmatched", "--json").stdout)
    assert all(len({f["source"] for f in a["sources"]}) == 1 for a in unmatched)
    assert len(unmatched) == len(assets) - 61
    table = cli("assets", "--unmatched").stdout.splitlines()
    assert table[0].split()[:3] == ["ASSET", "SYMBOL", "NAME"] and len(table) == len(unmatched) + 1


@pytest.fixture
def rejecting_replay(tmp_path):
    """The CoinGecko recordings with two bad records on page 1: a price that is no number, an id missing."""
    directory = tmp_path / "rejecting"
    shutil.copytree(REPLAY_DIR, directory)
    page_one = directory / "coins_markets_page1.json"
    texts = records(page_one.read_bytes())
    texts[1] = texts[1].replace('"current_price":', '"current_price":"n/a","was":', 1)
    texts[4] = texts[4].replace('"id":', '"former_id":', 1)
    page_one.write_bytes(page(texts))
    return directory


@pytest.fixture
def fail(cli, tmp_path):
    """Run a source against recordings that answer nothing (404): a real failed run."""
    unanswered = tmp_path / "unanswered"
    unanswered.mkdir()
    (unanswered / "manifest.json").write_text('{"responses": []}')
    return lambda source: cli(
        "run", "--source", source, "--replay", str(unanswered), CRYPTOETL_HTTP_MAX_ATTEMPTS="1"
    )


def test_health_fails_until_a_run_succeeds_and_names_each_failing_source(cli, fail):
    cli("db", "upgrade")
    assert cli("health").stderr == "Error: unhealthy: nothing has run yet\n"
    fail("coingecko")
    failed = cli("health")
    assert failed.exit_code == 1
    assert failed.stderr.startswith("Error: unhealthy: coingecko's newest run (1) failed: HTTP 404 from ")
    assert failed.stderr.endswith("; no run has ever succeeded\n") and failed.stderr.count("\n") == 1

    cli(*RUN)
    healthy = cli("health")
    assert healthy.exit_code == 0, healthy.stderr
    assert healthy.stdout.startswith(f"healthy: schema {head_revision()}, newest success coingecko run 2 ")
    stale = cli("health", "--max-age", "0")
    assert stale.exit_code == 1
    assert stale.stderr.startswith("Error: unhealthy: stale: the newest success (coingecko run 2) finished ")

    fail("coinpaprika")
    one_failing = cli("health")
    assert one_failing.exit_code == 1
    assert one_failing.stderr.startswith("Error: unhealthy: coinpaprika's newest run (3) failed: HTTP 404")


def test_an_abandoned_run_does_not_hide_the_failure_before_it(cli, engine, fail):
    cli(*RUN)
    fail("coingecko")
    now = datetime.now(UTC)
    with engine.begin() as conn:  # then a run stopped by a shutdown
        conn.execute(
            sa.insert(etl_runs).values(
                source="coingecko", status="abandoned", started_at=now, finished_at=now
            )
        )
    assert cli("health").stderr.startswith("Error: unhealthy: coingecko's newest run (2) failed: HTTP 404")


READ_COMMANDS = [["runs"], ["assets"], ["rejects"], ["health"], ["runs", "--json"], ["rejects", "--json"]]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_read_command_never_creates_a_database_and_says_there_is_none(tmp_path, command, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default URL, sqlite:///cryptoetl.db, is relative to this folder
    result = CliRunner().invoke(app, command, env={"CRYPTOETL_DATABASE_URL": None})
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: there is no database at {tmp_path / 'cryptoetl.db'}: create it with `cryptoetl db upgrade` "
        "(or a run), or set CRYPTOETL_DATABASE_URL to the one you mean\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_read_command_on_a_database_without_the_current_schema_says_to_upgrade(database_url, command):
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:  # a database that exists, but holds no cryptoetl schema
        conn.exec_driver_sql("CREATE TABLE unrelated (x INTEGER)")
    shown = engine.url.database if engine.dialect.name == "sqlite" else engine.url.render_as_string()
    engine.dispose()
    runner = CliRunner()
    bare = runner.invoke(app, command, env={"CRYPTOETL_DATABASE_URL": database_url})
    assert (bare.exit_code, bare.stderr) == (
        1,
        f"Error: the database at {shown} has no cryptoetl schema: run `cryptoetl db upgrade`\n",
    )
    config = alembic_config()
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command_module.upgrade(config, "0001")
    engine.dispose()
    old = runner.invoke(app, command, env={"CRYPTOETL_DATABASE_URL": database_url})
    assert (old.exit_code, old.stderr) == (
        1,
        f"Error: the database at {shown} is at revision 0001, older than this cryptoetl's {head_revision()}: "
        "run `cryptoetl db upgrade`\n",
    )


def test_rejects_lists_the_newest_first_with_their_text(cli, rejecting_replay):
    assert cli("run", "--source", "coingecko", "--replay", str(rejecting_replay)).exit_code == 0
    texts = records((rejecting_replay / "coins_markets_page1.json").read_bytes())
    listed = json.loads(cli("rejects", "--json").stdout)
    assert [(r["run_id"], r["source"], r["source_asset_id"], r["reason"], r["fragment"]) for r in listed] == [
        (1, "coingecko", None, "id: Missing data for required field.", texts[4]),
        (1, "coingecko", "ethereum", "current_price: Not a valid number.", texts[1]),
    ]
    assert listed[0].keys() == {
        "reject_id",
        "run_id",
        "source",
        "source_asset_id",
        "reason",
        "fragment",
        "rejected_at",
    }
    table = cli("rejects", "--run", "1", "--limit", "1").stdout.splitlines()
    assert table[0].split() == ["RUN", "SOURCE", "RECORD", "REASON", "|", "TEXT"]
    assert len(table) == 2 and table[1].split()[:3] == ["1", "coingecko", "-"]
    assert table[1].endswith(f"|  {texts[4][:57]}...")
    assert cli("rejects", "--run", "2").stdout.splitlines() == table[:1]
    assert cli("rejects", "--source", "csv", "--json").stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("fragment", "shown"),
    [
        ("AAA,Alpha,x,,,2025-01-01", "AAA,Alpha,x,,,2025-01-01"),
        ('{\n  "id": "x",\n\t"p": 1}', '{ "id": "x", "p": 1}'),
        ("NUL\x00here", "NUL\\x00here"),
        ("x" * 61, "x" * 57 + "..."),
    ],
)
def test_a_rejects_text_fits_one_line(fragment, shown):
    reject = RejectRecord(1, 1, "csv", None, "why", fragment, datetime.now(UTC))
    assert ledger_commands.shown(reject) == shown


def test_a_bad_cron_is_a_one_line_error(sqlite_cli):
    result = sqlite_cli("schedule", "--cron", "61 * * * *")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: --cron '61 * * * *': ")
