"""The command line as a user meets it: exit codes, one-line errors, the --json contract."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from etl_cli.cli import app
from etl_cli.load.engine import create_engine
from etl_cli.load.locks import source_lock
from etl_cli.schema.revisions import head_revision
from tests.samples import CSV_DIR, REPLAY_DIR

RUN = ["run", "--source", "coingecko", "--replay", str(REPLAY_DIR)]
RUN_FIELDS = {
    "run_id",
    "source",
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


def test_a_run_while_another_holds_the_lock_exits_at_once(cli, database_url):
    engine = create_engine(database_url)
    with source_lock(engine, "coingecko"):
        result = cli(*RUN)
    engine.dispose()
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
    assert len(lines) == 2 and lines[0].split()[:3] == ["RUN", "SOURCE", "STATUS"]
    assert lines[1].split()[:3] == ["2", "coingecko", "failed"] and "HTTP 503" in lines[1]


def test_db_upgrade_creates_the_schema(cli):
    result = cli("db", "upgrade")
    assert result.exit_code == 0 and f"revision {head_revision()} (the newest)" in result.stdout
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


def test_health_says_healthy_or_stale(cli):
    missing = cli("health")
    assert missing.exit_code == 1
    assert (
        missing.stderr
        == f"Error: the database has no cryptoetl schema, not {head_revision()}: run `cryptoetl db upgrade`\n"
    )
    cli("db", "upgrade")
    assert cli("health").stdout.startswith(f"healthy: schema {head_revision()}, no run yet")
    cli(*RUN)
    assert cli("health").exit_code == 0
    stale = cli("health", "--max-age", "0")
    assert stale.exit_code == 1 and stale.stderr.startswith(
        "Error: stale: the newest run (coingecko) started"
    )


def test_a_bad_cron_is_a_one_line_error(sqlite_cli):
    result = sqlite_cli("schedule", "--cron", "61 * * * *")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: --cron '61 * * * *': ")
